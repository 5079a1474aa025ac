// CDK assertions on what matters for a mail system: ports, event sources, dead letters,
// encryption and TLS-only policies, least privilege, DNS, alarms and the outputs mailctl reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AUTHENTICATION_METRICS } from '../../core/authentication/metrics.ts';
import { CERTIFICATE_EXPIRY_LOG } from '../../core/certificate-expiry.ts';
import { REPO_ROOT } from '../../infra/app.ts';
import { defaultPop3Limits } from '../../mailbox-server/pop3/server.ts';
import { DEFAULT_LIMITS } from '../../smtp-edge/server.ts';
import { coreConfigToEnv } from '../../core/config.ts';
import { FUNCTIONS, METRICS, QUEUES, TABLES, BUCKET, physicalQueueName, physicalTableName, type TableName } from '../../core/resources.ts';
import { relayMetrics } from '../../functions/relay/telemetry.ts';
import { outputKeyForEnv } from '../../core/config.ts';
import { EDGE_PORTS, MAILBOX_ENV, MAILBOX_PORTS } from '../../infra/service-contract.ts';
import { ALL_PRESENT, asArray, fullStack, policyStatements, resourcesOfType, synth, TEST_CONTEXT } from './synth.ts';

const { template, json, stack } = fullStack();
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;

describe('load balancer', () => {
  const ports = [...Object.values(EDGE_PORTS), ...Object.values(MAILBOX_PORTS)];

  it('has one internet-facing NLB with a TCP listener on each mail port and nothing else', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network', Scheme: 'internet-facing' });
    const listeners = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l);
    assert.deepEqual(listeners.map((l) => l.Port).sort((a, b) => a - b), ports.map((p) => p.listener).sort((a, b) => a - b));
    for (const l of listeners) assert.equal(l.Protocol, 'TCP');
  });

  it('forwards each public port to the container port, preserving the client IP and draining', () => {
    for (const p of ports) {
      const [, listener] = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener').find(([, l]) => l.Port === p.listener)!;
      const tgId = listener.DefaultActions[0].TargetGroupArn.Ref as string;
      const tg = json.Resources[tgId]!.Properties;
      assert.equal(tg.Port, p.container, `${p.listener} -> ${p.container}`);
      assert.equal(tg.TargetType, 'ip');
      assert.equal(tg.HealthCheckProtocol, 'TCP');
      const attrs = Object.fromEntries(tg.TargetGroupAttributes.map((a: { Key: string; Value: string }) => [a.Key, a.Value]));
      assert.equal(attrs['preserve_client_ip.enabled'], 'true');
      // The task ends open sessions at SIGTERM with BYE / 421 (test/infra/rolling-deploy.test.ts).
      assert.equal(attrs['deregistration_delay.connection_termination.enabled'], 'false');
      assert.ok(Number(attrs['deregistration_delay.timeout_seconds']) >= 60);
    }
  });

  it('keeps silent IMAP/POP3 flows open past the 30-minute autologout, and the IDLE keepalive well inside that', () => {
    for (const p of Object.values(MAILBOX_PORTS)) {
      const [, listener] = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener').find(([, l]) => l.Port === p.listener)!;
      const attrs = Object.fromEntries((listener.ListenerAttributes ?? []).map((a: { Key: string; Value: string }) => [a.Key, Number(a.Value)]));
      const timeout = attrs['tcp.idle_timeout.seconds'];
      assert.ok(timeout !== undefined && timeout >= 1800 && timeout <= 6000, `${p.listener}: tcp.idle_timeout.seconds ${timeout} in 1800..6000`);
      const keepalive = Number(containerEnv(stack.mailbox!.taskDefinition)[MAILBOX_ENV.idleKeepaliveSeconds]);
      assert.ok(keepalive > 0 && keepalive * 2 <= timeout, `keepalive ${keepalive} s is well below ${timeout} s`);
    }
  });

  it('never drops a flow the service behind it still holds open (listener idle timeout above the service\'s own)', () => {
    const NLB_DEFAULT_IDLE_SECONDS = 350;
    // The servers' own inactivity limits: SMTP (RFC 5321 §4.5.3.2.7), POP3 (RFC 1939 §3), IMAP
    // autologout (RFC 3501 §5.4: at least 30 minutes; the server's default is exactly that).
    const serviceIdleSeconds: Record<number, number> = {
      25: DEFAULT_LIMITS.idleTimeoutMs / 1000, 587: DEFAULT_LIMITS.idleTimeoutMs / 1000, 465: DEFAULT_LIMITS.idleTimeoutMs / 1000,
      110: defaultPop3Limits.idleTimeoutMs / 1000, 995: defaultPop3Limits.idleTimeoutMs / 1000,
      143: 30 * 60, 993: 30 * 60,
    };
    for (const [, l] of resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener')) {
      const attrs = Object.fromEntries((l.ListenerAttributes ?? []).map((a: { Key: string; Value: string }) => [a.Key, Number(a.Value)]));
      const timeout = attrs['tcp.idle_timeout.seconds'] ?? NLB_DEFAULT_IDLE_SECONDS;
      assert.ok(serviceIdleSeconds[l.Port] !== undefined, `listener ${l.Port} is known`);
      assert.ok(timeout > serviceIdleSeconds[l.Port]!, `listener ${l.Port}: ${timeout} s must exceed the service's ${serviceIdleSeconds[l.Port]} s, so the service, not the NLB, ends idle sessions`);
    }
  });

  it('opens exactly the mail ports to the internet, and the tasks only to the load balancer', () => {
    const lbSg = logicalId(stack.loadBalancerSecurityGroup);
    const ingress = json.Resources[lbSg]!.Properties.SecurityGroupIngress as { FromPort: number; ToPort: number; CidrIp: string }[];
    assert.deepEqual(ingress.map((r) => r.FromPort).sort((a, b) => a - b), ports.map((p) => p.listener).sort((a, b) => a - b));
    for (const r of ingress) assert.equal(r.FromPort, r.ToPort);
    for (const service of [stack.edge!, stack.mailbox!]) {
      const sg = json.Resources[logicalId(service.securityGroup)]!.Properties;
      assert.equal(sg.SecurityGroupIngress, undefined, 'no CIDR ingress on task security groups');
    }
    const taskIngress = resourcesOfType(json, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r);
    assert.equal(taskIngress.length, ports.length);
    for (const r of taskIngress) assert.deepEqual(r.SourceSecurityGroupId, { 'Fn::GetAtt': [lbSg, 'GroupId'] });
  });
});

