// The per-account junk header (docs/decisions/0015-junk-filter.md, addendum): a copy the filter
// files into Junk is served as `X-Spam-Flag`/`X-Spam-Score` lines + the shared blob, byte for
// byte, over IMAP (imapflow and raw FETCH, partial, sections, SEARCH, COPY, MOVE), POP3 and
// export, while the
// other recipient of the same delivery, not judged junk, reads the blob unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { LoginFailureCounter } from '../../../core/login-failures.ts';
import { rawBlobKey } from '../../../core/blobs.ts';
import { JunkFilter, JunkTrainer } from '../../../core/junk/filter.ts';
import { exportAccount } from '../../../core/migrate/exporter.ts';
import { JunkModelStore } from '../../../core/store/junk-model.ts';
import { DynamoMaildropLocks } from '../../../core/store/maildrop-lock.ts';
import { createSelfSignedCertificate } from '../../../core/tls.ts';
import { fileInbound } from '../../../functions/inbound/file-inbound.ts';
import { startPop3Server, type Pop3Server } from '../../../mailbox-server/pop3/server.ts';
import { inboundRig, storedEvent } from '../../functions/inbound/helpers.ts';
import { corpusMessages } from '../../helpers/spam-assassin-corpus.ts';
import { RawPop3 } from '../pop3/helpers.ts';
import { ALICE, BOB, RawImap, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const OUR_HOST = 'mx.ours.test';
const PART_ONE = 'Zorblaxian quintuple widgets at wholesale, flurbotronic offer inside.\r\nAct now.';
const original = Buffer.from(
  `From: Widget Sales <sales@widgets.example>\r\nTo: ${ALICE.user}, ${BOB.user}\r\nSubject: Zorblaxian widgets flurbotronic\r\n` +
    'Message-ID: <widgets-1@widgets.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="sep"\r\n\r\n' +
    `--sep\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${PART_ONE}\r\n` +
    '--sep\r\nContent-Type: text/html\r\n\r\n<p>Zorblaxian quintuple widgets, flurbotronic</p>\r\n--sep--\r\n',
  'latin1',
);
const originalHeader = original.subarray(0, original.indexOf('\r\n\r\n') + 4).toString('latin1');

let w: ImapWorld;
let imapPort: number;
let pop3: Pop3Server;
let junkUid: number;
let prefix: string;

before(async () => {
  w = await startImapWorld();
  imapPort = w.port;
  const models = new JunkModelStore(w.world.clients.doc, w.world.config.resources.tables);
  const trainer = new JunkTrainer(models, w.blobs, OUR_HOST);
  const keep = (raws: Buffer[]) => Promise.all(raws.map(async (raw, i) => {
    const blobKey = rawBlobKey(`seed-${i}-${Math.random()}`, new Date());
    await w.blobs.put(blobKey, raw);
    return { blobKey, size: raw.length };
  }));
  // Alice's filter is trained, and has seen this very offer as spam; Bob's has seen nothing.
  await trainer.train(ALICE.user, await keep([...corpusMessages('spam-1', 0, 40), original, original, original]), 'spam');
  await trainer.train(ALICE.user, await keep(corpusMessages('easy-ham-1', 0, 40)), 'ham');

  const rig = inboundRig(w.world);
  const deps = { ...rig.deps, junk: { filter: new JunkFilter(models, OUR_HOST), verdicts: models } };
  const outcome = await fileInbound(await storedEvent(w.blobs, original, [ALICE.user, BOB.user]), deps);
  const alice = outcome.filed.find((f) => f.account === ALICE.user)!;
  assert.equal((await w.store.mailStore.getMailboxById(ALICE.user, alice.mailboxId))!.name, 'Junk', 'the trained account files it as junk');
  junkUid = alice.uid;
  const bob = outcome.filed.find((f) => f.account === BOB.user)!;
  assert.equal((await w.store.mailStore.getMailboxById(BOB.user, bob.mailboxId))!.name, 'INBOX');
  prefix = (await w.store.mailStore.getMessages(alice.mailboxId, [junkUid]))[0]!.headerPrefix!;
  assert.match(prefix, /^X-Spam-Flag: YES\r\nX-Spam-Score: (0\.9\d\d|1\.000) \(mx\.ours\.test; classifier; [^\r\n]+\)\r\n$/);

  const now = new Date();
  pop3 = await startPop3Server({
    directory: w.store.directory,
    store: w.store.mailStore,
    blobs: w.blobs,
    locks: new DynamoMaildropLocks(w.world.clients.doc, w.world.config.resources.tables),
    throttle: new LoginFailureCounter({ baseDelayMs: 1, maxDelayMs: 5 }),
    tls: createSelfSignedCertificate('localhost', ['localhost', '127.0.0.1'], new Date(now.getTime() - 60_000), new Date(now.getTime() + 86_400_000)),
    ports: { plain: 0, tls: null },
    hostname: 'pop.test.local',
  });
});
after(async () => {
  await pop3?.close();
  await w?.close();
});

const served = () => Buffer.concat([Buffer.from(prefix, 'latin1'), original]);

async function withClient<T>(user: { user: string; password: string }, run: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: '127.0.0.1', port: imapPort, secure: false, auth: { user: user.user, pass: user.password }, logger: false, tls: { rejectUnauthorized: false } });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function raw<T>(user: { user: string; password: string }, mailbox: string, run: (imap: RawImap) => Promise<T>): Promise<T> {
  const imap = await RawImap.connect(imapPort);
  try {
    await imap.line();
    await imap.login(user.user, user.password);
    await imap.command(`SELECT ${mailbox}`);
    return await run(imap);
  } finally {
    imap.close();
  }
}

