// Every role's IAM grants against what its code really calls. The inbound and relay batch
// processors run on the emulators (local and remote delivery, a retry, a local and a remote DSN,
// orphan tagging), and the relay once more through the SES API (a stub answering as SES documents;
// the emulators have none); the SMTP edge takes mail on the MX and on submission (and orphans a blob whose
// event could not be queued); the mailbox server answers IMAP (APPEND, COPY, MOVE, RENAME INBOX,
// EXPUNGE, IDLE, a refused over-quota APPEND) and POP3 (RETR, DELE, QUIT); both services poll the
// TLS secret, and the certificate export function exports the ACM certificate into it (ACM and
// Secrets Manager answered at the SDK boundary, test/helpers/acm-stub.ts and secrets-stub.ts). Every AWS request is
// recorded per role and must be allowed by that role's policies in the synthesized template (a
// request IAM would deny fails the test); each grant must in turn be used, or be listed below with
// the path that needs it (a grant nothing uses is reported and fails the test).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SQSEvent } from 'aws-lambda';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients, type AwsClients } from '../../core/aws.ts';
import { BlobStore } from '../../core/blobs.ts';
import type { InboundEvent } from '../../core/contracts.ts';
import { QueueSender } from '../../core/queues.ts';
import { BUCKET, TABLES, type QueueName, type TableName } from '../../core/resources.ts';
import { createStore } from '../../core/store/index.ts';
import { createBatchProcessor } from '../../functions/inbound/process-batch.ts';
import { createRelayBatchProcessor } from '../../functions/relay/process-batch.ts';
import { startSqsEventSource, type SqsEventSource } from '../../local/runner.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { LoginFailureCounter } from '../../core/login-failures.ts';
import { indexMessage } from '../../core/mime/index.ts';
import { DynamoMaildropLocks } from '../../core/store/maildrop-lock.ts';
import { createSelfSignedCertificate } from '../../core/tls.ts';
import { startImapServer } from '../../mailbox-server/imap/server.ts';
import { startPop3Server } from '../../mailbox-server/pop3/server.ts';
import { startSmtpEdge, type SmtpEdgeOptions } from '../../smtp-edge/server.ts';
import { RawImap } from '../mailbox-server/imap/helpers/imap-world.ts';
import { RawPop3 } from '../mailbox-server/pop3/helpers.ts';
import { SmtpWire } from '../smtp-edge/helpers.ts';
import { storedEvent } from '../functions/inbound/helpers.ts';
import { eventually, FakeMx, outgoingMessage, relayRig } from '../functions/relay/helpers.ts';
import { SesStub, SES_ERRORS } from '../functions/relay/ses-stub.ts';
import { SenderRewriting } from '../../core/srs.ts';
import { asArray, fullStack, policyStatements } from './synth.ts';
import { JunkTrainer } from '../../core/junk/filter.ts';
import { composeJunkFiling } from '../../functions/inbound/compose.ts';
import { JunkModelStore } from '../../core/store/junk-model.ts';
import { ImapJunkTraining } from '../../mailbox-server/imap/junk-training.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLog } from '../../core/log.ts';
import { TlsSecretPoller } from '../../core/tls-secret-poller.ts';
import { exportCertificateToSecret } from '../../functions/certificate-export/export-certificate.ts';
import { SecretsStub } from '../helpers/secrets-stub.ts';
import { AcmStub } from '../helpers/acm-stub.ts';

type Fn = 'inbound' | 'relay' | 'certificateExport';
type Service = 'edge' | 'mailbox';
type Role = Fn | Service;
/** One AWS request as IAM sees it: `dynamodb:GetItem` on table `deliveries`, and the item's partition key (for dynamodb:LeadingKeys). */
interface Call { readonly action: string; readonly resource: string; readonly partitionKey?: string }
/** One allowed `action resource`, and the partition keys a dynamodb:LeadingKeys condition admits. */
interface Grant { readonly grant: string; readonly leadingKeys?: readonly string[] }

/**
 * Grants no run here can use, each with the path that needs it. Anything else granted and unused
 * fails the test: a grant is added because code calls it, and goes when the code stops.
 */
const NEEDED_OFF_THIS_RUN: Record<Role, Record<string, string>> = {
  edge: {
    's3:AbortMultipartUpload bucket': 'a message over two parts (10 MiB) is a multipart upload whose first part is sent last (core/held-head-upload.ts), aborted when it is refused or the client goes away mid-DATA',
  },
  mailbox: {
    's3:AbortMultipartUpload bucket': 'an APPEND over 5 MiB is a multipart upload (lib-storage), aborted when it fails',
    'dynamodb:GetItem table blobrefs': 'filing: a delivery found claimed (an APPEND retried) has its claim read',
  },
  inbound: {
    'dynamodb:GetItem table messages': 'fileMessage: the UID was taken (a writer whose put response was lost, a concurrent writer) or a redelivery finds its delivery claimed: the holder is read',
    'dynamodb:GetItem table blobrefs': 'fileMessage: a redelivery finds its delivery claimed and reads the claim',
    ...eventSourceGrants('inbound'),
  },
  relay: {
    's3:AbortMultipartUpload bucket': 'a DSN quoting an original over 5 MiB is a multipart upload (lib-storage), aborted when it fails',
    ...eventSourceGrants('outbound'),
  },
  certificateExport: {},
};

