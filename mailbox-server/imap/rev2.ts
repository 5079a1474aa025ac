// IMAP4rev2 (RFC 9051) beside IMAP4rev1: what changes for a session once it has sent
// `ENABLE IMAP4rev2` (RFC 9051 §6.3.1, Appendix E). Sessions that did not enable it keep RFC 3501
// behaviour; docs/decisions/0021-imap4rev2.md says how the two coexist.
import { DELIMITER } from '../../core/store/mailbox-names.ts';
import type { Mailbox } from '../../core/store/types.ts';
import type { CommandContext } from './context.ts';
import { bad } from './errors.ts';
import { mailboxNameValue, utf8Names } from './names.ts';
import type { SearchKey, StatusItem } from './wire/ast.ts';
import { atom, untagged, type ImapValue } from './wire/writer.ts';

/** The name ENABLE records (ENABLE upper-cases what it is given). */
export const IMAP4REV2 = 'IMAP4REV2';

/** Whether this session speaks IMAP4rev2 (it sent ENABLE IMAP4rev2). */
export const isRev2 = (enabled: ReadonlySet<string>): boolean => enabled.has(IMAP4REV2);

/** RFC 9051 §6.3.1 / §7.2.1: capability names as answered in `* ENABLED`, in their usual spelling. */
export const enabledSpelling = (name: string): string => (name === IMAP4REV2 ? 'IMAP4rev2' : name);

/** Whether a search key asks about \Recent (RFC 3501 RECENT, NEW, OLD). */
function asksRecent(key: SearchKey): boolean {
  switch (key.kind) {
    case 'flag':
      return key.flag === '\\Recent';
    case 'not':
      return asksRecent(key.key);
    case 'or':
      return asksRecent(key.left) || asksRecent(key.right);
    case 'and':
      return key.keys.some(asksRecent);
    default:
      return false;
  }
}

/**
 * RFC 9051 §6.4.4 and §9 (search-key): RECENT, NEW and OLD are not IMAP4rev2 search keys
 * (Appendix E: \Recent is gone), so a rev2 session that sends one sent a bad command.
 */
export function checkRev2SearchKeys(enabled: ReadonlySet<string>, criteria: SearchKey): void {
  if (isRev2(enabled) && asksRecent(criteria)) throw bad('RECENT, NEW and OLD are not IMAP4rev2 search keys');
}

/** RFC 9051 §6.3.11 and §9 (status-att): no RECENT item in IMAP4rev2. */
export function checkRev2StatusItems(enabled: ReadonlySet<string>, items: readonly StatusItem[] | null): void {
  if (isRev2(enabled) && items?.includes('RECENT')) throw bad('RECENT is not an IMAP4rev2 status item');
}

/**
 * The attributes RFC 9051 §7.3.1 asks of a LIST response about one existing mailbox: children
 * (RFC 9051 makes \HasChildren/\HasNoChildren base) and its special use.
 */
function mailboxAttributes(mailbox: Mailbox, all: readonly Mailbox[]): string[] {
  const prefix = `${mailbox.name}${DELIMITER}`;
  const attributes = [all.some((m) => m.name.startsWith(prefix)) ? '\\HasChildren' : '\\HasNoChildren'];
  if (mailbox.specialUse) attributes.push(mailbox.specialUse);
  return attributes;
}

/**
 * An untagged LIST response about one mailbox: RFC 9051 §6.3.2 has SELECT/EXAMINE send one with
 * accurate attributes; after RENAME it carries the RFC 9051 §7.3.1 OLDNAME extended data item.
 */
export async function mailboxListResponse(ctx: CommandContext, account: string, mailbox: Mailbox, oldName: string | null = null): Promise<Buffer> {
  const all = await ctx.services.store.listMailboxes(account);
  const utf8 = utf8Names(ctx.enabled);
  const extended: ImapValue[] = oldName === null ? [] : [['OLDNAME', [mailboxNameValue(oldName, utf8)]]];
  return untagged(atom('LIST'), mailboxAttributes(mailbox, all).map(atom), DELIMITER, mailboxNameValue(mailbox.name, utf8), ...extended);
}
