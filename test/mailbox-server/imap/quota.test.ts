// IMAP against quotas (RFC 9208 §4.3): APPEND and COPY past the account's quota answer
// NO [OVERQUOTA] and store nothing; quota none is no limit; MOVE within the account still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
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

test('RFC 9208 GETQUOTAROOT / GETQUOTA over the account quota; SETQUOTA refused; none without a quota', async (t) => {
  const client = await RawImap.connect(w.port);
  t.after(() => client.close());
  await client.login(ALICE.user, ALICE.password);
  await w.store.directory.setQuota(ALICE.user, null);
  // No quota: the mailbox has no quota root (§4.1.2), and "" is none.
  assert.deepEqual(await client.command('GETQUOTAROOT INBOX', 'q1'), ['* QUOTAROOT "INBOX"', 'q1 OK GETQUOTAROOT completed']);
  assert.match((await client.command('GETQUOTA ""', 'q2'))[0]!, /^q2 NO \[NONEXISTENT\] /);

  await w.store.directory.setQuota(ALICE.user, 10 * 1024 * 1024 + 1000);
  t.after(() => w.store.directory.setQuota(ALICE.user, null));
  const used = Math.ceil((await w.store.mailStore.getUsage(ALICE.user)) / 1024);
  assert.deepEqual(await client.command('GETQUOTAROOT Drafts', 'q3'), ['* QUOTAROOT "Drafts" ""', `* QUOTA "" (STORAGE ${used} 10240)`, 'q3 OK GETQUOTAROOT completed']);
  assert.deepEqual(await client.command('GETQUOTA ""', 'q4'), [`* QUOTA "" (STORAGE ${used} 10240)`, 'q4 OK GETQUOTA completed']);
  assert.match((await client.command('GETQUOTA "other"', 'q5'))[0]!, /^q5 NO \[NONEXISTENT\] /);
  assert.match((await client.command('GETQUOTAROOT Nowhere', 'q6'))[0]!, /^q6 NO \[NONEXISTENT\] /);
  assert.match((await client.command('SETQUOTA "" (STORAGE 512)', 'q7'))[0]!, /^q7 NO \[NOPERM\] /);
  assert.match((await client.command('SETQUOTA ""', 'q8'))[0]!, /^q8 BAD /);
  const caps = (await client.command('CAPABILITY', 'q9'))[0]!;
  assert.match(caps, / QUOTA QUOTA=RES-STORAGE( |$)/);
});

test('imapflow getQuota reads the STORAGE resource', async (t) => {
  await w.store.directory.setQuota(ALICE.user, 2 * 1024 * 1024);
  t.after(() => w.store.directory.setQuota(ALICE.user, null));
  const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, doSTARTTLS: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false });
  await client.connect();
  t.after(() => client.logout());
  const quota = await client.getQuota('INBOX');
  assert.ok(quota && quota.storage);
  assert.equal(quota.storage.limit, 2 * 1024 * 1024);
  assert.equal(quota.storage.usage, Math.ceil((await w.store.mailStore.getUsage(ALICE.user)) / 1024) * 1024);
});

test('STATUS DELETED-STORAGE counts the \\Deleted messages in 1024-octet units (RFC 9208 §4.1.4)', async (t) => {
  await w.deliver(ALICE.user, sampleMessage('to delete', 'y'.repeat(3000) + '\r\n'), { mailbox: 'Trash', flags: ['\\Deleted'] });
  const deleted = (await w.store.mailStore.listMessageStates((await w.store.mailStore.getMailbox(ALICE.user, 'Trash'))!.id, 1_000_000)).filter((s) => !s.expunged && s.flags.includes('\\Deleted'));
  const client = await RawImap.connect(w.port);
  t.after(() => client.close());
  await client.login(ALICE.user, ALICE.password);
  const octets = deleted.reduce((n, s) => n + s.size, 0);
  assert.deepEqual(await client.command('STATUS Trash (DELETED DELETED-STORAGE)', 's1'), [`* STATUS "Trash" (DELETED ${deleted.length} DELETED-STORAGE ${Math.ceil(octets / 1024)})`, 's1 OK STATUS completed']);
});