/** The literal of `item` in a FETCH response (the messages here are ASCII, so characters are octets). */
function literal(lines: string[], item: string): string {
  // literal8 (RFC 3516 §4.2, BINARY) is a literal with a "~" in front.
  const opener = lines.some((l) => l.includes(`${item} ~{`)) ? `${item} ~{` : `${item} {`;
  const response = lines.find((l) => l.startsWith('* ') && l.includes(opener));
  assert.ok(response, `${item} in ${JSON.stringify(lines)}`);
  const at = response.indexOf(opener) + opener.length;
  const length = Number(response.slice(at, response.indexOf('}', at)));
  const start = response.indexOf('\r\n', at) + 2;
  return response.slice(start, start + length);
}

test('imapflow sees the Junk copy as the junk header + the message as received', async () => {
  await withClient(ALICE, async (client) => {
    await client.mailboxOpen('Junk');
    const message = await client.fetchOne(String(junkUid), { source: true, size: true, envelope: true, headers: ['x-spam-flag'] }, { uid: true });
    assert.ok(message);
    assert.deepEqual(message.source, served());
    assert.equal(message.size, served().length);
    assert.equal(message.envelope?.subject, 'Zorblaxian widgets flurbotronic');
    assert.equal(message.headers?.toString('latin1'), 'X-Spam-Flag: YES\r\n\r\n');
  });
});

