// RFC 3501 §6.4.5 FETCH and §6.4.8 UID FETCH; RFC 7162 §3.1.4 CHANGEDSINCE and MODSEQ.
// A body section fetched without .PEEK sets \Seen first (unless the mailbox is read-only), and
// the new flags go out in the same FETCH response.
import { ReadAhead, SESSION_READ_AHEAD } from '../../../core/read-ahead.ts';
import type { MessageItem, MessageState } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { BlobLiteral, ComputedLiteral, needsMessageItem, renderFetch } from '../fetch-response.ts';
import { bad } from '../errors.ts';
import { resolveMessageSet } from '../message-set.ts';
import { vanishedForFetch } from '../qresync.ts';
import type { SelectedState } from '../state.ts';
import type { FetchAttribute } from '../wire/ast.ts';
import { Literal, serialize, withoutNul } from '../wire/writer.ts';

/** Messages read per batch: one BatchGetItem's worth (100 keys); bounds memory on FETCH 1:* of a large mailbox. */
const FETCH_BATCH = 100;
/** Response bytes gathered before they are written: one write per run, but never a whole large response. */
const MAX_GATHERED_OCTETS = 64 * 1024;
const setsSeen = (a: FetchAttribute) => ((a.kind === 'BODY[]' || a.kind === 'BINARY[]') && !a.peek) || a.kind === 'RFC822' || a.kind === 'RFC822.TEXT';

/** One part of a response as written: bytes, a literal read ahead (length known or not), or a stream. */
type PreparedPart = Buffer | { kind: 'data'; length: number; take: () => Promise<Buffer> } | { kind: 'computed'; form: ComputedLiteral['form']; take: () => Promise<Buffer> } | BlobLiteral;

interface PreparedResponse {
  readonly uid: number;
  readonly parts: PreparedPart[];
}

export async function fetch(command: CommandOf<'FETCH'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  const { store } = ctx.services;
  const withItems = needsMessageItem(command.attributes);
  // The messages named are known before the sync (it only adds messages, or removes them for UID
  // FETCH), and a stored item is the same whatever it finds (flags come from the view): the
  // first batch's items load while the view syncs, a round trip less for a short FETCH.
  let earlyItems = withItems ? loadEarly(command, ctx, state) : null;
  // Other sessions' changes first, so the flags we answer with are current (no EXPUNGE unless UID FETCH).
  await ctx.syncSelected(command.uid);
  if (command.changedSince !== null) ctx.enabled.add('CONDSTORE');
  if (command.vanished) {
    // RFC 7162 §3.2.6: VANISHED without QRESYNC enabled is BAD; its answer comes before the FETCHes.
    if (!ctx.enabled.has('QRESYNC')) throw bad('QRESYNC is not enabled');
    await ctx.send(...(await vanishedForFetch(store, view, command.sequence, command.changedSince!)));
  }
  let uids = resolveMessageSet(view, command.sequence, command.uid).filter((uid) => !view.isExpunged(uid));
  if (command.changedSince !== null) {
    const since = Number(command.changedSince);
    uids = uids.filter((uid) => (view.stateOf(uid)?.modSeq ?? 0) > since);
  }
  let attributes = command.attributes;
  const markSeen = !view.readOnly && attributes.some(setsSeen);
  if (markSeen && !attributes.some((a) => a.kind === 'FLAGS')) attributes = [...attributes, { kind: 'FLAGS' }];
  const options = { uid: command.uid, modseq: ctx.enabled.has('CONDSTORE'), account: state.account };
  // Small body data is read ahead of its turn within the session's bound (1 MiB,
  // core/read-ahead.ts); how many reads run at once is the session's read budget
  // (core/blob-read-budget.ts). Bodies above STREAM_ABOVE_OCTETS are streamed when their turn
  // comes, never read ahead (docs/decisions/0011-read-path.md).
  const readAhead = new ReadAhead(SESSION_READ_AHEAD);
  /** A batch's items: for the first, those loaded early that it names, and the rest now. */
  const loadItems = async (batch: number[]): Promise<MessageItem[]> => {
    const named = new Set(batch);
    const got = earlyItems ? (await earlyItems.catch(() => [])).filter((item) => named.has(item.uid)) : [];
    earlyItems = null;
    const have = new Set(got.map((item) => item.uid));
    const missing = batch.filter((uid) => !have.has(uid));
    return missing.length > 0 ? [...got, ...(await store.getMessages(view.mailbox.id, missing))] : got;
  };

  /** Sets \Seen, loads the items and renders one batch; schedules its small reads behind those already scheduled. */
  const prepare = async (batch: number[]): Promise<PreparedResponse[]> => {
    const unseen = markSeen ? batch.filter((uid) => !view.stateOf(uid)?.flags.includes('\\Seen')) : [];
    const [flagged, loaded] = await Promise.all([
      unseen.length > 0 ? store.setFlags(state.account, view.mailbox.id, unseen, { op: 'add', flags: ['\\Seen'] }) : null,
      withItems ? loadItems(batch) : [],
    ]);
    for (const u of flagged?.updated ?? []) view.noteFlags(u.uid, u.flags, u.modSeq);
    const items = new Map<number, MessageItem>();
    for (const item of loaded) items.set(item.uid, item);
    const responses: PreparedResponse[] = [];
    for (const uid of batch) {
      const current: MessageState | undefined = view.stateOf(uid);
      const item = items.get(uid) ?? null;
      // Expunged by another session since our last look: RFC 3501 lets us leave it out.
      if (!current || (withItems && !item)) continue;
      const parts = renderFetch(ctx.blobs, current, item, attributes, options).map((part): PreparedPart => {
        if (part instanceof ComputedLiteral) return { kind: 'computed', form: part.form, take: readAhead.schedule(part.readOctets, part.compute).take };
        if (part instanceof BlobLiteral && part.read) return { kind: 'data', length: part.length, take: readAhead.schedule(part.length, part.read).take };
        return part;
      });
      responses.push({ uid, parts });
    }
    return responses;
  };

  // The next batch is prepared while this one is written, so its reads queue behind this one's
  // and the pipeline does not drain at each batch.
  const batches: number[][] = [];
  for (let i = 0; i < uids.length; i += FETCH_BATCH) batches.push(uids.slice(i, i + FETCH_BATCH));
  let next: Promise<PreparedResponse[]> | null = batches.length > 0 ? prepare(batches[0]!) : null;
  try {
    for (let b = 0; b < batches.length; b++) {
      const responses = await next!;
      next = b + 1 < batches.length ? prepare(batches[b + 1]!) : null;
      // Its failure is reported when its turn comes (or not at all if this batch fails first).
      next?.catch(() => undefined);
      for (const response of responses) await writeResponse(ctx, view.msnOf(response.uid), response.parts);
    }
  } finally {
    readAhead.stop();
  }
  return { text: `${command.uid ? 'UID ' : ''}FETCH completed` };
}