describe('containers', () => {
  it('run arm64 Fargate tasks as a non-root user with a read-only root file system', () => {
    const tasks = resourcesOfType(json, 'AWS::ECS::TaskDefinition').map(([, t]) => t);
    assert.equal(tasks.length, 2);
    for (const t of tasks) {
      assert.deepEqual(t.RuntimePlatform, { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
      assert.deepEqual(t.RequiresCompatibilities, ['FARGATE']);
      const [c] = t.ContainerDefinitions;
      assert.equal(c.User, 'node');
      assert.equal(c.ReadonlyRootFilesystem, true);
      // The edge also gets the SRS key (it verifies bounces to forwards' SRS senders); the mailbox server does not.
      const isEdge = c.Environment.some((e: { Name: string }) => e.Name === 'SMTP_HOST');
      assert.deepEqual(c.Secrets.map((s: { Name: string }) => s.Name).sort(), isEdge ? ['MAIL_SRS_SECRET', 'TLS_CERT_PEM', 'TLS_KEY_PEM'] : ['TLS_CERT_PEM', 'TLS_KEY_PEM']);
      for (const secret of c.Secrets) if (secret.Name === 'MAIL_SRS_SECRET') assert.ok(JSON.stringify(secret.ValueFrom).includes(`"${logicalId(stack.srsSecret)}"`), 'the stack\'s own SRS secret');
      assert.ok(!c.Environment.some((e: { Name: string }) => e.Name === 'MAIL_SRS_SECRET'), 'never in the plain environment');
      const env = Object.fromEntries(c.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
      for (const name of Object.keys(sampleCoreEnv())) assert.ok(name in env, `${name} is set`);
    }
  });

  it('tell each service its container ports', () => {
    const edge = containerEnv(stack.edge!.taskDefinition);
    for (const p of Object.values(EDGE_PORTS)) assert.equal(edge[p.env], String(p.container));
    assert.equal(edge.SMTP_HOST, '0.0.0.0');
    const mailbox = containerEnv(stack.mailbox!.taskDefinition);
    for (const p of Object.values(MAILBOX_PORTS)) assert.equal(mailbox[p.env], String(p.container));
  });

  it('run two tasks per service by default, over two Availability Zones', () => {
    const services = resourcesOfType(json, 'AWS::ECS::Service').map(([, s]) => s);
    assert.equal(services.length, 2);
    for (const s of services) {
      assert.ok(s.DesiredCount >= 2, `desired ${s.DesiredCount}`);
      assert.equal(s.AvailabilityZoneRebalancing, 'ENABLED');
      const zones = new Set(s.NetworkConfiguration.AwsvpcConfiguration.Subnets.map((ref: { Ref: string }) => JSON.stringify(json.Resources[ref.Ref]!.Properties.AvailabilityZone)));
      assert.equal(zones.size, 2, 'subnets in two Availability Zones');
    }
    for (const [, t] of resourcesOfType(json, 'AWS::ApplicationAutoScaling::ScalableTarget')) assert.ok(t.MinCapacity >= 2, `scaling never goes below two tasks: ${t.MinCapacity}`);
  });

  it('run in public subnets without a NAT gateway, with rollback and auto scaling', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    template.allResourcesProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'ENABLED' } },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 2);
    const policies = resourcesOfType(json, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => p.PolicyType);
    assert.equal(policies.filter((t) => t === 'TargetTrackingScaling').length, 2, 'CPU target tracking on both services');
    assert.ok(policies.includes('StepScaling'), 'connection-count step scaling on the mailbox server');
  });
});

