// New keywords are announced before use (RFC 3501 §7.2.6): before any FETCH shows a keyword that
// is not in the session's last FLAGS list, the server sends an updated FLAGS and PERMANENTFLAGS,
// to the session that STOREd it and to every other session on the mailbox; the same for messages
// that arrive carrying keywords (COPY, delivery).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const SYSTEM = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

describe('IMAP keywords announced before use', () => {
  let w: ImapWorld;
  const clients: RawImap[] = [];
  const open = async (mailbox: string) => {
    const c = await RawImap.connect(w.port);
    clients.push(c);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    await c.command(`SELECT ${mailbox}`);
    return c;
  };
  before(async () => {
    w = await startImapWorld();
    await w.store.mailStore.createMailbox(ALICE.user, 'K');
    await w.deliver(ALICE.user, sampleMessage('one'), { mailbox: 'K' });
    await w.deliver(ALICE.user, sampleMessage('two'), { mailbox: 'K' });
    // Nobody is told of these two as \Recent any more, so the answers below show only keywords.
    await (await open('K')).command('LOGOUT');
  });
  after(async () => {
    for (const c of clients) c.close();
    await w?.close();
  });

  test('STORE of a new keyword: FLAGS and PERMANENTFLAGS first, to this session and to another', async () => {
    const [a, b] = [await open('K'), await open('K')];
    assert.deepEqual(await a.command('STORE 1 +FLAGS ($Fresh)', 'a1'), [
      `* FLAGS (${SYSTEM} $Fresh)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} $Fresh \\*)] Flags permitted`,
      '* 1 FETCH (FLAGS ($Fresh))',
      'a1 OK STORE completed',
    ]);
    assert.deepEqual(await a.command('STORE 2 +FLAGS ($Fresh)', 'a2'), ['* 2 FETCH (FLAGS ($Fresh))', 'a2 OK STORE completed'], 'announced once');
    assert.deepEqual(await b.command('NOOP', 'b1'), [
      `* FLAGS (${SYSTEM} $Fresh)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} $Fresh \\*)] Flags permitted`,
      '* 1 FETCH (FLAGS ($Fresh) UID 1)',
      '* 2 FETCH (FLAGS ($Fresh) UID 2)',
      'b1 OK NOOP completed',
    ]);
    const examined = await RawImap.connect(w.port);
    clients.push(examined);
    await examined.line();
    await examined.login(ALICE.user, ALICE.password);
    const lines = await examined.command('EXAMINE K', 'e1');
    assert.equal(lines[0], `* FLAGS (${SYSTEM} $Fresh)`);
    assert.equal(lines[1], '* OK [PERMANENTFLAGS ()] Flags permitted', 'read-only: nothing is permanent');
  });

  test('COPY and delivery of messages carrying a new keyword: FLAGS before EXISTS', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'K2');
    const watcher = await open('K2');
    const copier = await open('K');
    await copier.command('STORE 1 +FLAGS.SILENT ($Copied)', 'c1');
    assert.match((await copier.command('COPY 1 K2', 'c2')).at(-1)!, /^c2 OK/);
    assert.deepEqual(await watcher.command('NOOP', 'w1'), [
      `* FLAGS (${SYSTEM} $Copied $Fresh)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} $Copied $Fresh \\*)] Flags permitted`,
      '* 1 EXISTS',
      '* 1 RECENT',
      'w1 OK NOOP completed',
    ]);
    await w.deliver(ALICE.user, sampleMessage('tagged'), { mailbox: 'K2', flags: ['$Delivered'] });
    const lines = await watcher.command('NOOP', 'w2');
    assert.equal(lines[0], `* FLAGS (${SYSTEM} $Copied $Delivered $Fresh)`);
    assert.equal(lines[2], '* 2 EXISTS');
  });
});