/** What CDK's SqsEventSource grants the role: Lambda's poller reads the queue with the function's role. */
function eventSourceGrants(queue: QueueName): Record<string, string> {
  const actions = ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes', 'GetQueueUrl'];
  return Object.fromEntries(actions.map((a) => [`sqs:${a} queue ${queue}`, 'the event source mapping polls the queue with the function\'s role']));
}

const S3_ACTIONS: Record<string, string> = {
  PutObject: 's3:PutObject', CreateMultipartUpload: 's3:PutObject', UploadPart: 's3:PutObject', CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload', GetObject: 's3:GetObject', PutObjectTagging: 's3:PutObjectTagging',
  HeadObject: 's3:GetObject',
};

let world: TestWorld;
let mx: FakeMx;
const srs = new SenderRewriting({ secrets: ['the grants test srs secret'] });
/** The relay the outbound event source runs: MX delivery, or (one test) the SES API. */
let relayBatch: (event: SQSEvent, remainingMs: number) => Promise<unknown>;
/** The inbound function the inbound event source runs: without, or (the SES run) with sender rewriting. */
let inboundBatch: ReturnType<typeof createBatchProcessor>;
let inboundWithSrs: ReturnType<typeof createBatchProcessor>;
let sources: SqsEventSource[] = [];
const calls: Record<Role, Call[]> = { inbound: [], relay: [], edge: [], mailbox: [], certificateExport: [] };
/** The TLS secret's id as the stack hands it to the services and the export function, and the ACM certificate's. */
const TLS_SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mail-tls-AbCdEf';
const TLS_CERTIFICATE = 'arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012';

/** A Secrets Manager stub whose every request is recorded as `role`'s, on the secret it names. */
function recordingSecrets(role: Role): SecretsStub {
  const stub = new SecretsStub();
  stub.client.middlewareStack.add(((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
    calls[role].push({ action: `secretsmanager:${String(context.commandName).replace(/Command$/, '')}`, resource: args.input.SecretId === TLS_SECRET ? 'secret tls' : `other secret ${args.input.SecretId}` });
    return next(args);
  }) as never, { step: 'initialize', name: 'grantRecorder', priority: 'high' });
  return stub;
}

/** Clients whose every request is recorded as `fn`'s, with the resource named by its role in the system. */
function recordingClients(fn: Role): AwsClients {
  const clients = createAwsClients(world.config.aws);
  const { tables, queues, bucket } = world.config.resources;
  const tableOf = (name: string) => (Object.entries(tables).find(([, physical]) => physical === name)?.[0] ?? `unknown table ${name}`);
  const queueOf = (url: string) => (Object.entries(queues).find(([, u]) => u === url)?.[0] ?? `unknown queue ${url}`);
  const record = (service: 'dynamodb' | 's3' | 'sqs', recordCall: (op: string, input: any) => Call[]) => (next: (args: any) => Promise<unknown>, context: { commandName?: string }) => async (args: any) => {
    calls[fn].push(...recordCall(String(context.commandName).replace(/Command$/, ''), args.input));
    return next(args);
  };
  const add = (client: { middlewareStack: { add(m: unknown, o: { step: 'initialize'; name: string }): void } }, m: unknown) => client.middlewareStack.add(m, { step: 'initialize', name: 'grantRecorder' });
  add(clients.dynamodb, record('dynamodb', (op, input) => {
    const names: string[] = input.TableName ? [input.TableName] : Object.keys(input.RequestItems ?? {});
    return names.map((n) => {
      const table = tableOf(n);
      // Document-client input is plain, marshalled input carries { S: ... }: either way the partition key's string.
      // PutItem names its key in the item; IAM's dynamodb:LeadingKeys judges it all the same.
      const keyName = TABLES[table as TableName]?.partitionKey.name ?? '';
      const raw = input.Key?.[keyName] ?? input.Item?.[keyName];
      const partitionKey = typeof raw === 'string' ? raw : typeof raw?.S === 'string' ? raw.S : undefined;
      return { action: `dynamodb:${op}`, resource: `table ${table}${input.IndexName ? ` index ${input.IndexName}` : ''}`, ...(partitionKey === undefined ? {} : { partitionKey }) };
    });
  }));
  add(clients.s3, record('s3', (op, input) => [{
    action: S3_ACTIONS[op] ?? `s3:${op}`,
    resource: input.Bucket === bucket && String(input.Key).startsWith(BUCKET.rawPrefix) ? 'bucket' : `other object ${input.Bucket}/${input.Key}`,
  }]));
  add(clients.sqs, record('sqs', (op, input) => [{ action: `sqs:${op}`, resource: `queue ${queueOf(input.QueueUrl)}` }]));
  return clients;
}