function containerEnv(taskDefinition: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  const t = json.Resources[logicalId(taskDefinition)]!.Properties;
  return Object.fromEntries(t.ContainerDefinitions[0].Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
}

function sampleCoreEnv(): Record<string, string> {
  const names = (keys: string[], f: (k: string) => string) => Object.fromEntries(keys.map((k) => [k, f(k)]));
  return coreConfigToEnv({
    aws: { region: 'r', endpoints: { s3: undefined, sqs: undefined, dynamodb: undefined } },
    resources: {
      bucket: 'b',
      tables: names(Object.keys(TABLES), (k) => k) as never,
      queues: names(Object.keys(QUEUES), (k) => `https://q/${k}`) as never,
      deadLetterQueues: names(Object.keys(QUEUES), (k) => `https://q/${k}-dlq`) as never,
    },
    mail: { hostname: 'h.example', maxMessageBytes: 1, maxRecipients: 1 },
  });
}

describe('functions', () => {
  // The queue consumers (the certificate export function and the deploy trigger's provider are checked in tls-certificate.test.ts).
  const functions = () => resourcesOfType(json, 'AWS::Lambda::Function').filter(([id]) => [stack.inbound!, stack.relay!].some((c) => logicalId(c.function) === id));

  it('run Node 24 on arm64 with the core environment and Powertools settings', () => {
    const fns = functions();
    assert.equal(fns.length, 2);
    for (const [, f] of fns) {
      assert.equal(f.Runtime, 'nodejs24.x');
      assert.deepEqual(f.Architectures, ['arm64']);
      const env = f.Environment.Variables;
      for (const name of Object.keys(sampleCoreEnv())) assert.ok(name in env, `${name} is set`);
      assert.match(env.POWERTOOLS_SERVICE_NAME, /^mail-(inbound|relay)$/);
      assert.equal(env.MAIL_HOSTNAME, 'mail.example.com');
    }
  });

  it('consume their queue in batches with ReportBatchItemFailures', () => {
    const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m);
    assert.equal(mappings.length, 2);
    for (const [queueName, fnName] of [['inbound', 'inbound'], ['outbound', 'relay']] as const) {
      const queueId = logicalId(stack.queues.queues[queueName].queue);
      const m = mappings.find((x) => x.EventSourceArn['Fn::GetAtt'][0] === queueId);
      assert.ok(m, `${queueName} has a consumer`);
      assert.deepEqual(m.FunctionResponseTypes, ['ReportBatchItemFailures']);
      assert.equal(m.BatchSize, FUNCTIONS[fnName].batchSize);
      assert.equal(m.FunctionName.Ref, logicalId((fnName === 'inbound' ? stack.inbound : stack.relay)!.function));
    }
  });

  it('time out well inside their queue visibility timeout (AWS: at least 6x)', () => {
    for (const [queueName, consumer] of [['inbound', stack.inbound!], ['outbound', stack.relay!]] as const) {
      const q = json.Resources[logicalId(stack.queues.queues[queueName].queue)]!.Properties;
      const f = json.Resources[logicalId(consumer.function)]!.Properties;
      assert.ok(q.VisibilityTimeout >= 6 * f.Timeout, `${queueName}: ${q.VisibilityTimeout} >= 6 x ${f.Timeout}`);
    }
  });
});

describe('queues', () => {
  it('redrive to their own dead-letter queue after maxReceiveCount', () => {
    for (const def of Object.values(QUEUES)) {
      const pair = stack.queues.queues[def.id];
      const q = json.Resources[logicalId(pair.queue)]!.Properties;
      assert.equal(q.QueueName, physicalQueueName('mail', def.id));
      assert.deepEqual(q.RedrivePolicy, { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(pair.deadLetterQueue), 'Arn'] }, maxReceiveCount: def.maxReceiveCount });
      const dlq = json.Resources[logicalId(pair.deadLetterQueue)]!.Properties;
      assert.equal(dlq.QueueName, physicalQueueName('mail', def.id, true));
      assert.equal(dlq.MessageRetentionPeriod, def.dlqRetentionSeconds);
    }
  });

  it('are encrypted and refuse requests without TLS', () => {
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    assert.equal(queues.length, 4);
    for (const [id, q] of queues) {
      assert.equal(q.SqsManagedSseEnabled, true, id);
      const policy = resourcesOfType(json, 'AWS::SQS::QueuePolicy').find(([, p]) => p.Queues.some((r: { Ref: string }) => r.Ref === id));
      assert.ok(policy, `${id} has a queue policy`);
      assert.ok(denyWithoutTls(policy[1].PolicyDocument.Statement), `${id} denies aws:SecureTransport=false`);
    }
  });
});

function denyWithoutTls(statements: any[]): boolean {
  return statements.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false' && asArray(s.Principal?.AWS ?? s.Principal).includes('*'));
}

