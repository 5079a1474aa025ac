// IMAP against quotas (RFC 9208 §4.3): APPEND and COPY past the account's quota answer
// NO [OVERQUOTA] and store nothing; quota none is no limit; MOVE within the account still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

let w: ImapWorld;

before(async () => {
  w = await startImapWorld();
});
after(async () => {
  await w?.close();
});

/** APPEND with a synchronising literal, as a client sends it: command line, continuation, data. */
async function appendRaw(client: RawImap, tag: string, mailbox: string, message: string): Promise<string> {
  client.write(`${tag} APPEND ${mailbox} {${Buffer.byteLength(message)}}\r\n`);
  const go = await client.line();
  if (!go?.startsWith('+')) return go ?? '';
  client.write(`${message}\r\n`);
  const lines = await client.until(tag);
  return lines[lines.length - 1]!;
}

test('APPEND past the quota is NO [OVERQUOTA] and files nothing; within it, and with no quota, OK', async (t) => {
  const message = sampleMessage('quota check', 'x'.repeat(400) + '\r\n');
  const size = Buffer.byteLength(message);
  const used = await w.store.mailStore.getUsage(ALICE.user);
  await w.store.directory.setQuota(ALICE.user, used + size + Math.floor(size / 2));
  t.after(() => w.store.directory.setQuota(ALICE.user, null));
  const client = await RawImap.connect(w.port);
  t.after(() => client.close());
  await client.login(ALICE.user, ALICE.password);

  assert.match(await appendRaw(client, 'a1', 'INBOX', message), /^a1 OK \[APPENDUID /);
  assert.match(await appendRaw(client, 'a2', 'INBOX', message), /^a2 NO \[OVERQUOTA\] /);
  assert.equal(await w.store.mailStore.getUsage(ALICE.user), used + size);
  const status = await client.command('STATUS INBOX (MESSAGES)');
  assert.match(status.join('\n'), /MESSAGES 1\)/);

  await w.store.directory.setQuota(ALICE.user, null);
  assert.match(await appendRaw(client, 'a3', 'INBOX', message), /^a3 OK \[APPENDUID /);
  assert.equal(await w.store.mailStore.getUsage(ALICE.user), used + 2 * size);
});

test('COPY that would pass the quota is NO [OVERQUOTA]; MOVE inside the account is allowed', async (t) => {
  const uid = await w.deliver(ALICE.user, sampleMessage('to copy'), { mailbox: 'Drafts' });
  assert.ok(uid > 0);
  const used = await w.store.mailStore.getUsage(ALICE.user);
  await w.store.directory.setQuota(ALICE.user, used);
  t.after(() => w.store.directory.setQuota(ALICE.user, null));
  const client = await RawImap.connect(w.port);
  t.after(() => client.close());
  await client.login(ALICE.user, ALICE.password);
  assert.match((await client.command('SELECT Drafts')).at(-1)!, /OK/);
  assert.match((await client.command('COPY 1 Archive')).at(-1)!, /^t\d+ NO \[OVERQUOTA\] /);
  assert.match((await client.command('MOVE 1 Archive')).at(-1)!, /^t\d+ OK /);
  assert.equal(await w.store.mailStore.getUsage(ALICE.user), used);
});