test('C: FETCH BODY[] RFC822.SIZE, partial <0.20>, <10.100>, BODY[1], HEADER, TEXT, BINARY: byte for byte, sizes agree', async () => {
  await raw(ALICE, 'Junk', async (imap) => {
    const lines = await imap.command(`UID FETCH ${junkUid} (RFC822.SIZE BODY.PEEK[])`);
    const body = literal(lines, 'BODY[]');
    assert.equal(body, served().toString('latin1'));
    assert.match(lines[0]!, new RegExp(`RFC822\\.SIZE ${served().length}\\b`));
    // Partials inside the prefix and across its end.
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BODY.PEEK[]<0.20>`), 'BODY[]<0>'), served().subarray(0, 20).toString('latin1'));
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BODY.PEEK[]<10.100>`), 'BODY[]<10>'), served().subarray(10, 110).toString('latin1'));
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BODY.PEEK[1]`), 'BODY[1]'), PART_ONE);
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BODY.PEEK[HEADER]`), 'BODY[HEADER]'), prefix + originalHeader);
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BODY.PEEK[TEXT]`), 'BODY[TEXT]'), original.subarray(originalHeader.length).toString('latin1'));
    // RFC 3516 BINARY reads through the same copy offsets.
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BINARY.PEEK[]`), 'BINARY[]'), served().toString('latin1'));
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BINARY.PEEK[1]`), 'BINARY[1]'), PART_ONE);
    assert.match((await imap.command(`UID FETCH ${junkUid} BINARY.SIZE[1]`))[0]!, new RegExp(`BINARY\\.SIZE\\[1\\] ${PART_ONE.length}\\b`));
    assert.equal(literal(await imap.command(`UID FETCH ${junkUid} BODY.PEEK[HEADER.FIELDS (X-Spam-Flag Subject)]`), 'BODY[HEADER.FIELDS (X-Spam-Flag Subject)]'), 'X-Spam-Flag: YES\r\nSubject: Zorblaxian widgets flurbotronic\r\n\r\n');
  });
});

test('BODYSTRUCTURE and ENVELOPE of the junk copy are those of the other recipient\'s copy', async () => {
  const of = (user: typeof ALICE, mailbox: string, uid: string) => raw(user, mailbox, async (imap) => {
    const line = (await imap.command(`UID FETCH ${uid} (BODYSTRUCTURE ENVELOPE)`))[0]!;
    return line.slice(line.indexOf('(UID') === -1 ? line.indexOf('(') : line.indexOf('(UID')).replace(/UID \d+ ?/, '');
  });
  assert.equal(await of(ALICE, 'Junk', String(junkUid)), await of(BOB, 'INBOX', '*'));
});

test('the other recipient of the same delivery, not judged junk, reads the message without the header', async () => {
  await raw(BOB, 'INBOX', async (imap) => {
    const lines = await imap.command('FETCH 1 (RFC822.SIZE BODY.PEEK[])');
    assert.equal(literal(lines, 'BODY[]'), original.toString('latin1'));
    assert.match(lines[0]!, new RegExp(`RFC822\\.SIZE ${original.length}\\b`));
    const search = await imap.command('SEARCH HEADER X-Spam-Flag ""');
    assert.equal(search[0], '* SEARCH');
  });
});

test('C: SEARCH HEADER X-Spam-Flag YES finds the junk copy', async () => {
  await raw(ALICE, 'Junk', async (imap) => {
    const lines = await imap.command('UID SEARCH HEADER X-Spam-Flag YES');
    assert.equal(lines[0], `* SEARCH ${junkUid}`);
    const text = await imap.command('UID SEARCH TEXT flurbotronic');
    assert.equal(text[0], `* SEARCH ${junkUid}`);
  });
});

test('COPY keeps the header on the new copy; POP3 LIST, RETR, TOP and UIDL agree with the bytes sent', async () => {
  const copied = await withClient(ALICE, async (client) => {
    await client.mailboxOpen('Junk');
    const result = await client.messageCopy(String(junkUid), 'INBOX', { uid: true });
    assert.ok(result && result.uidMap);
    const uid = result.uidMap.get(junkUid)!;
    await client.mailboxOpen('INBOX');
    const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
    assert.ok(message);
    assert.deepEqual(message.source, served());
    return uid;
  });
  assert.ok(copied > 0);

  const pop = await RawPop3.connect(pop3.ports.plain!);
  try {
    assert.match(await pop.line(), /^\+OK/);
    assert.match(await pop.command(`USER ${ALICE.user}`), /^\+OK/);
    assert.match(await pop.command(`PASS ${ALICE.password}`), /^\+OK/);
    assert.match(await pop.command('LIST'), /^\+OK/);
    const list = (await pop.multi()).toString('latin1').trim().split('\r\n');
    assert.deepEqual(list, [`1 ${served().length}`]);
    assert.match(await pop.command('UIDL 1'), /^\+OK 1 \d+\.\d+$/);
    assert.match(await pop.command('RETR 1'), /^\+OK/);
    assert.deepEqual(await pop.multi(), served());
    assert.match(await pop.command('TOP 1 0'), /^\+OK/);
    assert.equal((await pop.multi()).toString('latin1'), prefix + originalHeader);
    assert.match(await pop.command('TOP 1 1'), /^\+OK/);
    assert.equal((await pop.multi()).toString('latin1'), `${prefix}${originalHeader}--sep\r\n`);
    // Pipelined, so the second is read ahead (mailbox-server/pop3/retr-read-ahead.ts).
    pop.send('RETR 1\r\nRETR 1\r\n');
    for (let i = 0; i < 2; i++) {
      assert.match(await pop.line(), /^\+OK/);
      assert.deepEqual(await pop.multi(), served());
    }
    assert.match(await pop.command('QUIT'), /^\+OK/);
  } finally {
    pop.destroy();
  }
});

test('MOVE keeps the header on the moved copy, and export writes the copy as served', async () => {
  await withClient(ALICE, async (client) => {
    await client.mailboxOpen('Junk');
    const result = await client.messageMove(String(junkUid), 'Archive', { uid: true });
    assert.ok(result && result.uidMap);
    await client.mailboxOpen('Archive');
    const message = await client.fetchOne(String(result.uidMap.get(junkUid)), { source: true }, { uid: true });
    assert.ok(message);
    assert.deepEqual(message.source, served());
  });
  const folder = await mkdtemp(join(tmpdir(), 'spam-header-export-'));
  try {
    const out = join(folder, 'out');
    await exportAccount({ mailStore: w.store.mailStore, blobs: w.blobs }, ALICE.user, 'maildir', out);
    const cur = join(out, '.Archive', 'cur');
    const files = await readdir(cur);
    assert.equal(files.length, 1);
    assert.deepEqual(await readFile(join(cur, files[0]!)), served());
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