/** The mail domains of the synthesized stack (test/infra/synth.ts TEST_CONTEXT): its SES identities. */
const SES_IDENTITY_DOMAINS = ['example.com', 'example.org'];

/**
 * An SES stub whose every request is recorded as the relay's, as IAM sees it: SESv2 SendEmail with
 * raw content is authorised as ses:SendRawEmail on the sending identity, the one that verifies the
 * sender (FromEmailAddress, else the From: header): the address's domain or a parent domain, as
 * SES lets a verified domain cover its subdomains (Amazon SES developer guide, "Verified identities").
 */
function recordingSes(): SesStub {
  const stub = new SesStub();
  stub.client.middlewareStack.add((next: (args: any) => Promise<any>) => async (args: any) => {
    const input = args.input as { FromEmailAddress?: string; Content?: { Raw?: { Data?: Uint8Array } } };
    const header = /^From:[^\r\n]*?<?([^<>\s]+@[^<>\s]+?)>?\s*$/im.exec(Buffer.from(input.Content?.Raw?.Data ?? []).toString('latin1'))?.[1];
    const sender = input.FromEmailAddress ?? header ?? '';
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
    const identity = SES_IDENTITY_DOMAINS.find((d) => domain === d || domain.endsWith(`.${d}`)) ?? domain;
    calls.relay.push({ action: input.Content?.Raw ? 'ses:SendRawEmail' : 'ses:SendEmail', resource: `identity ${identity}` });
    return next(args);
  }, { step: 'initialize', name: 'grantRecorder' });
  return stub;
}

/** Waits until the inbound and outbound queues hold nothing (visible, in flight or delayed). */
async function drained(timeoutMs = 30_000): Promise<void> {
  const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
  await eventually(async () => {
    let total = 0;
    for (const url of [world.config.resources.queues.inbound, world.config.resources.queues.outbound]) {
      const out = await world.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...names] }));
      for (const n of names) total += Number(out.Attributes?.[n] ?? 0);
    }
    return total === 0;
  }, 'queues drained', timeoutMs);
}

before(async () => {
  world = await startTestWorld();
  mx = new FakeMx();
  await mx.start();
  // Each function gets its own rig (its own recording clients); only its half is used.
  // The first run's inbound forwards without sender rewriting, as events queued before it were: the
  // relay's own DSN to a remote sender needs that. The SES run uses the one with rewriting.
  const inboundClients = recordingClients('inbound');
  const inboundDeps = {
    ...relayRig({ ...world, clients: inboundClients }, mx).inboundDeps,
    junk: composeJunkFiling(inboundClients.doc, world.config.resources.tables, 'mail.example.test'),
  };
  inboundBatch = createBatchProcessor(inboundDeps);
  inboundWithSrs = createBatchProcessor({ ...inboundDeps, srs });
  const relayDeps = relayRig({ ...world, clients: recordingClients('relay') }, mx).relayDeps;
  relayBatch = createRelayBatchProcessor(relayDeps);
  // The event source mapping's receive/delete are Lambda's, not the function's: unrecorded clients.
  const common = { sqs: world.clients.sqs, region: 'us-east-1', maxBatchingWindowSeconds: 0, waitTimeSeconds: 1, concurrency: 1, timeoutSeconds: 60 } as const;
  sources = [
    startSqsEventSource({ ...common, queueUrl: world.config.resources.queues.inbound, queueArn: 'arn:aws:sqs:us-east-1:000000000000:inbound', functionName: 'inbound', handler: (e: SQSEvent) => inboundBatch(e), batchSize: 10 }),
    startSqsEventSource({ ...common, queueUrl: world.config.resources.queues.outbound, queueArn: 'arn:aws:sqs:us-east-1:000000000000:outbound', functionName: 'relay', handler: (e: SQSEvent) => relayBatch(e, 60_000) as never, batchSize: 5 }),
  ];
});

after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await mx?.stop();
  await world?.close();
});

