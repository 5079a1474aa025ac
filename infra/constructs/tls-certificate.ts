// The TLS certificate the services present, with no hand work by default: an ACM exportable public
// certificate for the mail host name (DNS-validated in the hosted zone when it holds the name), and
// a function that exports it into the TLS secret when ACM issues or renews it, once a day, and once
// at deploy before the services start. With `mail:tlsCertificateSecret` set, the operator's secret
// is used as it is. docs/decisions/0012-acm-exportable-certificate.md says why and what it costs.
import * as path from 'node:path';
import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { allowExportCertificate, allowPutSecretValue, allowReadSecretValue } from '../access.ts';
import { CERTIFICATE_EXPORT_ENV } from '../service-contract.ts';
import type { DeploymentSettings } from '../settings.ts';
import { esmBundling, retentionDays } from './functions.ts';

/** The export function's entry, relative to the repository root. */
export const CERTIFICATE_EXPORT_ENTRY = 'functions/certificate-export/handler.ts';

/** ACM's event for a certificate issued or renewed (ACM user guide, "Amazon EventBridge support for ACM"). */
export const CERTIFICATE_AVAILABLE_EVENT = 'ACM Certificate Available';

export interface TlsCertificateProps {
  readonly settings: DeploymentSettings;
  readonly repoRoot: string;
}

/** The ACM certificate and its export, present when the stack obtains the certificate itself. */
export interface ManagedCertificate {
  readonly certificate: acm.Certificate;
  readonly exportFunction: nodejs.NodejsFunction;
  readonly firstExport: triggers.Trigger;
  readonly rules: { readonly issued: events.Rule; readonly daily: events.Rule };
}

const within = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

export class TlsCertificate extends Construct {
  /** The secret with JSON `{"key","chain"}` the services read. */
  readonly secret: secretsmanager.ISecret;
  /** What the services' poller passes as SecretId: the name or ARN the operator gave, else the secret's ARN. */
  readonly secretId: string;
  readonly managed: ManagedCertificate | null;

  constructor(scope: Construct, id: string, props: TlsCertificateProps) {
    super(scope, id);
    const { settings } = props;
    if (settings.tlsCertificateSecret) {
      const given = settings.tlsCertificateSecret;
      this.secret = given.startsWith('arn:')
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', given)
        : secretsmanager.Secret.fromSecretNameV2(this, 'Secret', given);
      this.secretId = given;
      this.managed = null;
      return;
    }

    const zone = settings.hostedZone && within(settings.hostname, settings.hostedZone.name)
      ? route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: settings.hostedZone.id, zoneName: settings.hostedZone.name })
      : undefined;
    if (!zone) {
      Annotations.of(this).addWarningV2('mail:tls-validation-by-hand', `No hosted zone holds ${settings.hostname}: cdk deploy waits until you publish the CNAME ACM asks for (ACM console, or the stack's events), see infra/README.md.`);
    }
    const certificate = new acm.Certificate(this, 'Certificate', {
      domainName: settings.hostname,
      validation: acm.CertificateValidation.fromDns(zone),
      // RSA 2048 (ACM's default): every mail client verifies it, older ones included.
      allowExport: true,
    });
    // Written only by the export function; CloudFormation's random first value is replaced before
    // any task reads it (the first export runs before the services, below).
    const secret = new secretsmanager.Secret(this, 'Secret', {
      description: `TLS key and chain for ${settings.hostname}, exported from ACM by the certificate export function`,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.secret = secret;
    this.secretId = secret.secretArn;

    const exportFunction = new nodejs.NodejsFunction(this, 'Export', {
      entry: path.join(props.repoRoot, CERTIFICATE_EXPORT_ENTRY),
      handler: 'handler',
      projectRoot: props.repoRoot,
      depsLockFilePath: path.join(props.repoRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(60),
      memorySize: 256,
      logGroup: new logs.LogGroup(this, 'Logs', { retention: retentionDays(settings.logRetentionDays) }),
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        [CERTIFICATE_EXPORT_ENV.certificateArn]: certificate.certificateArn,
        [CERTIFICATE_EXPORT_ENV.secretArn]: secret.secretArn,
        MAIL_HOSTNAME: settings.hostname,
        POWERTOOLS_SERVICE_NAME: 'mail-certificate-export',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: esmBundling(),
    });
    // Exactly what the function calls (test/infra/grants-vs-code.test.ts runs it and compares).
    allowExportCertificate(exportFunction, certificate.certificateArn);
    allowReadSecretValue(exportFunction, secret); // compare: write only a changed pair
    allowPutSecretValue(exportFunction, secret);

    const target = () => new eventTargets.LambdaFunction(exportFunction, { retryAttempts: 4, maxEventAge: Duration.hours(6) });
    const issued = new events.Rule(this, 'Issued', {
      description: `Export ${settings.hostname}'s certificate into the TLS secret when ACM issues or renews it`,
      eventPattern: { source: ['aws.acm'], detailType: [CERTIFICATE_AVAILABLE_EVENT], resources: [certificate.certificateArn] },
      targets: [target()],
    });
    // EventBridge delivers ACM's events best effort; the daily run catches a missed one, and puts
    // the certificate back if the secret was changed by hand.
    const daily = new events.Rule(this, 'Daily', {
      description: `Export ${settings.hostname}'s certificate into the TLS secret when it changed`,
      schedule: events.Schedule.rate(Duration.days(1)),
      targets: [target()],
    });
    // CloudFormation creates the certificate once ACM has issued it, before the rule exists to hear
    // of it: the first export runs at deploy, and the services start after it (infra/mail-stack.ts).
    const firstExport = new triggers.Trigger(this, 'FirstExport', {
      handler: exportFunction,
      executeAfter: [certificate, secret],
      timeout: Duration.minutes(2),
    });
    this.managed = { certificate, exportFunction, firstExport, rules: { issued, daily } };
  }
}
