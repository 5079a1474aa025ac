// The whole mail system as one stack: storage, queues, functions, the SMTP edge and mailbox
// services behind one Network Load Balancer, DNS and monitoring. See infra/README.md.
import * as path from 'node:path';
import { CfnOutput, IgnoreMode, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { FUNCTIONS, QUEUES, TABLES, type QueueName } from '../core/resources.ts';
import { allowCountSubmissions, allowGetRawBlobs, allowJunkModel, allowItemOperations, allowPutRawBlobs, allowQueryIndex, allowReadSecretValue, allowSendMessage, allowSendRawEmail, allowTagRawBlobs } from './access.ts';
import { QueueConsumer } from './constructs/functions.ts';
import { MailDns } from './constructs/dns.ts';
import { MailService } from './constructs/mail-service.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Queues } from './constructs/queues.ts';
import { SesIdentities } from './constructs/ses.ts';
import { Storage } from './constructs/storage.ts';
import { TlsCertificate } from './constructs/tls-certificate.ts';
import { outputKeyForEnv } from '../core/config.ts';
import { coreEnvironment } from './environment.ts';
import { EDGE_ENV, EDGE_PORTS, ENTRY_POINTS, MAILBOX_ENV, MAILBOX_IDLE_KEEPALIVE_SECONDS, MAILBOX_PORTS, MAILBOX_TCP_IDLE_TIMEOUT_SECONDS, RELAY_ENV, SERVICE_DOCKERFILE, SERVICE_ENV, SERVICE_IMAGE_TARGETS, SRS_ENV, type Component, type ServiceImage } from './service-contract.ts';
import type { DeploymentSettings } from './settings.ts';

export interface MailStackProps extends StackProps {
  readonly settings: DeploymentSettings;
  /** Repository root: the Docker build context and the esbuild project root. */
  readonly repoRoot: string;
  /** Absolute path of each component's entry point (tests put small fixtures in their place). */
  readonly entryPoints: Readonly<Record<Component, string>>;
}

export class MailStack extends Stack {
  readonly storage: Storage;
  readonly queues: Queues;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  readonly edge: MailService;
  readonly mailbox: MailService;
  readonly inbound: QueueConsumer;
  readonly relay: QueueConsumer;
  readonly monitoring: Monitoring;
  readonly sesIdentities: SesIdentities;
  /** The Sender Rewriting Scheme key (core/srs.ts), generated here, never in the repository. */
  readonly srsSecret: secretsmanager.Secret;
  /** The certificate the services present: ACM's, exported into a secret, or the operator's secret. */
  readonly tlsCertificate: TlsCertificate;

  constructor(scope: Construct, id: string, props: MailStackProps) {
    super(scope, id, props);
    const { settings, repoRoot, entryPoints } = props;

    // --- data ---
    this.storage = new Storage(this, 'Storage', { prefix: settings.prefix, retainData: settings.retainData, deletionProtection: settings.deletionProtection });
    this.queues = new Queues(this, 'Queues', { prefix: settings.prefix });
    const { bucket, tables } = this.storage;
    const queue = (q: QueueName) => this.queues.queues[q];
    const environment = coreEnvironment(settings, this.storage, this.queues);

    // --- network: public subnets only, no NAT gateway (see README: cost trade-off) ---
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      // Free gateway endpoints keep blob and table traffic on the AWS network.
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    vpc.addFlowLog('RejectedFlows', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH })),
    });

    const loadBalancerSecurityGroup = this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc, description: 'Public mail ports: SMTP, submission, IMAP, POP3', allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc, internetFacing: true, crossZoneEnabled: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [loadBalancerSecurityGroup],
    });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    const tlsCertificate = this.tlsCertificate = new TlsCertificate(this, 'Tls', { settings, repoRoot });
    const tls = tlsCertificate.secret;
    // SRS (core/srs.ts): forwards leave with senders hashed under this key, and the bounces to
    // them are checked against it. Replacing it turns away bounces of mail forwarded before, so it
    // is kept with the stack's data and not rotated on a schedule.
    const srsSecret = this.srsSecret = new secretsmanager.Secret(this, 'SrsSecret', {
      description: 'Sender Rewriting Scheme key: signs the envelope senders of forwarded mail',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // The services read the TLS secret's new versions themselves (core/tls-secret-poller.ts): a renewed
    // certificate reaches running tasks without a deployment.
    const serviceEnvironment = { ...environment, NODE_ENV: 'production', [SERVICE_ENV.tlsSecretId]: tlsCertificate.secretId };
    const startAfterFirstExport = (service: MailService) => {
      allowReadSecretValue(service.taskDefinition.taskRole, tls);
      // ECS reads the secret when a task starts: it must hold the exported pair by then.
      if (tlsCertificate.managed) service.service.node.addDependency(tlsCertificate.managed.firstExport);
    };
    const tlsSecrets = {
      [SERVICE_ENV.tlsKeyPem]: ecs.Secret.fromSecretsManager(tls, 'key'),
      [SERVICE_ENV.tlsCertPem]: ecs.Secret.fromSecretsManager(tls, 'chain'),
    };
    // One Dockerfile, a target per service (infra/images/Dockerfile).
    const image = (target: ServiceImage) => ecs.ContainerImage.fromAsset(repoRoot, {
      file: SERVICE_DOCKERFILE, target, platform: Platform.LINUX_ARM64, ignoreMode: IgnoreMode.DOCKER,
    });
    const openPorts = (ports: readonly { listener: number }[]) => {
      for (const p of ports) loadBalancerSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(p.listener), `mail port ${p.listener} from the internet`);
    };

    // --- SMTP edge: MX on 25, submission on 587/465 ---
    const edgePorts = Object.values(EDGE_PORTS);
    openPorts(edgePorts);
    this.edge = new MailService(this, 'SmtpEdge', {
      cluster, loadBalancer: this.loadBalancer, loadBalancerSecurityGroup,
      image: image(SERVICE_IMAGE_TARGETS.edge), ports: edgePorts,
      environment: { ...serviceEnvironment, ...edgeEnvironment(settings), [SERVICE_ENV.edgeHost]: '0.0.0.0' },
      // RCPT to an SRS address is accepted only when it verifies under the key.
      secrets: { ...tlsSecrets, [SRS_ENV.secret]: ecs.Secret.fromSecretsManager(srsSecret) },
      ...settings.services.edge,
      scaleOnConnections: false,
      // SMTP sessions are short; a DATA transfer of a large message may take a minute or two.
      drainSeconds: 120,
      logRetentionDays: settings.logRetentionDays,
    });
    startAfterFirstExport(this.edge);
    const edgeRole = this.edge.taskDefinition.taskRole;
    allowPutRawBlobs(edgeRole, bucket);
    // A blob stored whose inbound event never reached SQS is tagged for the lifecycle rule (markOrphan).
    allowTagRawBlobs(edgeRole, bucket);
    allowSendMessage(edgeRole, queue('inbound').queue);
    // Exactly what the edge calls (test/infra/grants-vs-code.test.ts drives MX and submission and compares):
    // recipient, alias and catch-all lookup at RCPT; the account at AUTH; the hourly counters.
    allowItemOperations(edgeRole, tables.directory, ['GetItem', 'BatchGetItem']);
    allowCountSubmissions(edgeRole, tables.directory);
    // RCPT refuses a full mailbox: one GetItem of the account's usage counter (core/store/quota.ts).
    allowItemOperations(edgeRole, tables.mailboxes, ['GetItem']);

    // --- mailbox server: IMAP 143/993, POP3 110/995 ---
    const mailboxPorts = Object.values(MAILBOX_PORTS);
    openPorts(mailboxPorts);
    this.mailbox = new MailService(this, 'MailboxServer', {
      cluster, loadBalancer: this.loadBalancer, loadBalancerSecurityGroup,
      image: image(SERVICE_IMAGE_TARGETS.mailbox), ports: mailboxPorts,
      environment: {
        ...serviceEnvironment, [SERVICE_ENV.mailboxHost]: '0.0.0.0',
        [MAILBOX_ENV.idleKeepaliveSeconds]: String(MAILBOX_IDLE_KEEPALIVE_SECONDS),
      },
      secrets: tlsSecrets,
      ...settings.services.mailbox,
      // IMAP sessions (IDLE) live for many minutes: connections, not CPU, fill a task.
      scaleOnConnections: true,
      // An IMAP session rarely ends by itself within any delay: one minute for commands in flight,
      // then SIGTERM and the server's BYE send the clients to the new tasks.
      drainSeconds: 60,
      // An IDLE client is silent for up to 29 minutes (RFC 2177 §3); the NLB's default 350 s would cut it.
      tcpIdleTimeoutSeconds: MAILBOX_TCP_IDLE_TIMEOUT_SECONDS,
      logRetentionDays: settings.logRetentionDays,
    });
    startAfterFirstExport(this.mailbox);
    const mailboxRole = this.mailbox.taskDefinition.taskRole;
    allowGetRawBlobs(mailboxRole, bucket);
    // APPEND stores a new blob; EXPUNGE of a blob's last reference tags it for the lifecycle rule.
    allowPutRawBlobs(mailboxRole, bucket);
    allowTagRawBlobs(mailboxRole, bucket);
    // Exactly what IMAP and POP3 call (test/infra/grants-vs-code.test.ts drives every command that
    // reaches AWS and compares). LOGIN and USER/PASS read the account.
    allowItemOperations(mailboxRole, tables.directory, ['GetItem']);
    // Junk training (mailbox-server/imap/junk-training.ts): a new model body, the head moved to it,
    // the old body removed, what each message taught recorded.
    allowJunkModel(mailboxRole, tables.directory, ['PutItem', 'UpdateItem', 'DeleteItem']);
    // Mailbox items (CREATE, DELETE, RENAME, SUBSCRIBE, LIST), UID/modseq reservation, usage counters,
    // and the POP3 maildrop lock (a conditional put, renewed, deleted at QUIT).
    // Filing (APPEND, COPY, MOVE) names the mailbox the command resolved, so it reads none itself.
    allowItemOperations(mailboxRole, tables.mailboxes, ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query']);
    // Messages: FETCH and SEARCH read (BatchGet for ranges), STORE/EXPUNGE update, APPEND/COPY/MOVE put,
    // DELETE of a mailbox removes its messages in batches; the change feed for resync and IDLE.
    allowItemOperations(mailboxRole, tables.messages, ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'BatchWriteItem', 'Query']);
    for (const index of TABLES.messages.globalIndexes) allowQueryIndex(mailboxRole, tables.messages, index.indexName);
    // APPEND, COPY, MOVE and RENAME INBOX file through core/store/filing.ts: the delivery claim on
    // the blob's reference item with ADD refs +1 (read when a retried APPEND finds it made), and
    // ADD refs -1 at expunge (docs/decisions/0024-sparse-index-and-delivery-claims.md).
    allowItemOperations(mailboxRole, tables.blobrefs, ['GetItem', 'UpdateItem']);

    // --- functions ---
    const consumer = (id: string, name: 'inbound' | 'relay', entry: string, extraEnv: Record<string, string> = {}) => new QueueConsumer(this, id, {
      entry, repoRoot, queue: queue(name === 'inbound' ? 'inbound' : 'outbound').queue,
      timeoutSeconds: FUNCTIONS[name].timeoutSeconds,
      ...settings.functions[name],
      environment: { ...environment, ...extraEnv },
      serviceName: `mail-${name}`,
      logRetentionDays: settings.logRetentionDays,
    });
    this.inbound = consumer('Inbound', 'inbound', entryPoints.inbound, { [SRS_ENV.secretArn]: srsSecret.secretArn });
    // Exactly what functions/inbound and the store calls it makes (test/infra/grants-vs-code.test.ts
    // runs them and compares); no Scan, DeleteItem or index access, no mailbox creation.
    const inboundFn = this.inbound.function;
    allowGetRawBlobs(inboundFn, bucket);
    // A redelivered record gives back the reference it took; when that was the last, it tags the blob.
    allowTagRawBlobs(inboundFn, bucket);
    allowItemOperations(inboundFn, tables.directory, ['BatchGetItem']); // recipient, alias and catch-all lookup
    allowJunkModel(inboundFn, tables.directory, ['GetItem']); // the account's junk model: head, and body when not cached
    // Filing (core/store/filing.ts): the INBOX name claims and \Junk use claims of a batch in one
    // BatchGetItem, UID/modseq reservation on the mailbox item, the message put (a get, and a
    // tombstone put at a UID left empty, only when writers race or a redelivery finds its claim);
    // an account with no use claim yet has its mailboxes listed once and the claim written (an update),
    // docs/decisions/0026-one-quarantine-path.md.
    allowItemOperations(inboundFn, tables.mailboxes, ['BatchGetItem', 'UpdateItem', 'Query']);
    allowItemOperations(inboundFn, tables.messages, ['GetItem', 'PutItem']);
    // Junk verdicts (`junk#<delivery>#<account>`) and outbound records (`outbound#<id>`,
    // core/outbound/enqueue.ts claim).
    allowItemOperations(inboundFn, tables.deliveries, ['GetItem', 'PutItem', 'UpdateItem']);
    // Delivery claims with ADD refs +1 (read when a redelivery finds one made), ADD refs -1
    // (docs/decisions/0024-sparse-index-and-delivery-claims.md).
    allowItemOperations(inboundFn, tables.blobrefs, ['GetItem', 'UpdateItem']);
    allowSendMessage(inboundFn, queue('outbound').queue); // remote recipients and alias forwards
    allowReadSecretValue(inboundFn, srsSecret); // the SRS key: forwards' senders, bounces back through them

    // SES domain identities (when SES carries outbound mail): the relay's SES grant names them.
    const sesIdentities = this.sesIdentities = new SesIdentities(this, 'Ses', { settings });
    const smarthost = settings.smarthost?.kind === 'smtp' ? secretFrom(this, 'SmarthostCredentials', settings.smarthost.credentialsSecret) : undefined;
    this.relay = consumer('Relay', 'relay', entryPoints.relay, relayEnvironment(settings, smarthost?.secretArn));
    // Exactly what functions/relay calls (test/infra/grants-vs-code.test.ts runs it and compares).
    // A DSN to a local sender goes through the inbound queue, so the relay never writes mailboxes.
    const relayFn = this.relay.function;
    if (smarthost) allowReadSecretValue(relayFn, smarthost);
    // The SES API with the function's own role: SendRawEmail as the stack's identities only.
    if (settings.smarthost?.kind === 'ses-api') allowSendRawEmail(relayFn, sesIdentities.identities.map((i) => i.identity));
    allowGetRawBlobs(relayFn, bucket);
    allowPutRawBlobs(relayFn, bucket); // the DSN blob
    allowTagRawBlobs(relayFn, bucket); // the finished delivery held the blob's last reference
    allowSendMessage(relayFn, queue('inbound').queue); // DSNs to local senders are filed by inbound
    allowSendMessage(relayFn, queue('outbound').queue); // retry copies (delayed), re-delays, DSNs to remote senders
    allowItemOperations(relayFn, tables.directory, ['GetItem']); // DKIM key, is the sender's domain local
    // Outbound records: read (stale-copy guard), claim a DSN's delivery, advance state and generation.
    allowItemOperations(relayFn, tables.deliveries, ['GetItem', 'PutItem', 'UpdateItem']);
    allowItemOperations(relayFn, tables.blobrefs, ['UpdateItem']); // ADD refs +1/-1

    // --- DNS and monitoring ---
    if (settings.hostedZone) {
      new MailDns(this, 'Dns', { settings, zone: settings.hostedZone, loadBalancer: this.loadBalancer,
        ports: [...(this.edge.targets), ...(this.mailbox.targets)].map((t) => t.port),
      });
    }
    this.monitoring = new Monitoring(this, 'Monitoring', {
      prefix: settings.prefix,
      alarmEmail: settings.alarmEmail,
      inboundBacklogAlarmSeconds: settings.inboundBacklogAlarmSeconds,
      queues: Object.keys(QUEUES).map((q) => ({ name: q, ...queue(q as QueueName) })),
      functions: [
        ...(this.inbound ? [{ name: 'Inbound', fn: this.inbound.function }] : []),
        ...(this.relay ? [{ name: 'Relay', fn: this.relay.function }] : []),
        ...(tlsCertificate.managed ? [{ name: 'CertificateExport', fn: tlsCertificate.managed.exportFunction }] : []),
      ],
      targetGroups: [...(this.edge.targets), ...(this.mailbox.targets)]
        .map((t) => ({ name: `Port${t.port.listener}`, targetGroup: t.targetGroup })),
      // Through a smarthost every failure is ours (credentials, TLS mode, port): one is enough.
      // Direct to MX, single remote hosts fail all the time; many in a quarter hour is a pattern.
      outboundFailures: !this.relay ? null : settings.smarthost ? { threshold: 1, periodMinutes: 1 } : { threshold: 10, periodMinutes: 15 },
      authenticationLog: this.edge.logGroup,
      certificateLogs: [
        ...(this.edge ? [{ name: 'SmtpEdge', logGroup: this.edge.logGroup }] : []),
        ...(this.mailbox ? [{ name: 'MailboxServer', logGroup: this.mailbox.logGroup }] : []),
      ],
      certificateExpiryAlarmDays: settings.certificateExpiryAlarmDays,
    });

    // --- outputs mailctl reads: one per MAIL_* variable, named by outputKeyForEnv ---
    for (const [name, value] of Object.entries(environment)) {
      new CfnOutput(this, outputKeyForEnv(name), { value, description: `${name} for mailctl and local tools` });
    }
    new CfnOutput(this, 'AlarmTopic', { value: this.monitoring.topic.topicArn, description: 'SNS topic every alarm notifies; subscribe whoever must hear them' });
    new CfnOutput(this, 'LoadBalancerDnsName', { value: this.loadBalancer.loadBalancerDnsName, description: 'Point the host name (A/ALIAS or CNAME) here' });
    new CfnOutput(this, 'Dashboard', { value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}` });
  }
}

/** The relay's MAIL_RELAY_* and MAIL_SMARTHOST_* variables (functions/relay/config.ts reads them). */
export function relayEnvironment(settings: DeploymentSettings, smarthostSecretArn: string | undefined): Record<string, string> {
  const { retry, transports } = settings.relay;
  const env: Record<string, string> = {
    [RELAY_ENV.firstRetrySeconds]: String(retry.firstRetrySeconds),
    [RELAY_ENV.maxRetrySeconds]: String(retry.maxRetrySeconds),
    [RELAY_ENV.maxAgeSeconds]: String(retry.maxAgeSeconds),
    [RELAY_ENV.delayWarningSeconds]: String(retry.delayWarningSeconds),
  };
  if (Object.keys(transports).length > 0) env[RELAY_ENV.transports] = JSON.stringify(transports);
  // The SES API needs no host and no secret; its region is the function's (MAIL_REGION).
  if (settings.smarthost?.kind === 'ses-api') env[RELAY_ENV.smarthostKind] = 'ses-api';
  if (settings.smarthost?.kind === 'smtp' && smarthostSecretArn) {
    env[RELAY_ENV.smarthostHost] = settings.smarthost.host;
    env[RELAY_ENV.smarthostPort] = String(settings.smarthost.port);
    env[RELAY_ENV.smarthostTls] = settings.smarthost.tls;
    env[RELAY_ENV.smarthostSecretArn] = smarthostSecretArn;
  }
  return env;
}

/** The edge's listener policies (smtp-edge/main.ts reads them). */
export function edgeEnvironment(settings: DeploymentSettings): Record<string, string> {
  return {
    [EDGE_ENV.submissionMaxMessagesPerHour]: String(settings.submission.maxMessagesPerHour),
    [EDGE_ENV.submissionMaxRecipients]: String(settings.submission.maxRecipients),
    [EDGE_ENV.submissionHideClientIp]: String(settings.submission.hideClientIp),
    [EDGE_ENV.submissionBareLineFeeds]: settings.submission.bareLineFeeds,
    [EDGE_ENV.mxBareLineFeeds]: settings.mx.bareLineFeeds,
  };
}

function secretFrom(scope: Construct, id: string, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
}

/** Each component's entry point in the repository. */
export function entryPointsIn(repoRoot: string): Record<Component, string> {
  return Object.fromEntries((Object.keys(ENTRY_POINTS) as Component[]).map((c) => [c, path.join(repoRoot, ENTRY_POINTS[c])])) as Record<Component, string>;
}