describe('function grants match the code', () => {
  it('runs local and remote delivery, a retry, local and remote DSNs and orphaning on the emulators', async () => {
    const hex = () => randomBytes(4).toString('hex');
    const local = `l${hex()}.test`;
    const remote = `r${hex()}.test`;
    const senderDomain = `s${hex()}.test`;
    const admin = createStore(world.clients, world.config.resources);
    await admin.directory.addDomain(local);
    await admin.directory.addAccount(`alice@${local}`, 'pw-alice-123');
    await admin.directory.addAccount(`carol@${local}`, 'pw-carol-123');
    await admin.directory.addAlias(`fwd@${local}`, [`gone@${remote}`]);
    mx.scripts.set(remote, {
      rcpt: (address, attempt) => (address.startsWith('gone@') ? '550 5.1.1 No such user' : address.startsWith('later@') && attempt === 1 ? '451 4.3.0 Try later' : null),
    });
    const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
    const edge = new QueueSender(world.clients.sqs);
    const submit = async (raw: Buffer, rcptTo: string[], overrides: Partial<InboundEvent>) => {
      const event = await storedEvent(blobs, raw, rcptTo, { receivedAt: new Date().toISOString(), ...overrides });
      await edge.sendInbound(world.config.resources.queues.inbound, event);
      return event;
    };

    // Alice sends to a local and three remote recipients: one accepted, one refused (a DSN filed
    // into her INBOX through the inbound queue), one deferred once (a retry copy).
    const alice = `alice@${local}`;
    await submit(outgoingMessage(alice, `bob@${remote}`), [`carol@${local}`, `bob@${remote}`, `gone@${remote}`, `later@${remote}`], { mailFrom: alice, authenticatedUser: alice });
    // A remote sender's message forwarded to a refusing address: the DSN goes back out through
    // the outbound queue; the forwarded blob and the DSN blob lose their last holder (orphaned).
    const forwarded = await submit(outgoingMessage(`someone@${senderDomain}`, `fwd@${local}`), [`fwd@${local}`], { mailFrom: `someone@${senderDomain}`, authenticatedUser: null });
    await eventually(() => mx.to(senderDomain).length === 1, 'the DSN reached the remote sender');
    await eventually(() => mx.to(remote).filter((m) => m.rcptTo.some((r) => r.startsWith('later@'))).length === 1, 'the deferred recipient got it');
    await eventually(async () => (await admin.mailStore.listMessages(alice, 'INBOX')).length === 1, 'the DSN in alice\'s INBOX');
    // A message our edge found failing DMARC: the junk filter files it into carol's Junk, which,
    // as for an account from before use claims, it finds by listing her mailboxes once.
    await world.clients.doc.send(new DeleteCommand({ TableName: world.config.resources.tables.mailboxes, Key: { pk: `carol@${local}`, sk: 'use#\\Junk' } }));
    await submit(outgoingMessage(`x@${senderDomain}`, `carol@${local}`, 'Hello there', [`Authentication-Results: mail.example.test; dmarc=fail header.from=${senderDomain}`]), [`carol@${local}`], { mailFrom: `x@${senderDomain}`, authenticatedUser: null });
    await eventually(async () => (await admin.mailStore.listMessages(`carol@${local}`, 'Junk')).length === 1, 'the DMARC failure in carol\'s Junk');
    await drained();
    // The edge redelivers the forwarded message (at-least-once): inbound finds its delivery done
    // and gives back the reference it took, the last one now, so it tags the blob itself.
    await edge.sendInbound(world.config.resources.queues.inbound, forwarded);
    await drained();
    assert.equal(mx.to(`${remote}`).filter((m) => m.rcptTo.some((r) => r.startsWith('gone@'))).length, 0);
    assert.deepEqual((await admin.mailStore.listMessages(`carol@${local}`, 'INBOX')).length, 1);
  });

  it('drives SMTP in and out through the edge, and IMAP and POP3 through the mailbox server, on the emulators', async (t) => {
    const hex = () => randomBytes(4).toString('hex');
    const local = `l${hex()}.test`;
    const remote = `r${hex()}.test`;
    const admin = createStore(world.clients, world.config.resources);
    await admin.directory.addDomain(local);
    const alice = { user: `alice@${local}`, password: 'pw-alice-123' };
    await admin.directory.addAccount(alice.user, alice.password);
    await admin.directory.addAccount(`full@${local}`, 'pw-full-1234', { quotaBytes: 10 });
    const now = new Date();
    const tls = createSelfSignedCertificate('mail.example.test', ['127.0.0.1'], new Date(now.getTime() - 3_600_000), new Date(now.getTime() + 86_400_000));

    // The edge, composed as smtp-edge/main.ts composes it, on recording clients.
    const edgeClients = recordingClients('edge');
    const edgeStore = createStore(edgeClients, world.config.resources);
    const edgeOptions = {
      mail: world.config.mail,
      directory: edgeStore.directory,
      blobs: new BlobStore(edgeClients.s3, world.config.resources.bucket),
      queue: new QueueSender(edgeClients.sqs),
      inboundQueueUrl: world.config.resources.queues.inbound,
      tls,
      listeners: [
        { name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' },
        { name: 'submissions', role: 'submissions', port: 0, host: '127.0.0.1' },
      ],
      submission: { limits: { maxMessagesPerHour: 100, maxRecipientsPerMessage: 10 }, counter: edgeStore.directory },
      resolver: { reverse: (_ip: string, cb: (err: Error | null, names?: string[]) => void) => cb(null, ['client.test']) },
      limits: { drainGraceMs: 1000 },
    } as const satisfies SmtpEdgeOptions;
    const edge = await startSmtpEdge(edgeOptions);
    t.after(() => edge.close());
    // A second edge whose queue is down: the stored blob is tagged orphan (smtp-edge/data.ts).
    const queueDown = { sendInbound: () => Promise.reject(new Error('SQS unavailable')) } as unknown as QueueSender;
    const brokenEdge = await startSmtpEdge({ ...edgeOptions, queue: queueDown, listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' }] });
    t.after(() => brokenEdge.close());

    const smtp = async (wire: SmtpWire, lines: [string, RegExp][]) => {
      for (const [line, expected] of lines) assert.match(await wire.command(line), expected, line);
    };
    const message = (from: string, to: string, subject: string) => `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${hex()}@test>\r\n\r\nHello.\r\n.`;
    // MX: two messages for alice, one refused for a full mailbox (RCPT reads the usage counter).
    for (const subject of ['first', 'second']) {
      const { wire } = await SmtpWire.connect(edge.ports.mx!);
      await smtp(wire, [['EHLO client.test', /^250 /m], [`MAIL FROM:<someone@${remote}> SIZE=200`, /^250 /], [`RCPT TO:<full@${local}>`, /^452 /], [`RCPT TO:<${alice.user}>`, /^250 /], ['DATA', /^354 /], [message(`someone@${remote}`, alice.user, subject), /^250 /], ['QUIT', /^221 /]]);
    }
    {
      const { wire } = await SmtpWire.connect(brokenEdge.ports.mx!);
      await smtp(wire, [['EHLO client.test', /^250 /m], [`MAIL FROM:<someone@${remote}>`, /^250 /], [`RCPT TO:<${alice.user}>`, /^250 /], ['DATA', /^354 /], [message(`someone@${remote}`, alice.user, 'lost'), /^451 /], ['QUIT', /^221 /]]);
    }
    // Submission on 465: AUTH, the hourly counter, a remote recipient (relayed by the functions).
    {
      const { wire } = await SmtpWire.connectTls(edge.ports.submissions!);
      const token = Buffer.from(`\0${alice.user}\0${alice.password}`).toString('base64');
      await smtp(wire, [['EHLO client.test', /^250 /m], [`AUTH PLAIN ${token}`, /^235 /], [`MAIL FROM:<${alice.user}>`, /^250 /], [`RCPT TO:<bob@${remote}>`, /^250 /], ['DATA', /^354 /], [message(alice.user, `bob@${remote}`, 'out'), /^250 /], ['QUIT', /^221 /]]);
    }
    await eventually(async () => (await admin.mailStore.listMessages(alice.user, 'INBOX')).length === 2, 'both MX messages filed by the inbound function');
    await eventually(() => mx.to(remote).length === 1, 'the submitted message relayed');

    // The mailbox server, composed as mailbox-server/main.ts composes it, on recording clients.
    const boxClients = recordingClients('mailbox');
    const boxBlobs = new BlobStore(boxClients.s3, world.config.resources.bucket);
    const boxStore = createStore(boxClients, world.config.resources, { onOrphan: (key) => boxBlobs.markOrphan(key) });
    const throttle = new LoginFailureCounter();
    const junkTraining = new ImapJunkTraining(new JunkTrainer(new JunkModelStore(boxClients.doc, world.config.resources.tables), boxBlobs, 'mail.example.test'), boxStore.mailStore, { info() {}, warn() {}, error() {} });
    const imap = await startImapServer({
      store: boxStore.mailStore, directory: boxStore.directory, blobs: boxBlobs, tls, hostname: 'mail.example.test', throttle, junkTraining,
      listeners: [{ name: 'imap', port: 0, host: '127.0.0.1', implicitTls: false }],
      limits: { idlePollMs: 100, idleKeepaliveMs: 60_000 },
    });
    t.after(() => imap.close());
    const pop3 = await startPop3Server({
      directory: boxStore.directory, store: boxStore.mailStore, blobs: boxBlobs, throttle, tls,
      locks: new DynamoMaildropLocks(boxClients.doc, world.config.resources.tables),
      host: '127.0.0.1', ports: { plain: 0, tls: null }, hostname: 'mail.example.test',
    });
    t.after(() => pop3.close());

    const c = await RawImap.connect(imap.ports.imap!);
    t.after(() => c.close());
    const ok = async (command: string) => {
      const lines = await c.command(command);
      assert.match(lines.at(-1) ?? '', /^\S+ OK/, `${command}: ${lines.join(' | ')}`);
      return lines;
    };
    await c.line();
    await c.login(alice.user, alice.password);
    // Sent, Drafts, Trash... exist from account creation (RFC 6154 special-use); these are the user's.
    for (const name of ['Later', 'Projects']) await ok(`CREATE ${name}`);
    await ok('SUBSCRIBE Sent');
    await ok('LIST "" "*"');
    await ok('STATUS INBOX (MESSAGES UIDNEXT UNSEEN)');
    // RFC 3501 §6.3.11 APPEND (a Sent copy), with a synchronising literal.
    const appended = Buffer.from(`From: <${alice.user}>\r\nSubject: sent copy\r\n\r\nHi.\r\n`);
    c.write(`a1 APPEND Sent (\\Seen) {${appended.length}}\r\n`);
    assert.match((await c.line()) ?? '', /^\+/);
    c.write(Buffer.concat([appended, Buffer.from('\r\n')]));
    assert.match((await c.until('a1')).at(-1) ?? '', /^a1 OK/);
    await ok('SELECT INBOX');
    await ok('FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[])');
    await ok('FETCH 1 (BODY[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    await ok('SEARCH TEXT Hello');
    await ok('STORE 1 +FLAGS (\\Flagged)');
    await ok('COPY 1 Trash'); // RFC 3501 §6.4.7
    await ok('MOVE 2 Later'); // RFC 6851 §3.1
    // Junk training: $Junk teaches spam (the first model), $NotJunk teaches ham instead (a new body
    // replaces the first), taking the keyword off forgets it. MOVE into Junk calls the same.
    await ok('STORE 1 +FLAGS ($Junk)');
    await junkTraining.settled();
    await ok('STORE 1 +FLAGS ($NotJunk)');
    await junkTraining.settled();
    await ok('STORE 1 -FLAGS ($NotJunk)');
    await junkTraining.settled();
    await ok('STORE 1 +FLAGS (\\Deleted)');
    await ok('EXPUNGE'); // RFC 3501 §6.4.3: the INBOX copy goes; Trash still holds the blob
    // IDLE sees a delivery (the watcher's GetItem), then DONE.
    c.write('i IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    await admin.mailStore.fileMessage({ account: alice.user, mailbox: 'INBOX', deliveryKey: hex(), blobKey: (await admin.mailStore.listMessages(alice.user, 'Later'))[0]!.blobKey, size: 10, internalDate: new Date().toISOString(), flags: [], index: indexMessage(appended) });
    assert.match((await c.line(5000)) ?? '', /^\* \d+ EXISTS$/);
    c.write('DONE\r\n');
    assert.match((await c.until('i')).at(-1) ?? '', /^i OK/);
    await ok('UNSELECT');
    await ok('RENAME INBOX "Old Inbox"'); // RFC 3501 §6.3.5: INBOX's messages move, INBOX stays
    await ok('SELECT Trash');
    await ok('STORE 1:* +FLAGS (\\Deleted)');
    await ok('EXPUNGE'); // the last holders go: blobs are tagged orphan
    await ok('CLOSE');
    await ok('DELETE Later');
    await ok('DELETE Projects');
    // Over quota: APPEND into the full account is refused (RFC 9208 §4.3 OVERQUOTA, or NO).
    const f = await RawImap.connect(imap.ports.imap!);
    t.after(() => f.close());
    await f.line();
    await f.login(`full@${local}`, 'pw-full-1234');
    f.write(`q1 APPEND INBOX {${appended.length}+}\r\n`);
    f.write(Buffer.concat([appended, Buffer.from('\r\n')]));
    assert.match((await f.until('q1')).at(-1) ?? '', /^q1 NO/);
    await ok('LOGOUT').catch(() => undefined);

    // POP3 (RFC 1939): the new INBOX after the rename, RETR, TOP, DELE, QUIT (the UPDATE state).
    await admin.mailStore.fileMessage({ account: alice.user, mailbox: 'INBOX', deliveryKey: hex(), blobKey: (await admin.mailStore.listMessages(alice.user, 'Old Inbox'))[0]!.blobKey, size: 10, internalDate: new Date().toISOString(), flags: [], index: indexMessage(appended) });
    const p = await RawPop3.connect(pop3.ports.plain!);
    t.after(() => p.socket.destroy());
    assert.match(await p.line(), /^\+OK/);
    assert.match(await p.command(`USER ${alice.user}`), /^\+OK/);
    assert.match(await p.command(`PASS ${alice.password}`), /^\+OK/);
    assert.match(await p.command('STAT'), /^\+OK [1-9]/);
    assert.match(await p.command('UIDL'), /^\+OK/);
    await p.multi();
    assert.match(await p.command('RETR 1'), /^\+OK/);
    await p.multi();
    assert.match(await p.command('TOP 1 0'), /^\+OK/);
    await p.multi();
    assert.match(await p.command('DELE 1'), /^\+OK/);
    assert.match(await p.command('QUIT'), /^\+OK/);
    await p.closed();
    await drained();
  });

  it('sends through the SES API as the stack\'s identities: submitted mail, a refusal (a local DSN), an SRS forward and its DSN to a remote sender', async () => {
    const ses = recordingSes();
    const admin = createStore(world.clients, world.config.resources);
    for (const d of SES_IDENTITY_DOMAINS) await admin.directory.addDomain(d);
    await admin.directory.addAccount('alice@example.com', 'pw-alice-123');
    await admin.directory.addAccount('bob@example.org', 'pw-bob-12345');
    const remote = `r${randomBytes(4).toString('hex')}.test`;
    const outside = `o${randomBytes(4).toString('hex')}.test`;
    await admin.directory.addAlias('fwd@example.org', [`gone@${remote}`]);
    ses.answer = (r) => (r.destinations.some((d) => d.startsWith('refused@') || d.startsWith('gone@')) ? SES_ERRORS.messageRejected('Message contains a virus') : { accept: true });
    // The relay as functions/relay/handler.ts composes it for `ses-api`, named as the stack names itself.
    const deps = relayRig({ ...world, clients: recordingClients('relay') }, mx, { config: { smarthost: { kind: 'ses-api', region: 'us-east-1' } } }).relayDeps;
    const [mxRelay, plainInbound] = [relayBatch, inboundBatch];
    relayBatch = createRelayBatchProcessor({ ...deps, hostname: 'mail.example.com', ses: ses.client });
    inboundBatch = inboundWithSrs;
    try {
      const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
      const edge = new QueueSender(world.clients.sqs);
      const send = async (from: string, to: string, authenticatedUser: string | null) => {
        const event = await storedEvent(blobs, outgoingMessage(from, to), [to], { mailFrom: from, authenticatedUser, receivedAt: new Date().toISOString() });
        await edge.sendInbound(world.config.resources.queues.inbound, event);
      };
      await send('alice@example.com', `bob@${remote}`, 'alice@example.com');
      await send('bob@example.org', `refused@${remote}`, 'bob@example.org');
      // Internet mail to an alias forwarding out: SES sees our SRS sender (example.org's identity);
      // SES refuses it, and the DSN, to the SRS address, goes back out to the sender through SES.
      await send(`someone@${outside}`, 'fwd@example.org', null);
      await eventually(async () => (await admin.mailStore.listMessages('bob@example.org', 'INBOX')).length === 1, 'the DSN for the refused message in bob\'s INBOX');
      await eventually(() => ses.requests.some((r) => r.destinations.includes(`someone@${outside}`)), 'the DSN for the forward sent to the original sender');
      await drained();
      const senders = ses.requests.map((r) => r.fromEmailAddress ?? '(From: header)');
      assert.ok(senders.includes('alice@example.com') && senders.includes('bob@example.org'));
      assert.ok(senders.some((f) => /^SRS0=[^=]+=[A-Z2-7]{2}=o[0-9a-f]+\.test=someone@example\.org$/.test(f)), `the forward's sender is ours: ${senders.join(', ')}`);
      assert.ok(senders.includes('(From: header)'), 'the DSN has the null sender: SES takes MAILER-DAEMON@mail.example.com from its From: header');
    } finally {
      relayBatch = mxRelay;
      inboundBatch = plainInbound;
    }
  });

  it('polls the TLS secret from both services, and exports the ACM certificate into it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mail-grants-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const now = Date.now();
    const pair = createSelfSignedCertificate('mail.example.com', ['mail.example.com'], new Date(now - 3_600_000), new Date(now + 90 * 86_400_000));
    // The export function, as functions/certificate-export/handler.ts composes it.
    const secrets = recordingSecrets('certificateExport');
    secrets.create(TLS_SECRET, 'random');
    const acm = new AcmStub(() => ({ certificate: pair.cert, key: pair.key }));
    const result = await exportCertificateToSecret({ acm: acm.client, secrets: secrets.client, certificateArn: TLS_CERTIFICATE, secretId: TLS_SECRET, hostname: 'mail.example.com' });
    // ACM's requests as they went over the wire.
    for (const request of acm.requests) {
      const action = request.target === 'CertificateManager.ExportCertificate' ? 'acm:ExportCertificate' : `acm:${request.target}`;
      calls.certificateExport.push({ action, resource: request.certificateArn === TLS_CERTIFICATE ? 'certificate tls' : `other certificate ${request.certificateArn}` });
    }
    assert.equal(result.outcome, 'written');
    // Each service's poller, as smtp-edge/main.ts and mailbox-server/main.ts compose it.
    for (const service of ['edge', 'mailbox'] as const) {
      const polled = recordingSecrets(service);
      polled.create(TLS_SECRET, secrets.current(TLS_SECRET)!.value);
      const keyFile = join(dir, `${service}-key.pem`);
      const certFile = join(dir, `${service}-chain.pem`);
      writeFileSync(keyFile, 'old');
      writeFileSync(certFile, 'old');
      const poller = new TlsSecretPoller({ secrets: polled.client, secretId: TLS_SECRET, keyFile, certFile, intervalMs: 3_600_000, log: silentLog });
      assert.equal(await poller.poll(), 'written');
    }
  });

  const { json, stack } = fullStack();
  const statements = policyStatements(json);
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;
  /** Logical id -> the name this test records for it. */
  const resourceNames = new Map<string, string>([
    [logicalId(stack.storage.bucket), 'bucket'],
    ...Object.entries(stack.storage.tables).map(([name, t]) => [logicalId(t), `table ${name as TableName}`] as [string, string]),
    ...Object.entries(stack.queues.queues).map(([name, q]) => [logicalId(q.queue), `queue ${name as QueueName}`] as [string, string]),
    ...stack.sesIdentities.identities.map(({ domain, identity }) => [logicalId(identity), `identity ${domain}`] as [string, string]),
    [logicalId(stack.tlsCertificate.secret as never), 'secret tls'],
    [logicalId(stack.tlsCertificate.managed!.certificate), 'certificate tls'],
  ]);
  const roleOf = (r: Role) => (r === 'edge' || r === 'mailbox' ? stack[r]!.taskDefinition.taskRole
    : r === 'certificateExport' ? stack.tlsCertificate.managed!.exportFunction.role! : stack[r]!.function.role!);
  /** What a role's identity policies allow: `action resource`, and the dynamodb:LeadingKeys patterns a condition limits it to. */
  const grantsOf = (r: Role): Grant[] => {
    const role = logicalId(roleOf(r));
    const out: Grant[] = [];
    for (const { roles, statement } of statements) {
      if (!roles.includes(role) || statement.Effect !== 'Allow') continue;
      const leadingKeys = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;
      for (const resource of asArray(statement.Resource)) {
        const text = JSON.stringify(resource);
        const id = [...resourceNames.keys()].find((k) => text.includes(`"${k}"`));
        if (!id) continue; // the smarthost secret: checked in stack.test.ts
        let name = resourceNames.get(id)!;
        if (name === 'bucket' && !text.includes(`/${BUCKET.rawPrefix}*`)) name = 'bucket (not limited to raw/)';
        if (name.startsWith('table') && typeof resource === 'object' && 'Fn::Join' in resource) name += ' index *';
        for (const action of asArray(statement.Action as string | string[])) out.push({ grant: `${action} ${name}`, leadingKeys });
      }
    }
    return out;
  };
  /** IAM's answer for one recorded request: an index request needs the index ARN; a LeadingKeys condition must match the key. */
  const allowedBy = (grants: Grant[], c: Call): Grant | undefined => grants.find((g) => {
    const wanted = c.resource.replace(/ index \S+$/, ' index *');
    if (g.grant !== `${c.action} ${wanted}`) return false;
    if (!g.leadingKeys) return true;
    return c.partitionKey !== undefined && g.leadingKeys.some((pattern) => new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.?+^$()[\]{}|\\]/g, '\\$&')).join('.*')}$`).test(c.partitionKey!));
  });

  for (const r of ['inbound', 'relay', 'edge', 'mailbox', 'certificateExport'] as const) {
    const what = r === 'edge' ? 'the SMTP edge task' : r === 'mailbox' ? 'the mailbox server task' : r === 'certificateExport' ? 'the certificate export function' : `the ${r} function`;
    it(`allows ${what} every request it made`, () => {
      assert.ok(calls[r].length > 0, 'the run recorded requests');
      const grants = grantsOf(r);
      const denied = [...new Set(calls[r].filter((c) => !allowedBy(grants, c)).map((c) => `${c.action} ${c.resource}${c.partitionKey ? ` key ${c.partitionKey}` : ''}`))];
      assert.deepEqual(denied.sort(), [], `${r} made requests its role does not allow`);
    });

    it(`grants ${what} nothing it did not use`, () => {
      const grants = grantsOf(r);
      const used = new Set(calls[r].map((c) => allowedBy(grants, c)?.grant).filter((g) => g !== undefined));
      const unused = [...new Set(grants.map((g) => g.grant))].filter((g) => !used.has(g) && !(g in NEEDED_OFF_THIS_RUN[r]));
      assert.deepEqual(unused.sort(), [], `${r} holds grants its code does not use`);
    });
  }
});
