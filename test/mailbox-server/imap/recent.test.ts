// \Recent (RFC 3501 §2.3.2): a message is recent to exactly one session, the first to be told of
// it; SELECT/EXAMINE report `* n RECENT`, STATUS RECENT counts what nobody has been told of, SEARCH
// RECENT/NEW/OLD and FETCH FLAGS see it, and messages delivered, APPENDed, COPYed and MOVEd all
// become recent. Claims go through the mailbox item (core/store/recent.ts), so sessions on two
// server tasks never both get a message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const recentOf = (lines: string[]) => Number(/^\* (\d+) RECENT$/m.exec(lines.join('\n'))?.[1] ?? NaN);
const searchOf = (lines: string[]) => lines[0]!.replace(/^\* SEARCH ?/, '');

describe('IMAP \\Recent', () => {
  let w: ImapWorld;
  const clients: RawImap[] = [];
  const open = async (port = w.port) => {
    const c = await RawImap.connect(port);
    clients.push(c);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    return c;
  };
  before(async () => {
    w = await startImapWorld();
  });
  after(async () => {
    for (const c of clients) c.close();
    await w?.close();
  });

  test('the first SELECT takes the recent messages; EXAMINE and STATUS leave them; SEARCH and FETCH see them', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'R1');
    await w.deliver(ALICE.user, sampleMessage('one'), { mailbox: 'R1' });
    await w.deliver(ALICE.user, sampleMessage('two'), { mailbox: 'R1' });
    const a = await open();
    assert.deepEqual(await a.command('STATUS R1 (MESSAGES RECENT)', 's1'), ['* STATUS "R1" (MESSAGES 2 RECENT 2)', 's1 OK STATUS completed']);
    const examined = await a.command('EXAMINE R1', 'e1');
    assert.equal(recentOf(examined), 2, 'EXAMINE shows what is recent without taking it');
    assert.deepEqual(await a.command('FETCH 1:* FLAGS', 'e2'), ['* 1 FETCH (FLAGS (\\Recent))', '* 2 FETCH (FLAGS (\\Recent))', 'e2 OK FETCH completed']);
    assert.deepEqual(await a.command('STATUS R1 (RECENT)', 'e3'), ['* STATUS "R1" (RECENT 2)', 'e3 OK STATUS completed']);

    assert.equal(recentOf(await a.command('SELECT R1', 'a1')), 2);
    assert.equal(searchOf(await a.command('SEARCH RECENT', 'a2')), '1 2');
    assert.deepEqual(await a.command('STORE 1 +FLAGS (\\Seen)', 'a3'), ['* 1 FETCH (FLAGS (\\Seen \\Recent))', 'a3 OK STORE completed']);
    assert.equal(searchOf(await a.command('SEARCH NEW', 'a4')), '2');
    assert.equal(searchOf(await a.command('SEARCH OLD', 'a5')), '');
    assert.deepEqual(await a.command('STATUS R1 (RECENT)', 'a6'), ['* STATUS "R1" (RECENT 2)', 'a6 OK STATUS completed'], 'its own recent messages, as Dovecot counts them');

    const b = await open();
    assert.deepEqual(await b.command('STATUS R1 (RECENT)', 'b0'), ['* STATUS "R1" (RECENT 0)', 'b0 OK STATUS completed'], 'taken: no other session will be told of them first');
    assert.equal(recentOf(await b.command('SELECT R1', 'b1')), 0);
    assert.equal(searchOf(await b.command('SEARCH RECENT', 'b2')), '');
    assert.equal(searchOf(await b.command('SEARCH OLD', 'b3')), '1 2');
    assert.deepEqual(await b.command('FETCH 2 FLAGS', 'b4'), ['* 2 FETCH (FLAGS ())', 'b4 OK FETCH completed']);
    // A reselect by the first session does not get them again either.
    assert.equal(recentOf(await a.command('SELECT R1', 'a7')), 0);
  });

  test('a delivery to a mailbox two sessions have selected is recent to exactly one of them', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'R2');
    const [a, b] = [await open(), await open()];
    assert.equal(recentOf(await a.command('SELECT R2', 'a1')), 0);
    assert.equal(recentOf(await b.command('SELECT R2', 'b1')), 0);
    await w.deliver(ALICE.user, sampleMessage('new'), { mailbox: 'R2' });
    const [na, nb] = await Promise.all([a.command('NOOP', 'a2'), b.command('NOOP', 'b2')]);
    assert.ok(na.includes('* 1 EXISTS') && nb.includes('* 1 EXISTS'), `${na} / ${nb}`);
    // RECENT is sent when the count changes (§7.3.2): only the claiming session hears it.
    assert.deepEqual([recentOf(na) || 0, recentOf(nb) || 0].sort(), [0, 1], `${na} / ${nb}`);
    const flags = [(await a.command('FETCH 1 FLAGS', 'a3'))[0], (await b.command('FETCH 1 FLAGS', 'b3'))[0]].sort();
    assert.deepEqual(flags, ['* 1 FETCH (FLAGS ())', '* 1 FETCH (FLAGS (\\Recent))']);
  });

  test('APPEND, COPY and MOVE make messages recent to the next session that selects the mailbox', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'R3');
    await w.deliver(ALICE.user, sampleMessage('source one'));
    await w.deliver(ALICE.user, sampleMessage('source two'));
    const c = await open();
    await c.command('SELECT INBOX', 'c1');
    assert.match((await c.command('COPY 1 R3', 'c2')).at(-1)!, /OK/);
    assert.match((await c.command('MOVE 2 R3', 'c3')).at(-1)!, /OK/);
    const message = sampleMessage('appended');
    c.write(`c4 APPEND R3 {${Buffer.byteLength(message)}+}\r\n${message}\r\n`);
    assert.match((await c.until('c4')).at(-1)!, /OK/);
    assert.deepEqual(await c.command('STATUS R3 (MESSAGES RECENT)', 'c5'), ['* STATUS "R3" (MESSAGES 3 RECENT 3)', 'c5 OK STATUS completed']);
    const d = await open();
    assert.equal(recentOf(await d.command('SELECT R3', 'd1')), 3);
    assert.equal(searchOf(await d.command('SEARCH RECENT', 'd2')), '1 2 3');
    // The selected session is told of its own APPEND (RFC 3501 §6.3.11), with RECENT.
    d.write(`d3 APPEND R3 {${Buffer.byteLength(message)}+}\r\n${message}\r\n`);
    const appended = await d.until('d3');
    assert.ok(appended.includes('* 4 EXISTS') && appended.includes('* 4 RECENT'), appended.join(' | '));
  });

  test('sessions on two server tasks selecting at once never both get a message', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'R4');
    for (let i = 0; i < 5; i++) await w.deliver(ALICE.user, sampleMessage(`race ${i}`), { mailbox: 'R4' });
    const other = await w.startServer();
    const [a, b] = [await open(), await open(other.ports.imap!)];
    const [sa, sb] = await Promise.all([a.command('SELECT R4', 'a1'), b.command('SELECT R4', 'b1')]);
    assert.equal(recentOf(sa) + recentOf(sb), 5, `${sa.join(' | ')} / ${sb.join(' | ')}`);
    const [ra, rb] = [searchOf(await a.command('SEARCH RECENT', 'a2')), searchOf(await b.command('SEARCH RECENT', 'b2'))];
    const all = [...ra.split(' '), ...rb.split(' ')].filter(Boolean).map(Number).sort();
    assert.deepEqual(all, [1, 2, 3, 4, 5]);
  });
});
