// The functions' IAM grants against what their code really calls: the inbound and relay batch
// processors run on the emulators (local and remote delivery, a retry, a local and a remote DSN,
// orphan tagging), every AWS request is recorded per function, and each one must be allowed by
// that function's role in the synthesized template; each grant must in turn be used (or be listed
// below with the path that needs it).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SQSEvent } from 'aws-lambda';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '../../core/aws.ts';
import { BlobStore } from '../../core/blobs.ts';
import type { InboundEvent } from '../../core/contracts.ts';
import { QueueSender } from '../../core/queues.ts';
import { BUCKET, type QueueName, type TableName } from '../../core/resources.ts';
import { createStore } from '../../core/store/index.ts';
import { createBatchProcessor } from '../../functions/inbound/process-batch.ts';
import { createRelayBatchProcessor } from '../../functions/relay/process-batch.ts';
import { startSqsEventSource, type SqsEventSource } from '../../local/runner.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { storedEvent } from '../inbound/helpers.ts';
import { eventually, FakeMx, outgoingMessage, relayRig } from '../relay/helpers.ts';
import { asArray, fullStack, policyStatements } from './synth.ts';

type Fn = 'inbound' | 'relay';
/** One AWS request as IAM sees it: `dynamodb:GetItem` on table `deliveries`. */
interface Call { readonly action: string; readonly resource: string }

/**
 * Grants no run here can use, each with the path that needs it. Anything else granted and unused
 * fails the test: a grant is added because code calls it, and goes when the code stops.
 */
const NEEDED_OFF_THIS_RUN: Record<Fn, Record<string, string>> = {
  inbound: {
    'dynamodb:GetItem table messages': 'fileMessage: the UID was taken (a writer whose put response was lost, a concurrent writer) or a redelivery finds candidates but no recorded uid: the holder is read',
    'dynamodb:UpdateItem table messages': 'fileMessage: a concurrent writer of the same delivery recorded first, so this writer\'s message becomes a tombstone',
    ...eventSourceGrants('inbound'),
  },
  relay: {
    's3:AbortMultipartUpload bucket': 'a DSN quoting an original over 5 MiB is a multipart upload (lib-storage), aborted when it fails',
    ...eventSourceGrants('outbound'),
  },
};

/** What CDK's SqsEventSource grants the role: Lambda's poller reads the queue with the function's role. */
function eventSourceGrants(queue: QueueName): Record<string, string> {
  const actions = ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes', 'GetQueueUrl'];
  return Object.fromEntries(actions.map((a) => [`sqs:${a} queue ${queue}`, 'the event source mapping polls the queue with the function\'s role']));
}

const S3_ACTIONS: Record<string, string> = {
  PutObject: 's3:PutObject', CreateMultipartUpload: 's3:PutObject', UploadPart: 's3:PutObject', CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload', GetObject: 's3:GetObject', PutObjectTagging: 's3:PutObjectTagging',
};

let world: TestWorld;
let mx: FakeMx;
let sources: SqsEventSource[] = [];
const calls: Record<Fn, Call[]> = { inbound: [], relay: [] };

