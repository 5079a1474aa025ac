// RFC 3501 §6.4.5 FETCH and §6.4.8 UID FETCH; RFC 7162 §3.1.4 CHANGEDSINCE and MODSEQ.
// A body section fetched without .PEEK sets \Seen first (unless the mailbox is read-only), and
// the new flags go out in the same FETCH response.
import type { MessageItem, MessageState } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { BlobLiteral, ComputedLiteral, needsMessageItem, renderFetch } from '../fetch-response.ts';
import { resolveMessageSet } from '../message-set.ts';
import type { SelectedState } from '../state.ts';
import type { FetchAttribute } from '../wire/ast.ts';
import { Literal, serialize } from '../wire/writer.ts';

/** Messages read per batch: bounds memory on FETCH 1:* of a large mailbox. */
const FETCH_BATCH = 50;
/** Response bytes gathered before they are written: one write per run, but never a whole large response. */
const MAX_GATHERED_OCTETS = 64 * 1024;

const setsSeen = (a: FetchAttribute) => (a.kind === 'BODY[]' && !a.peek) || a.kind === 'RFC822' || a.kind === 'RFC822.TEXT';

export async function fetch(command: CommandOf<'FETCH'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  const { store } = ctx.services;
  // Other sessions' changes first, so the flags we answer with are current (no EXPUNGE unless UID FETCH).
  await ctx.syncSelected(command.uid);
  if (command.changedSince !== null) ctx.enabled.add('CONDSTORE');
  let uids = resolveMessageSet(view, command.sequence, command.uid).filter((uid) => !view.isExpunged(uid));
  if (command.changedSince !== null) {
    const since = Number(command.changedSince);
    uids = uids.filter((uid) => (view.stateOf(uid)?.modSeq ?? 0) > since);
  }
  let attributes = command.attributes;
  const markSeen = !view.readOnly && attributes.some(setsSeen);
  if (markSeen && !attributes.some((a) => a.kind === 'FLAGS')) attributes = [...attributes, { kind: 'FLAGS' }];
  const withItems = needsMessageItem(attributes);
  const options = { uid: command.uid, modseq: ctx.enabled.has('CONDSTORE') };

  for (let i = 0; i < uids.length; i += FETCH_BATCH) {
    const batch = uids.slice(i, i + FETCH_BATCH);
    if (markSeen) {
      const unseen = batch.filter((uid) => !view.stateOf(uid)?.flags.includes('\\Seen'));
      if (unseen.length > 0) {
        const result = await store.setFlags(state.account, view.mailbox.id, unseen, { op: 'add', flags: ['\\Seen'] });
        for (const u of result.updated) view.noteFlags(u.uid, u.flags, u.modSeq);
      }
    }
    const items = new Map<number, MessageItem>();
    if (withItems) for (const item of await store.getMessages(view.mailbox.id, batch)) items.set(item.uid, item);
    for (const uid of batch) {
      const current: MessageState | undefined = view.stateOf(uid);
      const item = items.get(uid) ?? null;
      // Expunged by another session since our last look: RFC 3501 lets us leave it out.
      if (!current || (withItems && !item)) continue;
      const parts = renderFetch(ctx.blobs, current, item, attributes, options);
      // "* n FETCH (...)": body data is read from S3 in the order it is written, one read at a time,
      // bodies above a few KiB streamed straight into the literal. One write per run of bytes: with
      // TCP_NODELAY every write can be its own segment.
      let bytes: Buffer[] = [Buffer.from(`* ${view.msnOf(uid)} FETCH `)];
      let gathered = 0;
      let started = false;
      for (const part of parts) {
        if (Buffer.isBuffer(part)) {
          bytes.push(part);
          continue;
        }
        if (part instanceof ComputedLiteral) {
          let data: Buffer;
          try {
            data = await part.compute();
          } catch (err) {
            // Part of this response is out: a NO now would be read as its continuation.
            if (started) ctx.close();
            throw err;
          }
          const literal = serialize(new Literal(data));
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
  }
  return { text: `${command.uid ? 'UID ' : ''}FETCH completed` };
}
