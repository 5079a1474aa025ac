// RFC 7162 QRESYNC with raw commands and imapflow: ENABLE QRESYNC, SELECT (QRESYNC (...)) with
// VANISHED (EARLIER) and changed FETCHes, VANISHED instead of EXPUNGE, UID FETCH (CHANGEDSINCE m
// VANISHED), [CLOSED]; and the answer once tombstones have expired (RFC 7162 §3.2.5.2).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { vanishedSince } from '../../../mailbox-server/imap/qresync.ts';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const codeOf = (lines: string[], code: string) => Number(lines.map((l) => new RegExp(`\\[${code} (\\d+)\\]`).exec(l)?.[1]).find(Boolean));

describe('IMAP QRESYNC (RFC 7162)', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
    await w.store.mailStore.createMailbox(ALICE.user, 'Sync');
    for (let i = 1; i <= 6; i++) await w.deliver(ALICE.user, sampleMessage(`sync ${i}`), { mailbox: 'Sync' });
  });
  after(async () => {
    await w?.close();
  });

  async function session(): Promise<RawImap> {
    const c = await RawImap.connect(w.port);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    return c;
  }

  test('a client that was away gets VANISHED (EARLIER) and the changed flags at SELECT; live expunges come as VANISHED', async (t) => {
    const a = await session();
    t.after(() => a.close());
    assert.deepEqual(await a.command('ENABLE QRESYNC', 'e1'), ['* ENABLED QRESYNC', 'e1 OK ENABLE completed']);
    const selected = await a.command('SELECT Sync', 's1');
    const [uidValidity, modSeq] = [codeOf(selected, 'UIDVALIDITY'), codeOf(selected, 'HIGHESTMODSEQ')];
    assert.ok(uidValidity > 0 && modSeq > 0);

    // Another session changes the mailbox while "a" is away.
    const b = await session();
    t.after(() => b.close());
    await b.command('SELECT Sync', 'b0');
    await b.command('UID STORE 2 +FLAGS (\\Seen)', 'b1');
    await b.command('UID STORE 3:4 +FLAGS (\\Deleted)', 'b2');
    await b.command('EXPUNGE', 'b3');

    // "a" is still selected: its NOOP hears of the expunge as VANISHED (§3.2.10), not EXPUNGE.
    const noop = await a.command('NOOP', 'n1');
    assert.ok(noop.includes('* VANISHED 3:4'), noop.join('\n'));
    assert.ok(!noop.some((l) => /EXPUNGE/.test(l)));

    // A fresh session resynchronises from (uidValidity, modSeq).
    const c = await session();
    t.after(() => c.close());
    assert.match((await c.command(`SELECT Sync (QRESYNC (${uidValidity} ${modSeq}))`, 'q0')).at(-1)!, /^q0 BAD /);
    await c.command('ENABLE QRESYNC', 'q1');
    const resync = await c.command(`SELECT Sync (QRESYNC (${uidValidity} ${modSeq} 1:6))`, 'q2');
    assert.ok(resync.includes('* VANISHED (EARLIER) 3:4'), resync.join('\n'));
    const fetches = resync.filter((l) => / FETCH /.test(l));
    assert.equal(fetches.length, 1, resync.join('\n'));
    assert.match(fetches[0]!, /^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/);
    assert.match(resync.at(-1)!, /^q2 OK \[READ-WRITE\]/);
    // known-uids bounds the VANISHED set; the [CLOSED] code separates the two mailboxes.
    const narrow = await c.command(`EXAMINE Sync (QRESYNC (${uidValidity} ${modSeq} 1:3))`, 'q3');
    assert.equal(narrow[0], '* OK [CLOSED] Previous mailbox closed');
    assert.ok(narrow.includes('* VANISHED (EARLIER) 3'), narrow.join('\n'));
    // A UIDVALIDITY that changed: a plain SELECT, no VANISHED.
    const stale = await c.command(`EXAMINE Sync (QRESYNC (${uidValidity + 1} ${modSeq}))`, 'q4');
    assert.ok(!stale.some((l) => /VANISHED|FETCH/.test(l)), stale.join('\n'));
    // UID FETCH with CHANGEDSINCE and VANISHED (§3.2.6).
    const fetched = await c.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modSeq} VANISHED)`, 'q5');
    assert.equal(fetched[0], '* VANISHED (EARLIER) 3:4');
    assert.match(fetched[1]!, /^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/);
    assert.match(fetched.at(-1)!, /^q5 OK/);
    assert.match((await c.command(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${modSeq} VANISHED)`, 'q6')).at(-1)!, /^q6 BAD /);
  });

  test('imapflow with qresync: reopening with the saved modseq reports the vanished UIDs; live ones come as expunge events', async (t) => {
    const options = { host: '127.0.0.1', port: w.port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false as const, tls: { rejectUnauthorized: false }, qresync: true };
    const client = new ImapFlow(options);
    t.after(() => client.close());
    await client.connect();
    assert.ok(client.enabled.has('QRESYNC'));
    const first = await client.mailboxOpen('Sync');
    const [uidValidity, modSeq] = [first.uidValidity, first.highestModseq];
    const expunged = new Promise<{ uid?: number; vanished?: boolean }>((resolve) => client.on('expunge', (e) => resolve(e)));
    const other = await session();
    t.after(() => other.close());
    await other.command('SELECT Sync', 'o1');
    await other.command('UID STORE 5 +FLAGS (\\Deleted)', 'o2');
    await other.command('UID EXPUNGE 5', 'o3');
    await client.noop();
    const event = await expunged;
    assert.equal(event.uid, 5);
    assert.equal(event.vanished, true);
    await client.mailboxClose();

    await other.command('UID STORE 6 +FLAGS (\\Deleted)', 'o4');
    await other.command('UID EXPUNGE 6', 'o5');
    const vanished: number[] = [];
    client.on('expunge', (e: { uid?: number }) => e.uid && vanished.push(e.uid));
    await client.mailboxOpen('Sync', { uidValidity, changedSince: modSeq } as never);
    assert.deepEqual(vanished.sort(), [5, 6]);
    await client.logout();
  });

  test('beyond tombstone retention: a UID without any item below uidNext counts as vanished (RFC 7162 §3.2.5.2)', () => {
    const live = (uid: number, modSeq: number) => ({ uid, modSeq, flags: [], size: 1, internalDate: '', expunged: false });
    const gone = (uid: number, modSeq: number) => ({ ...live(uid, modSeq), expunged: true });
    // UIDs 2 and 6:7 have no item (expired tombstones); 4 expunged at 9 (after the client's 5); 5 at 3 (before).
    const states = [live(1, 2), live(3, 4), gone(4, 9), gone(5, 3), live(8, 8)];
    assert.deepEqual(vanishedSince(states, 10, 5), [[2, 2], [4, 4], [6, 7], [9, 9]]);
  });
});
