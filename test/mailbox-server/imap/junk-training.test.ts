// Teaching the junk filter over IMAP with a real client (imapflow): MOVE into Junk teaches spam and
// the next similar message is filed into Junk; MOVE back out untaches it and teaches ham; STORE
// $Junk teaches, -FLAGS $Junk takes it back; Trash teaches nothing; a failure is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { JunkFilter, JunkTrainer } from '../../../core/junk/filter.ts';
import { JunkModelStore } from '../../../core/store/junk-model.ts';
import { rawBlobKey } from '../../../core/blobs.ts';
import type { ServiceLog } from '../../../core/log.ts';
import { fileInbound } from '../../../functions/inbound/file-inbound.ts';
import { ImapJunkTraining } from '../../../mailbox-server/imap/junk-training.ts';
import { inboundRig, storedEvent } from '../../functions/inbound/helpers.ts';
import { corpusMessages } from '../../helpers/spam-assassin-corpus.ts';
import { ALICE, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const OUR_HOST = 'mx.ours.test';
let w: ImapWorld;
let port: number;
let models: JunkModelStore;
let training: ImapJunkTraining;
const logs: Array<{ event: string; fields: Record<string, unknown> }> = [];
const log: ServiceLog = {
  info: (event, fields = {}) => logs.push({ event, fields }),
  warn: (event, fields = {}) => logs.push({ event, fields }),
  error: (event, fields = {}) => logs.push({ event, fields }),
};

before(async () => {
  w = await startImapWorld();
  models = new JunkModelStore(w.world.clients.doc, w.world.config.resources.tables);
  const trainer = new JunkTrainer(models, w.blobs, OUR_HOST);
  training = new ImapJunkTraining(trainer, w.store.mailStore, log);
  port = (await w.startServer({ junkTraining: training })).ports.imap!;
  // Past the threshold of training: 40 of each class from the corpus, as if sorted earlier.
  const keep = (raws: Buffer[]) => Promise.all(raws.map(async (raw, i) => {
    const blobKey = rawBlobKey(`seed-${i}-${Math.random()}`, new Date());
    await w.blobs.put(blobKey, raw);
    return { blobKey, size: raw.length };
  }));
  await trainer.train(ALICE.user, await keep(corpusMessages('spam-1', 0, 40)), 'spam');
  await trainer.train(ALICE.user, await keep(corpusMessages('easy-ham-1', 0, 40)), 'ham');
});
after(() => w?.close());

/** A message of one kind: a newsletter about gardening, different in its id and issue number each time. */
let issue = 0;
function newsletter(): Buffer {
  issue++;
  return Buffer.from(
    `From: Greenhouse Weekly <digest@greenhouse-weekly.example>\r\nTo: ${ALICE.user}\r\nSubject: Greenhouse weekly digest, issue ${issue}\r\n` +
      `Message-ID: <issue-${issue}-${Date.now()}@greenhouse-weekly.example>\r\nContent-Type: text/plain\r\n\r\n` +
      'This week: heirloom tomatoes, compost tea, mulching raspberries, pruning espaliered pears,\r\n' +
      'seed swaps in the allotment, greenhouse ventilation and slug-proof lettuce beds.\r\n',
  );
}

/** Files a fresh newsletter as the inbound function does and says where it went. */
async function fileNewsletter(): Promise<string> {
  const rig = inboundRig(w.world);
  const deps = { ...rig.deps, junk: { filter: new JunkFilter(models, OUR_HOST), verdicts: models } };
  const event = await storedEvent(w.blobs, newsletter(), [ALICE.user]);
  const outcome = await fileInbound(event, deps);
  const mailbox = await w.store.mailStore.getMailboxById(ALICE.user, outcome.filed[0]!.mailboxId);
  return mailbox!.name;
}

async function withClient<T>(run: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false, tls: { rejectUnauthorized: false } });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

const spamCount = async () => (await models.load(ALICE.user))!.model.spam;