describe('storage', () => {
  it('keeps raw mail in an encrypted, private, TLS-only, access-logged bucket', () => {
    const raw = json.Resources[logicalId(stack.storage.bucket)]!.Properties;
    assert.equal(raw.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
    assert.deepEqual(raw.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    assert.deepEqual(raw.LoggingConfiguration.DestinationBucketName, { Ref: logicalId(stack.storage.accessLogs) });
    for (const [id, bucket] of resourcesOfType(json, 'AWS::S3::Bucket')) {
      assert.ok(bucket.PublicAccessBlockConfiguration?.BlockPublicPolicy, `${id} blocks public access`);
      const policy = resourcesOfType(json, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket.Ref === id);
      assert.ok(policy && denyWithoutTls(policy[1].PolicyDocument.Statement), `${id} denies requests without TLS`);
    }
  });

  it('expires tagged orphans after the grace period and aborts incomplete uploads', () => {
    const rules = json.Resources[logicalId(stack.storage.bucket)]!.Properties.LifecycleConfiguration.Rules as any[];
    const orphan = rules.find((r) => r.TagFilters);
    assert.deepEqual(orphan.TagFilters, [{ Key: BUCKET.orphanTag.key, Value: BUCKET.orphanTag.value }]);
    assert.equal(orphan.ExpirationInDays, BUCKET.orphanGraceDays);
    assert.equal(orphan.Prefix, BUCKET.rawPrefix);
    assert.ok(rules.some((r) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation === 1));
    assert.equal(rules.filter((r) => r.ExpirationInDays !== undefined && !r.TagFilters).length, 0, 'nothing else expires mail');
  });

  it('creates every table of core/resources.ts on demand, with PITR, deletion protection, TTL and indexes', () => {
    const tables = resourcesOfType(json, 'AWS::DynamoDB::Table').map(([, t]) => t);
    assert.equal(tables.length, Object.keys(TABLES).length);
    for (const def of Object.values(TABLES)) {
      const t = tables.find((x) => x.TableName === physicalTableName('mail', def.id as TableName));
      assert.ok(t, def.id);
      assert.equal(t.BillingMode, 'PAY_PER_REQUEST');
      assert.equal(t.DeletionProtectionEnabled, true);
      assert.deepEqual(t.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
      assert.equal(t.SSESpecification.SSEEnabled, true);
      assert.deepEqual(t.KeySchema[0], { AttributeName: def.partitionKey.name, KeyType: 'HASH' });
      assert.deepEqual(t.TimeToLiveSpecification, 'ttlAttribute' in def ? { AttributeName: def.ttlAttribute, Enabled: true } : undefined);
      assert.deepEqual((t.GlobalSecondaryIndexes ?? []).map((g: { IndexName: string }) => g.IndexName), def.globalIndexes.map((g) => g.indexName));
    }
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });
});

describe('least privilege', () => {
  const statements = policyStatements(json);
  const allowsOf = (role: { node: { defaultChild?: unknown } }) => statements.filter((s) => s.roles.includes(logicalId(role)) && s.statement.Effect === 'Allow').map((s) => s.statement);
  const actions = (ss: any[]) => ss.flatMap((s) => asArray(s.Action as string | string[]));
  const mentions = (s: any, resource: { node: { defaultChild?: unknown } }) => JSON.stringify(s.Resource).includes(`"${logicalId(resource)}"`);

  it('grants s3:DeleteObject (or any s3 wildcard) to nobody', () => {
    for (const { policy, statement } of statements) {
      if (statement.Effect !== 'Allow') continue;
      for (const a of asArray(statement.Action as string | string[])) {
        assert.ok(!/^s3:(Delete|\*)|^s3:.*\*|^\*$/.test(a), `${policy} allows ${a}`);
      }
    }
    for (const [id, role] of resourcesOfType(json, 'AWS::IAM::Role')) {
      for (const arn of role.ManagedPolicyArns ?? []) assert.match(JSON.stringify(arn), /AWSLambdaBasicExecutionRole/, `${id} has only the basic Lambda logging policy`);
    }
  });

  it('lets the edge put and orphan-tag raw blobs, send to the inbound queue, read the directory, count submissions and read quota usage, nothing else', () => {
    const allowed = allowsOf(stack.edge!.taskDefinition.taskRole);
    assert.deepEqual([...new Set(actions(allowed).map((a) => a.split(':')[0]))].sort(), ['dynamodb', 's3', 'secretsmanager', 'sqs']);
    // Secrets Manager: only reading the TLS secret's new versions (core/tls-secret-poller.ts).
    assert.deepEqual(actions(allowed.filter((s) => actions([s]).some((a) => a.startsWith('secretsmanager:')))), ['secretsmanager:GetSecretValue']);
    // PutObjectTagging: a blob whose inbound event failed to send is tagged orphan (smtp-edge/data.ts markOrphan).
    assert.deepEqual(actions(allowed.filter((s) => actions([s]).some((a) => a.startsWith('s3:')))).sort(), ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectTagging']);
    for (const s of allowed) {
      for (const t of ['messages', 'deliveries', 'blobrefs'] as const) assert.ok(!mentions(s, stack.storage.tables[t]), `edge must not touch ${t}`);
      assert.ok(!mentions(s, stack.queues.queues.outbound.queue), 'edge must not send to outbound');
    }
    // Quota: the usage counter lives in the mailboxes table; the edge may only GetItem there.
    assert.deepEqual(dynamoOn(allowed, 'mailboxes'), ['dynamodb:GetItem']);
    const dynamo = allowed.filter((s) => actions([s]).some((a) => a.startsWith('dynamodb:')) && !mentions(s, stack.storage.tables.mailboxes));
    assert.ok(dynamo.every((s) => mentions(s, stack.storage.tables.directory)));
    const writes = dynamo.filter((s) => actions([s]).some((a) => !/^dynamodb:(Get|BatchGet|Query|ConditionCheck|Describe)/.test(a)));
    // The only write: the hourly submission counters, fenced to their own partition keys.
    assert.equal(writes.length, 1, 'one write statement on the directory');
    assert.deepEqual(actions(writes), ['dynamodb:UpdateItem']);
    assert.deepEqual(writes[0]!.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['sent#*'] } });
    assert.deepEqual(actions(allowed.filter((s) => mentions(s, stack.queues.queues.inbound.queue))).filter((a) => !a.startsWith('sqs:Get')), ['sqs:SendMessage']);
  });

  it('lets the mailbox server read blobs and the mailbox tables, claim deliveries on blob references, never send to a queue', () => {
    const allowed = allowsOf(stack.mailbox!.taskDefinition.taskRole);
    assert.ok(actions(allowed).includes('s3:GetObject'));
    assert.ok(!actions(allowed).some((a) => a.startsWith('sqs:')));
    for (const t of ['mailboxes', 'messages'] as const) assert.ok(allowed.some((s) => mentions(s, stack.storage.tables[t]) && actions([s]).includes('dynamodb:PutItem')), `${t} read/write`);
    // APPEND, COPY, MOVE and RENAME INBOX go through fileMessage, whose delivery claims on the blob's
    // reference item make a retried filing idempotent; the outbound records are none of its business.
    assert.deepEqual(dynamoOn(allowed, 'blobrefs'), ['dynamodb:GetItem', 'dynamodb:UpdateItem'], 'delivery claims and reference counts');
    assert.deepEqual(dynamoOn(allowed, 'deliveries'), [], 'no delivery records');
    // The directory is read-only but for the junk filter's own items (junk training, fenced to `junk#` keys).
    const directoryWrites = allowed.filter((s) => mentions(s, stack.storage.tables.directory) && actions([s]).some((a) => !/^dynamodb:(Get|BatchGet|Query)/.test(a)));
    assert.deepEqual(directoryWrites.map((s) => s.Condition), [{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['junk#*'] } }], 'directory writes: junk items only');
  });

  const dynamoOn = (allowed: any[], t: keyof typeof stack.storage.tables) => actions(allowed.filter((s) => mentions(s, stack.storage.tables[t]) && actions([s]).some((a) => a.startsWith('dynamodb:')))).sort();
  const s3Actions = (allowed: any[]) => actions(allowed).filter((a) => a.startsWith('s3:')).sort();
  const sendsTo = (allowed: any[], q: 'inbound' | 'outbound') => allowed.some((s) => mentions(s, stack.queues.queues[q].queue) && actions([s]).includes('sqs:SendMessage'));

  const relayCommon = (allowed: any[], st: typeof stack = stack) => {
    const on = (t: keyof typeof st.storage.tables) => actions(allowed.filter((s) => mentions(s, st.storage.tables[t]) && actions([s]).some((a) => a.startsWith('dynamodb:')))).sort();
    assert.deepEqual(s3Actions(allowed), ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging']);
    // No mailbox writes: a local DSN is filed by the inbound function, like any other message.
    for (const t of ['mailboxes', 'messages'] as const) assert.deepEqual(on(t), [], `relay must not touch ${t}`);
    assert.deepEqual(on('directory'), ['dynamodb:GetItem']);
    assert.deepEqual(on('deliveries'), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(on('blobrefs'), ['dynamodb:UpdateItem']);
    assert.ok(!JSON.stringify(allowed).includes('/index/'), 'no index access');
  };

  it('lets the relay (SES API) read blobs, put DSN blobs, tag orphans, send to both queues, send raw mail as the stack\'s SES identities only', () => {
    const allowed = allowsOf(stack.relay!.function.role!);
    relayCommon(allowed);
    assert.ok(sendsTo(allowed, 'inbound'), 'DSNs to local senders are filed through the inbound queue');
    assert.ok(sendsTo(allowed, 'outbound'), 'retry copies and remote DSNs');
    const sesStatements = allowed.filter((s) => actions([s]).some((a) => a.startsWith('ses:')));
    assert.deepEqual(actions(sesStatements), ['ses:SendRawEmail'], 'SESv2 SendEmail with raw content is authorised as ses:SendRawEmail; nothing else of SES');
    const identityIds = resourcesOfType(json, 'AWS::SES::EmailIdentity').map(([id]) => id).sort();
    const resources = sesStatements.flatMap((s) => asArray(s.Resource));
    assert.equal(resources.length, identityIds.length, 'one resource per identity, no wildcard');
    for (const r of resources) {
      const text = JSON.stringify(r);
      assert.match(text, /:ses:.*:identity\//, 'an identity ARN');
      assert.ok(identityIds.some((id) => text.includes(`"${id}"`)), `names one of the stack's identities: ${text}`);
    }
    assert.ok(!actions(allowed).some((a) => a.startsWith('secretsmanager:')), 'no secret exists in SES API mode');
    assert.ok(!actions(allowed).some((a) => /^(kms|sns):|\*/.test(a)), 'nothing else');
  });

  it('lets the relay (SMTP smarthost) read only its smarthost secret, and nothing of SES', () => {
    const smtp = synth(ALL_PRESENT, { ...TEST_CONTEXT, 'mail:smarthost': { host: 'email-smtp.us-east-1.amazonaws.com', port: 587, credentialsSecret: 'mail/smarthost' } });
    const role = smtp.stack.resolve(smtp.stack.getLogicalId(smtp.stack.relay!.function.role!.node.defaultChild as never)) as string;
    const allowed = policyStatements(smtp.json).filter((p) => p.roles.includes(role) && p.statement.Effect === 'Allow').map((p) => p.statement);
    relayCommon(allowed, smtp.stack);
    const secrets = allowed.filter((s) => actions([s]).some((a) => a.startsWith('secretsmanager:')));
    assert.deepEqual(actions(secrets), ['secretsmanager:GetSecretValue'], 'GetSecretValue only (no DescribeSecret, no wildcard action)');
    assert.equal(asArray(secrets[0]!.Resource).length, 1);
    assert.match(JSON.stringify(secrets[0]!.Resource), /:secret:mail\/smarthost-\?\?\?\?\?\?"/, 'the smarthost secret only, any version suffix');
    assert.ok(!actions(allowed).some((a) => /^(kms|ses|sns):|\*/.test(a)), 'nothing else');
    const variables = smtp.json.Resources[smtp.stack.resolve(smtp.stack.getLogicalId(smtp.stack.relay!.function.node.defaultChild as never)) as string]!.Properties.Environment.Variables;
    assert.equal(variables.MAIL_SMARTHOST_HOST, 'email-smtp.us-east-1.amazonaws.com');
    assert.ok(!('MAIL_SMARTHOST_KIND' in variables));
  });

  it('lets the inbound function read and tag blobs, file into mailboxes, queue remote mail, nothing else', () => {
    const allowed = allowsOf(stack.inbound!.function.role!);
    assert.deepEqual(s3Actions(allowed), ['s3:GetObject', 's3:PutObjectTagging'], 'reads the blob the edge wrote; never writes one');
    assert.ok(sendsTo(allowed, 'outbound'), 'remote recipients and forwards go to the relay');
    assert.ok(!sendsTo(allowed, 'inbound'), 'never re-queues to itself');
    assert.deepEqual(dynamoOn(allowed, 'directory'), ['dynamodb:BatchGetItem', 'dynamodb:GetItem']);
    // The junk model is read through its own statement, fenced to `junk#` partition keys.
    const junkReads = allowed.filter((s) => mentions(s, stack.storage.tables.directory) && actions([s]).includes('dynamodb:GetItem'));
    assert.deepEqual(junkReads.map((s) => s.Condition), [{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['junk#*'] } }]);
    // Query lists the mailboxes of an account with no \Junk use claim yet (docs/decisions/0026-one-quarantine-path.md).
    assert.deepEqual(dynamoOn(allowed, 'mailboxes'), ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], 'finds INBOX and Junk and reserves UIDs; creates and deletes no mailbox');
    assert.deepEqual(dynamoOn(allowed, 'messages'), ['dynamodb:GetItem', 'dynamodb:PutItem']);
    assert.deepEqual(dynamoOn(allowed, 'deliveries'), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], 'junk verdicts and outbound records');
    assert.deepEqual(dynamoOn(allowed, 'blobrefs'), ['dynamodb:GetItem', 'dynamodb:UpdateItem'], 'delivery claims and reference counts');
    assert.ok(!actions(allowed).some((a) => /^dynamodb:(DeleteItem|BatchWriteItem|Scan)$|\*/.test(a)));
    assert.ok(!JSON.stringify(allowed).includes('/index/'), 'no index access');
    // The SRS key, read once per execution environment, and no other secret.
    const secrets = allowed.filter((st) => actions([st]).some((a) => a.startsWith('secretsmanager:')));
    assert.deepEqual(actions(secrets), ['secretsmanager:GetSecretValue']);
    assert.deepEqual(secrets.flatMap((st) => asArray(st.Resource)), [{ Ref: logicalId(stack.srsSecret) }]);
    const variables = json.Resources[logicalId(stack.inbound!.function)]!.Properties.Environment.Variables;
    assert.deepEqual(variables.MAIL_SRS_SECRET_ARN, { Ref: logicalId(stack.srsSecret) }, 'the ARN, not the value, in the environment');
    assert.ok(!('MAIL_SRS_SECRET' in variables));
  });

  it('gives each queue sender SendMessage alone (no queue lookups, no receive)', () => {
    for (const role of [stack.edge!.taskDefinition.taskRole, stack.inbound!.function.role!, stack.relay!.function.role!]) {
      for (const s of allowsOf(role)) {
        const consumes = (['inbound', 'outbound'] as const).filter((q) => mentions(s, stack.queues.queues[q].queue));
        if (consumes.length === 0 || actions([s]).includes('sqs:ReceiveMessage')) continue; // the event source mapping's own grant
        assert.deepEqual(actions([s]), ['sqs:SendMessage']);
      }
    }
  });

  it('scopes every S3 object grant to the raw/ prefix of the mail bucket', () => {
    for (const { policy, statement } of statements) {
      if (statement.Effect !== 'Allow' || !actions([statement]).some((a) => a.startsWith('s3:'))) continue;
      assert.match(JSON.stringify(statement.Resource), /\/raw\/\*"/, policy);
    }
  });
});

describe('dns', () => {
  it('publishes MX, A alias, SPF, DMARC, DKIM and RFC 6186 SRV records for domains in the zone', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'MX', Name: 'example.com.', ResourceRecords: ['10 mail.example.com'] });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'A', Name: 'mail.example.com.', AliasTarget: Match.anyValue() });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'TXT', Name: 'example.com.', ResourceRecords: ['"v=spf1 mx include:amazonses.com -all"'] });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'TXT', Name: '_dmarc.example.com.', ResourceRecords: [Match.stringLikeRegexp('v=DMARC1; p=quarantine')] });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'TXT', Name: 'mail2026._domainkey.example.com.' });
    for (const [srv, port] of [['_submission._tcp', 587], ['_submissions._tcp', 465], ['_imap._tcp', 143], ['_imaps._tcp', 993], ['_pop3._tcp', 110], ['_pop3s._tcp', 995]] as const) {
      template.hasResourceProperties('AWS::Route53::RecordSet', { Type: 'SRV', Name: `${srv}.example.com.`, ResourceRecords: [`0 1 ${port} mail.example.com`] });
    }
    // SES's DKIM CNAMEs are named by the identity's attributes (checked in 'ses' below).
    const names = resourcesOfType(json, 'AWS::Route53::RecordSet').map(([, r]) => r.Name).filter((n): n is string => typeof n === 'string');
    assert.ok(!names.some((n) => n.endsWith('example.org.')), 'a domain outside the zone gets no records');
  });
});

