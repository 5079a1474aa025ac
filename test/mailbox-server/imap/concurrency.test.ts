// Several sessions on one mailbox (RFC 3501 §5.2, §7.4.1): each sees the others' changes as
// EXISTS / EXPUNGE / FETCH FLAGS at the allowed points, across two server processes' worth of
// servers on one store. IDLE waking on such a change: idle.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapWorldSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP concurrent sessions', () => {
  let w: ImapWorld;
  let secondPort: number;
  imapWorldSuite(async (world) => {
    w = world;
    // A second server on the same store stands for another Fargate task: no shared memory.
    secondPort = (await w.startServer()).ports.imap!;
    for (let i = 1; i <= 3; i++) await w.deliver(ALICE.user, sampleMessage(`m${i}`));
  });

  test('a FLAGS change, an EXPUNGE and a delivery on one server show up in a session on the other', async (t) => {
    const a = await RawImap.connect(w.port);
    const b = await RawImap.connect(secondPort);
    t.after(() => {
      a.close();
      b.close();
    });
    for (const s of [a, b]) {
      await s.line();
      await s.login(ALICE.user, ALICE.password);
      await s.command('SELECT INBOX', 'sel');
    }
    await a.command('STORE 2 +FLAGS (\\Flagged \\Deleted)', 'a1');
    assert.deepEqual(await b.command('NOOP', 'b1'), ['* 2 FETCH (FLAGS (\\Flagged \\Deleted) UID 2)', 'b1 OK NOOP completed']);
    await a.command('EXPUNGE', 'a2');
    // §7.4.1: no EXPUNGE during FETCH; the message is left out, numbers stay as the client knows them.
    const fetch = await b.command('FETCH 1:3 (UID)', 'b2');
    assert.deepEqual(fetch, ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)', 'b2 OK FETCH completed']);
    const search = await b.command('SEARCH ALL', 'b3');
    assert.deepEqual(search, ['* SEARCH 1 3', 'b3 OK SEARCH completed']);
    // UID commands may expunge (RFC 3501 §7.4.1), and NOOP must.
    assert.deepEqual(await b.command('NOOP', 'b4'), ['* 2 EXPUNGE', 'b4 OK NOOP completed']);
    await w.deliver(ALICE.user, sampleMessage('new'));
    // b is the first to be told of it, so it is \Recent there (RFC 3501 §2.3.2) and not in a.
    assert.deepEqual(await b.command('NOOP', 'b5'), ['* 3 EXISTS', '* 1 RECENT', 'b5 OK NOOP completed']);
    assert.deepEqual(await a.command('UID FETCH 4 (UID)', 'a3'), ['* 3 EXISTS', '* 3 FETCH (UID 4)', 'a3 OK UID FETCH completed']);
  });
});