test('MOVE into Junk makes the next similar message go to Junk, and MOVE back out makes it go to INBOX again', async () => {
  assert.equal(await fileNewsletter(), 'INBOX', 'before any lesson');
  for (let i = 0; i < 4; i++) await w.deliver(ALICE.user, newsletter());
  const spamBefore = await spamCount();

  const moved = await withClient(async (client) => {
    await client.mailboxOpen('INBOX');
    const uids = (await client.search({ subject: 'Greenhouse weekly' }, { uid: true })) as number[];
    const result = await client.messageMove(uids, 'Junk', { uid: true });
    assert.ok(result);
    return [...result.uidMap!.values()];
  });
  await training.settled();
  assert.equal(await spamCount(), spamBefore + 5);
  assert.equal(await fileNewsletter(), 'Junk', 'after five newsletters were moved to Junk');
  const inJunk = await w.store.mailStore.getMessages((await w.store.mailStore.getMailbox(ALICE.user, 'Junk'))!.id, moved);
  assert.ok(inJunk.every((m) => m.flags.includes('$Junk')), 'the moved copies carry $Junk');

  await withClient(async (client) => {
    await client.mailboxOpen('Junk');
    await client.messageMove(moved, 'INBOX', { uid: true });
  });
  await training.settled();
  assert.equal(await spamCount(), spamBefore, 'moving out of Junk takes back what moving in taught');
  assert.equal(await fileNewsletter(), 'INBOX', 'after they were moved back out');
  const inbox = await w.store.mailStore.listMessages(ALICE.user, 'INBOX');
  const back = inbox.filter((m) => m.index.envelope.subject?.startsWith('Greenhouse'));
  assert.ok(back.some((m) => m.flags.includes('$NotJunk') && !m.flags.includes('$Junk')), 'the copies moved back carry $NotJunk, not $Junk');
  assert.ok(logs.some((l) => l.event === 'imap.junk-training' && l.fields.class === 'ham' && l.fields.via === 'move'));
});

test('STORE +FLAGS $Junk teaches spam and -FLAGS $Junk takes it back; PERMANENTFLAGS allows the keywords', async () => {
  const uid = await w.deliver(ALICE.user, corpusMessages('spam-2', 1300, 1301)[0]!);
  const before = await spamCount();
  await withClient(async (client) => {
    const box = await client.mailboxOpen('INBOX');
    assert.ok(box.permanentFlags?.has('\\*'), 'clients may set $Junk and $NotJunk');
    await client.messageFlagsAdd(String(uid), ['$Junk'], { uid: true });
    await training.settled();
    assert.equal(await spamCount(), before + 1);
    await client.messageFlagsRemove(String(uid), ['$Junk'], { uid: true });
    await training.settled();
    assert.equal(await spamCount(), before);
  });
});

test('MOVE from Junk to Trash teaches nothing', async () => {
  await w.deliver(ALICE.user, newsletter(), { mailbox: 'Junk' });
  const before = logs.length;
  const modelBefore = await models.load(ALICE.user);
  await withClient(async (client) => {
    await client.mailboxOpen('Junk');
    await client.messageMove('1:*', 'Trash');
  });
  await training.settled();
  assert.equal((await models.load(ALICE.user))!.body, modelBefore!.body);
  assert.equal(logs.slice(before).filter((l) => l.event.startsWith('imap.junk-training')).length, 0);
});

test('a training that fails is logged with the account, not lost silently, and the command still succeeded', async () => {
  const failing = new ImapJunkTraining({ train: () => Promise.reject(new Error('model write throttled')) }, w.store.mailStore, log);
  const inbox = (await w.store.mailStore.getMailbox(ALICE.user, 'INBOX'))!;
  failing.afterStore(ALICE.user, inbox, { op: 'add', flags: ['$NotJunk'] }, [1]);
  await failing.settled();
  const failure = logs.find((l) => l.event === 'imap.junk-training-failed');
  assert.equal(failure?.fields.account, ALICE.user);
  assert.match(String(failure?.fields.error), /throttled/);
});