describe('ses', () => {
  it('verifies each domain in SES with Easy DKIM when SES carries outbound mail (the SES API), publishing the CNAMEs in the zone', () => {
    const identities = resourcesOfType(json, 'AWS::SES::EmailIdentity').map(([, i]) => i);
    assert.deepEqual(identities.map((i) => i.EmailIdentity).sort(), ['example.com', 'example.org']);
    for (const i of identities) {
      assert.equal(i.DkimAttributes?.SigningEnabled, true);
      assert.equal(i.DkimSigningAttributes?.NextSigningKeyLength, 'RSA_2048_BIT');
    }
    const cnames = resourcesOfType(json, 'AWS::Route53::RecordSet').filter(([, r]) => r.Type === 'CNAME');
    assert.equal(cnames.length, 3, 'three Easy DKIM records for the domain inside the zone');
    const outputs = Object.entries(json.Outputs).filter(([k]) => k.includes('SesDkimexampleorg'));
    assert.equal(outputs.length, 3, 'the domain outside the zone gets its records as outputs');
  });

  it('creates no identity for another smarthost, and warns when SES is in another region', () => {
    const other = synth(ALL_PRESENT, { ...TEST_CONTEXT, 'mail:smarthost': { host: 'smtp.provider.example', port: 587, credentialsSecret: 'mail/smarthost' } });
    other.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    const saved = process.env.CDK_DEFAULT_REGION;
    process.env.CDK_DEFAULT_REGION = 'eu-west-1';
    try {
      const elsewhere = synth(ALL_PRESENT, { ...TEST_CONTEXT, 'mail:smarthost': { host: 'email-smtp.us-east-1.amazonaws.com', port: 587, credentialsSecret: 'mail/smarthost' } });
      elsewhere.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
      assert.equal(Annotations.fromStack(elsewhere.stack).findWarning('*', Match.stringLikeRegexp('verify the domains in us-east-1')).length, 1);
    } finally {
      if (saved === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = saved;
    }
  });
});

describe('monitoring', () => {
  const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a);
  it('alarms on every dead-letter queue holding a message', () => {
    for (const def of Object.values(QUEUES)) {
      const dlqId = logicalId(stack.queues.queues[def.id].deadLetterQueue);
      const a = alarms.find((x) => x.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(x.Dimensions).includes(dlqId));
      assert.ok(a, `${def.id} DLQ alarm`);
      assert.equal(a.Threshold, 1);
      assert.equal(a.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.ok(a.AlarmActions.length > 0);
    }
  });
  it('alarms on inbound backlog age, function errors and throttles, and unhealthy targets', () => {
    assert.ok(alarms.some((a) => a.MetricName === 'ApproximateAgeOfOldestMessage' && JSON.stringify(a.Dimensions).includes(logicalId(stack.queues.queues.inbound.queue))));
    // inbound, relay, and the certificate export function
    assert.equal(alarms.filter((a) => a.MetricName === 'Errors').length, 3);
    assert.equal(alarms.filter((a) => a.MetricName === 'Throttles').length, 3);
    assert.equal(alarms.filter((a) => a.MetricName === 'UnHealthyHostCount').length, 7);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
  it('alarms 21 days before the TLS certificate the services present expires', () => {
    const filters = resourcesOfType(json, 'AWS::Logs::MetricFilter').map(([, f]) => f);
    for (const service of [stack.edge!, stack.mailbox!]) {
      const filter = filters.find((f) => f.LogGroupName.Ref === logicalId(service.logGroup) && String(f.FilterPattern).includes(CERTIFICATE_EXPIRY_LOG.event));
      assert.ok(filter, `a metric filter on ${service.node.id}'s logs`);
      assert.match(filter.FilterPattern, new RegExp(`\\$\\.event\\s*=\\s*"?${CERTIFICATE_EXPIRY_LOG.event}"?`));
      const [transformation] = filter.MetricTransformations;
      assert.equal(transformation.MetricValue, `$.${CERTIFICATE_EXPIRY_LOG.daysLeftField}`);
      const a = alarms.find((x) => x.MetricName === transformation.MetricName && x.Namespace === transformation.MetricNamespace);
      assert.ok(a, `an alarm on ${transformation.MetricName}`);
      assert.equal(a.Threshold, 21);
      assert.equal(a.ComparisonOperator, 'LessThanThreshold');
      assert.equal(a.Statistic, 'Minimum');
      assert.ok(a.AlarmActions.length > 0);
    }
    // The services write the event the filter reads: both start the TLS renewal, which reports the
    // days left of the certificate they start with and of every renewed one.
    for (const main of ['smtp-edge/main.ts', 'mailbox-server/main.ts']) {
      assert.match(readFileSync(path.join(REPO_ROOT, main), 'utf8'), /startTlsRenewal\(\{\s*current: tls,/, main);
    }
    const renewal = readFileSync(path.join(REPO_ROOT, 'core/tls-renewal.ts'), 'utf8');
    assert.match(renewal, /reportCertificateExpiry\(log, options\.current\.cert\)/);
    assert.match(renewal, /reportCertificateExpiry\(log, credentials\.cert\)/);
  });

  it('counts every inbound authentication verdict and action from the edge\'s log (one metric per mechanism, the result as dimension)', () => {
    const filters = resourcesOfType(json, 'AWS::Logs::MetricFilter').map(([, f]) => f)
      .filter((f) => f.LogGroupName.Ref === logicalId(stack.edge!.logGroup) && String(f.FilterPattern).includes(AUTHENTICATION_METRICS.event));
    const byName = new Map(filters.map((f) => [f.MetricTransformations[0].MetricName, f.MetricTransformations[0]]));
    for (const [field, name] of Object.entries(AUTHENTICATION_METRICS.byField)) {
      const t = byName.get(name);
      assert.ok(t, `a metric filter for ${name}`);
      assert.equal(t.MetricValue, '1');
      assert.deepEqual(Object.values(t.Dimensions.map((d: { Value: string }) => d.Value)), [`$.${field}`]);
    }
    // The edge writes the event the filters read, with those fields.
    assert.match(readFileSync(path.join(REPO_ROOT, 'smtp-edge/authentication.ts'), 'utf8'), /AUTHENTICATION_METRICS\.event/);
  });

  it('warns at synth when nobody is subscribed to the alarm topic, and outputs the topic', () => {
    assert.ok(json.Outputs.AlarmTopic, 'the topic ARN is an output');
    const quiet = synth(ALL_PRESENT, { ...TEST_CONTEXT, 'mail:alarmEmail': null });
    quiet.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const warnings = Annotations.fromStack(quiet.stack).findWarning('*', Match.stringLikeRegexp('nobody is subscribed'));
    assert.equal(warnings.length, 1);
  });
});

describe('outbound failures alarm', () => {
  it('watches the metric the relay emits: same namespace, name and service dimension', () => {
    const alarm = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a).find((a) => a.MetricName === METRICS.relay.attemptsFailed);
    assert.ok(alarm, 'an alarm on the relay\'s failed attempts');
    assert.equal(alarm.Statistic, 'Sum');
    assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    assert.ok(alarm.AlarmActions.length > 0);
    // The relay's own Metrics object, configured from its function's environment in the template.
    const [, relay] = resourcesOfType(json, 'AWS::Lambda::Function').find(([, f]) => f.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'mail-relay')!;
    const metrics = relayMetrics(relay.Environment.Variables);
    metrics.addMetric(METRICS.relay.attemptsFailed, 'Count', 1);
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } };
    const directive = emf._aws.CloudWatchMetrics[0]!;
    assert.equal(alarm.Namespace, directive.Namespace);
    assert.ok(directive.Metrics.some((m) => m.Name === alarm.MetricName));
    assert.deepEqual(directive.Dimensions, [alarm.Dimensions.map((d: { Name: string }) => d.Name)], 'the dimension set the alarm names, no more');
    for (const d of alarm.Dimensions as Array<{ Name: string; Value: string }>) assert.equal(emf[d.Name], d.Value);
  });

  it('fires on a single failure within a minute when a smarthost carries all mail', () => {
    const alarm = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a).find((a) => a.MetricName === METRICS.relay.attemptsFailed);
    assert.equal(stack.relay && json.Resources[logicalId(stack.relay.function)]!.Properties.Environment.Variables.MAIL_SMARTHOST_KIND, 'ses-api', 'the test context sends through the SES API');
    assert.equal(alarm.Period, 60);
    assert.equal(alarm.Threshold, 1);
  });
});

describe('outputs', () => {
  it('export every MAIL_* variable for mailctl, named by outputKeyForEnv', () => {
    for (const name of Object.keys(sampleCoreEnv())) {
      assert.ok(json.Outputs[outputKeyForEnv(name)], `output for ${name}`);
    }
    assert.equal(outputKeyForEnv('MAIL_TABLE_DIRECTORY'), 'MailTableDirectory');
    assert.deepEqual(json.Outputs.MailQueueInbound.Value, { Ref: logicalId(stack.queues.queues.inbound.queue) });
    assert.deepEqual(json.Outputs.MailRegion.Value, { Ref: 'AWS::Region' });
  });
});
