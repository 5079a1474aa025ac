// End to end in one process: the MX (its DNS the test's zones), the inbound function behind the
// SQS event-source runner, and the IMAP server, on the emulators. Mail failing DMARC of a domain
// that publishes p=quarantine lands in the recipient's Junk (special use \Junk), read back with
// Python's imaplib; mail that passes lands in INBOX; without a Junk, INBOX with the $Junk keyword
// and the verdict's X-Spam lines.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SQSEvent } from 'aws-lambda';
import { LoginFailureCounter } from '../../core/login-failures.ts';
import { createBatchProcessor } from '../../functions/inbound/process-batch.ts';
import { startSqsEventSource, type SqsEventSource } from '../../local/runner.ts';
import { startImapServer, type ImapServer } from '../../mailbox-server/imap/server.ts';
import { startSmtpEdge, type SmtpEdge } from '../../smtp-edge/server.ts';
import { zoneResolver } from '../helpers/dns-zones.ts';
import { eventually } from '../helpers/eventually.ts';
import { inboundRig } from '../functions/inbound/helpers.ts';
import { DEMO, run, startEdgeWorld, type EdgeWorld } from '../smtp-edge/helpers.ts';

let world: EdgeWorld;
let edge: SmtpEdge;
let imap: ImapServer;
let source: SqsEventSource;

const ZONES = zoneResolver({
  'shop.test': { TXT: 'v=spf1 ip4:192.0.2.1 -all' },
  '_dmarc.shop.test': { TXT: 'v=DMARC1; p=quarantine' },
  'friend.test': { TXT: 'v=spf1 ip4:127.0.0.1 -all' },
  '_dmarc.friend.test': { TXT: 'v=DMARC1; p=quarantine' },
});

before(async () => {
  world = await startEdgeWorld();
  edge = await startSmtpEdge({ ...world.edgeOptions, authentication: { resolve: ZONES.resolve, budgetMs: 1_000 } });
  const rig = inboundRig(world.world);
  const processBatch = createBatchProcessor(rig.deps);
  source = startSqsEventSource({
    sqs: world.world.clients.sqs, region: 'us-east-1', maxBatchingWindowSeconds: 0, waitTimeSeconds: 1, concurrency: 1, timeoutSeconds: 60,
    queueUrl: world.world.config.resources.queues.inbound, queueArn: 'arn:aws:sqs:us-east-1:000000000000:inbound', functionName: 'inbound',
    handler: (e: SQSEvent) => processBatch(e), batchSize: 10,
  });
  imap = await startImapServer({
    store: rig.store.mailStore, directory: rig.store.directory, blobs: rig.blobs, tls: world.tls, hostname: 'mx.test.local', throttle: new LoginFailureCounter(),
    listeners: [{ name: 'imap', port: 0, host: '127.0.0.1', implicitTls: false }],
  });
});
after(async () => {
  await source?.stop();
  await imap?.close();
  await edge?.close();
  await world?.close();
});

const SEND = String.raw`
import smtplib, sys
port, sender, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
    s.ehlo('client.test')
    s.sendmail(sender, [rcpt], sys.stdin.buffer.read())
`;

/** Where the message with `subject` is, over IMAP: its count in INBOX and Junk, Junk's LIST line, and our header. */
const FIND = String.raw`
import imaplib, json, sys
port, user, password, subject = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
m = imaplib.IMAP4('127.0.0.1', port, timeout=30)
m.login(user, password)
typ, listing = m.list()
found = {'junk': [l.decode() for l in listing if l.decode().endswith('"Junk"') or l.decode().endswith(' Junk')]}
for name in ['INBOX', 'Junk']:
    typ, _ = m.select(name, readonly=True)
    if typ != 'OK':
        found[name] = 0
        continue
    typ, data = m.search(None, 'SUBJECT', '"' + subject + '"')
    found[name] = len(data[0].split())
    if name == 'Junk' and found[name]:
        typ, body = m.fetch(data[0].split()[-1], '(BODY.PEEK[HEADER.FIELDS (AUTHENTICATION-RESULTS)])')
        found['header'] = body[0][1].decode()
m.logout()
print(json.dumps(found))
`;

async function deliver(sender: string, subject: string): Promise<{ INBOX: number; Junk: number; junk: string[]; header?: string }> {
  const from = sender.replace(/^[^@]*/, 'news');
  const body = `From: <${from}>\r\nTo: ${DEMO.user}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`;
  const sent = await run('python3', ['-c', SEND, String(edge.ports.mx), sender, DEMO.user], body);
  assert.equal(sent.code, 0, sent.stderr);
  // the inbound function files it behind the queue
  const { mailStore } = inboundRig(world.world).store;
  await eventually(async () => {
    for (const mailbox of await mailStore.listMailboxes(DEMO.user)) {
      if ((await mailStore.listMessages(DEMO.user, mailbox.name)).some((m) => m.index.envelope.subject === subject)) return true;
    }
    return false;
  }, `"${subject}" filed`, 30_000, 200);
  const found = await run('python3', ['-c', FIND, String(imap.ports.imap), DEMO.user, DEMO.password, subject]);
  assert.equal(found.code, 0, found.stderr);
  return JSON.parse(found.stdout) as { INBOX: number; Junk: number; junk: string[]; header?: string };
}

test('DMARC p=quarantine failing: filed into Junk (\\Junk), read back over IMAP with our Authentication-Results', async () => {
  const found = await deliver('bulk@shop.test', 'quarantined offer');
  assert.deepEqual([found.INBOX, found.Junk], [0, 1]);
  assert.match(found.junk.join('\n'), /\\Junk/);
  assert.match(found.header ?? '', /^Authentication-Results: mx\.test\.local;\r\n\tspf=fail smtp\.mailfrom=bulk@shop\.test;/);
  assert.match(found.header ?? '', /\tdmarc=fail policy\.dmarc=quarantine header\.from=shop\.test;/);
});

test('mail that passes DMARC goes to INBOX', async () => {
  const found = await deliver('letters@friend.test', 'a real letter');
  assert.deepEqual([found.INBOX, found.Junk], [1, 0]);
});

test('an account whose Junk was deleted gets quarantined mail in INBOX with the $Junk keyword (RFC 5788)', async () => {
  const rig = inboundRig(world.world);
  const junk = (await rig.store.mailStore.listMailboxes(DEMO.user)).find((m) => m.specialUse === '\\Junk')!;
  await rig.store.mailStore.deleteMailbox(DEMO.user, junk.name);
  const found = await deliver('bulk@shop.test', 'quarantined again');
  assert.equal(found.INBOX, 1);
  assert.deepEqual(found.junk, [], 'no Junk is made');
  const filed = (await rig.store.mailStore.listMessages(DEMO.user, 'INBOX')).find((m) => m.index.envelope.subject === 'quarantined again');
  assert.deepEqual(filed?.flags, ['$Junk']);
  // Marked as the junk filter marks what it files: the verdict lines in front of this copy alone.
  assert.match(filed?.headerPrefix ?? '', /^X-Spam-Flag: YES\r\nX-Spam-Score: 1\.000 \(mx\.test\.local; rules; quarantine, dmarc=fail/);
});
