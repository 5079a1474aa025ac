// Command name → handler. Which state accepts which command is the table in ../state.ts; the
// session checks it before calling, so each handler receives the state it declares.
import type { Pop3Context } from '../context.ts';
import type { Pop3CommandName, Pop3State } from '../state.ts';
import { auth } from './auth.ts';
import { capa } from './capa.ts';
import { dele } from './dele.ts';
import { list } from './list.ts';
import { noop } from './noop.ts';
import { pass } from './pass.ts';
import { quit } from './quit.ts';
import { retr } from './retr.ts';
import { rset } from './rset.ts';
import { stat } from './stat.ts';
import { stls } from './stls.ts';
import { top } from './top.ts';
import { uidl } from './uidl.ts';
import { user } from './user.ts';

export type Pop3Handler = (ctx: Pop3Context, state: Pop3State, args: readonly string[]) => Promise<void>;

// The casts are where COMMANDS_BY_STATE's guarantee is used: e.g. STAT only ever runs in TRANSACTION.
export const HANDLERS: Record<Pop3CommandName, Pop3Handler> = {
  CAPA: capa,
  STLS: stls as Pop3Handler,
  USER: user as Pop3Handler,
  PASS: pass as Pop3Handler,
  AUTH: auth as Pop3Handler,
  QUIT: quit,
  STAT: stat as Pop3Handler,
  LIST: list as Pop3Handler,
  RETR: retr as Pop3Handler,
  DELE: dele as Pop3Handler,
  NOOP: noop as Pop3Handler,
  RSET: rset as Pop3Handler,
  TOP: top as Pop3Handler,
  UIDL: uidl as Pop3Handler,
};