/** Starts loading the items of the first batch the FETCH names as the view stands now; null if it names none yet. */
function loadEarly(command: CommandOf<'FETCH'>, ctx: CommandContext, state: SelectedState): Promise<MessageItem[]> | null {
  const { view } = state;
  let uids: number[];
  try {
    uids = resolveMessageSet(view, command.sequence, command.uid).filter((uid) => !view.isExpunged(uid)).slice(0, FETCH_BATCH);
  } catch {
    return null; // answered after the sync, as before
  }
  if (uids.length === 0) return null;
  const items = ctx.services.store.getMessages(view.mailbox.id, uids);
  // A failure here is seen (or not needed) when the batch is prepared.
  items.catch(() => undefined);
  return items;
}

/**
 * "* n FETCH (...)", in order: literals read ahead are written when their turn comes, bodies above
 * a few KiB streamed straight into the literal. One write per run of bytes: with TCP_NODELAY
 * every write can be its own segment.
 */
async function writeResponse(ctx: CommandContext, msn: number, parts: readonly PreparedPart[]): Promise<void> {
  let bytes: Buffer[] = [Buffer.from(`* ${msn} FETCH `)];
  let gathered = 0;
  let started = false;
  /** Part of this response is out once anything is sent: a NO then would be read as its continuation. */
  const read = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (started) ctx.close();
      throw err;
    }
  };
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      bytes.push(part);
      continue;
    }
    if (!(part instanceof BlobLiteral)) {
      const data = await read(part.take);
      if (part.kind === 'data' && data.length !== part.length) {
        if (started) ctx.close();
        throw new Error(`blob gave ${data.length} of the ${part.length} octets announced`);
      }
      // A computed literal's length is known only now: "{n}" + data; a read one's "{n}" is already
      // in the bytes. RFC 3501 §9: no NUL inside a literal (see withoutNul).
      const literal = part.kind === 'computed' ? computedBytes(part.form, data) : withoutNul(data);
      bytes.push(literal);
      gathered += literal.length;
      if (gathered > MAX_GATHERED_OCTETS) {
        await ctx.send(Buffer.concat(bytes));
        bytes = [];
        gathered = 0;
        started = true;
      }
      continue;
    }
    // The response's first read opens before anything of it is written, so its failure can
    // still be answered NO; later ones fail inside the response and cost the connection.
    const source = started ? part.open : await part.open();
    await ctx.send(Buffer.concat(bytes));
    bytes = [];
    gathered = 0;
    started = true;
    await ctx.sendLiteralData(source, part.length);
  }
  bytes.push(Buffer.from('\r\n'));
  await ctx.send(Buffer.concat(bytes));
}

/** A computed value as written: a literal, a literal8 (RFC 3516 §4.2: NUL may stay), or verbatim. */
function computedBytes(form: ComputedLiteral['form'], data: Buffer): Buffer {
  if (form === 'verbatim') return data;
  if (form === 'literal8') return Buffer.concat([Buffer.from(`~{${data.length}}\r\n`), data]);
  return serialize(new Literal(data));
}