/** Clients whose every request is recorded as `fn`'s, with the resource named by its role in the system. */
function recordingClients(fn: Fn): AwsClients {
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
    return names.map((n) => ({ action: `dynamodb:${op}`, resource: `table ${tableOf(n)}${input.IndexName ? ` index ${input.IndexName}` : ''}` }));
  }));
  add(clients.s3, record('s3', (op, input) => [{
    action: S3_ACTIONS[op] ?? `s3:${op}`,
    resource: input.Bucket === bucket && String(input.Key).startsWith(BUCKET.rawPrefix) ? 'bucket' : `other object ${input.Bucket}/${input.Key}`,
  }]));
  add(clients.sqs, record('sqs', (op, input) => [{ action: `sqs:${op}`, resource: `queue ${queueOf(input.QueueUrl)}` }]));
  return clients;
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
  const inboundDeps = relayRig({ ...world, clients: recordingClients('inbound') }, mx).inboundDeps;
  const relayDeps = relayRig({ ...world, clients: recordingClients('relay') }, mx).relayDeps;
  const relayBatch = createRelayBatchProcessor(relayDeps);
  // The event source mapping's receive/delete are Lambda's, not the function's: unrecorded clients.
  const common = { sqs: world.clients.sqs, region: 'us-east-1', maxBatchingWindowSeconds: 0, waitTimeSeconds: 1, concurrency: 1, timeoutSeconds: 60 } as const;
  sources = [
    startSqsEventSource({ ...common, queueUrl: world.config.resources.queues.inbound, queueArn: 'arn:aws:sqs:us-east-1:000000000000:inbound', functionName: 'inbound', handler: createBatchProcessor(inboundDeps), batchSize: 10 }),
    startSqsEventSource({ ...common, queueUrl: world.config.resources.queues.outbound, queueArn: 'arn:aws:sqs:us-east-1:000000000000:outbound', functionName: 'relay', handler: (e: SQSEvent) => relayBatch(e, 60_000), batchSize: 5 }),
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
    await drained();
    // The edge redelivers the forwarded message (at-least-once): inbound finds its delivery done
    // and gives back the reference it took, the last one now, so it tags the blob itself.
    await edge.sendInbound(world.config.resources.queues.inbound, forwarded);
    await drained();
    assert.equal(mx.to(`${remote}`).filter((m) => m.rcptTo.some((r) => r.startsWith('gone@'))).length, 0);
    assert.deepEqual((await admin.mailStore.listMessages(`carol@${local}`, 'INBOX')).length, 1);
  });

  const { json, stack } = fullStack();
  const statements = policyStatements(json);
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;
  /** Logical id -> the name this test records for it. */
  const resourceNames = new Map<string, string>([
    [logicalId(stack.storage.bucket), 'bucket'],
    ...Object.entries(stack.storage.tables).map(([name, t]) => [logicalId(t), `table ${name as TableName}`] as [string, string]),
    ...Object.entries(stack.queues.queues).map(([name, q]) => [logicalId(q.queue), `queue ${name as QueueName}`] as [string, string]),
  ]);
  /** Each (action, resource) a role's identity policies allow, resources named as the recorder names them. */
  const grantsOf = (fn: Fn): Set<string> => {
    const role = logicalId(stack[fn]!.function.role!);
    const out = new Set<string>();
    for (const { roles, statement } of statements) {
      if (!roles.includes(role) || statement.Effect !== 'Allow') continue;
      for (const resource of asArray(statement.Resource)) {
        const text = JSON.stringify(resource);
        const id = [...resourceNames.keys()].find((k) => text.includes(`"${k}"`));
        if (!id) continue; // the smarthost secret: checked in stack.test.ts
        let name = resourceNames.get(id)!;
        if (name === 'bucket' && !text.includes(`/${BUCKET.rawPrefix}*`)) name = 'bucket (not limited to raw/)';
        if (name.startsWith('table') && typeof resource === 'object' && 'Fn::Join' in resource) name += ' index *';
        for (const action of asArray(statement.Action as string | string[])) out.add(`${action} ${name}`);
      }
    }
    return out;
  };

  for (const fn of ['inbound', 'relay'] as const) {
    it(`allows the ${fn} function every request it made`, () => {
      const used = new Set(calls[fn].map((c) => `${c.action} ${c.resource}`));
      assert.ok(used.size > 0, 'the run recorded requests');
      const granted = grantsOf(fn);
      assert.deepEqual([...used].filter((u) => !granted.has(u)).sort(), [], `${fn} made requests its role does not allow`);
    });

    it(`grants the ${fn} function nothing it did not use`, () => {
      const used = new Set(calls[fn].map((c) => `${c.action} ${c.resource}`));
      const unused = [...grantsOf(fn)].filter((g) => !used.has(g) && !(g in NEEDED_OFF_THIS_RUN[fn]));
      assert.deepEqual(unused.sort(), [], `${fn} holds grants its code does not use`);
    });
  }
});
