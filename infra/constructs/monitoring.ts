// Alarms that mean "mail is stuck or lost" and one dashboard to look at when they fire.
import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../core/resources.ts';
import { CERTIFICATE_EXPIRY_LOG } from '../../core/certificate-expiry.ts';
import { AUTHENTICATION_METRICS } from '../../core/authentication/metrics.ts';

export interface MonitoringProps {
  readonly prefix: string;
  readonly alarmEmail: string | null;
  readonly inboundBacklogAlarmSeconds: number;
  readonly queues: readonly { readonly name: string; readonly queue: sqs.IQueue; readonly deadLetterQueue: sqs.IQueue }[];
  readonly functions: readonly { readonly name: string; readonly fn: lambda.IFunction }[];
  readonly targetGroups: readonly { readonly name: string; readonly targetGroup: elbv2.NetworkTargetGroup }[];
  /**
   * Alarm on the relay's failed SMTP attempts (no answer for the message: connect, TLS, STARTTLS,
   * silence, the deadline) when at least `threshold` fall in `periodMinutes`; null without a relay.
   */
  readonly outboundFailures: { readonly threshold: number; readonly periodMinutes: number } | null;
  /** Log groups of the services that present the TLS certificate (they log its days left). */
  readonly certificateLogs: readonly { readonly name: string; readonly logGroup: logs.ILogGroup }[];
  /** Alarm when the certificate has fewer days left than this. */
  readonly certificateExpiryAlarmDays: number;
  /**
   * The SMTP edge's log group: it logs every verdict of the MX's SPF, DKIM, DMARC and ARC checks
   * and what it did (smtp-edge/authentication.ts), counted here by metric filters. Null without an edge.
   */
  readonly authenticationLog?: logs.ILogGroup | null;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', { displayName: `${props.prefix} mail alarms`, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    else Annotations.of(this).addWarningV2('mail:no-alarm-subscriber', 'mail:alarmEmail is null: nobody is subscribed to the alarm topic. Subscribe it yourself (the AlarmTopic output), or set an address.');
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string, comparison = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING) => {
      const a = new cloudwatch.Alarm(this, name, {
        metric, threshold, evaluationPeriods: 1, comparisonOperator: comparison,
        treatMissingData,
        alarmDescription: description,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };
    const minute = Duration.minutes(1);

    const queueWidgets: cloudwatch.IWidget[] = [];
    for (const q of props.queues) {
      alarm(`${q.name}DlqNotEmpty`, q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' }), 1,
        `Messages in the ${q.name} dead-letter queue: mail failed repeatedly. Inspect with mailctl, fix, then redrive.`);
      queueWidgets.push(new cloudwatch.GraphWidget({
        title: `${q.name} queue`,
        left: [q.queue.metricApproximateNumberOfMessagesVisible({ period: minute }), q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, label: 'dead letters' })],
        right: [q.queue.metricApproximateAgeOfOldestMessage({ period: minute })],
      }));
    }
    const inbound = props.queues.find((q) => q.name === 'inbound');
    if (inbound) {
      alarm('InboundBacklog', inbound.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: 'Maximum' }), props.inboundBacklogAlarmSeconds,
        'Inbound mail is waiting longer than expected: the inbound function is failing, throttled or not consuming.');
    }

    const functionWidgets: cloudwatch.IWidget[] = [];
    for (const f of props.functions) {
      alarm(`${f.name}Errors`, f.fn.metricErrors({ period: minute, statistic: 'Sum' }), 1, `The ${f.name} function failed (whole-batch errors; per-message failures are retried by SQS).`);
      alarm(`${f.name}Throttles`, f.fn.metricThrottles({ period: minute, statistic: 'Sum' }), 1, `The ${f.name} function is throttled: raise the account concurrency or lower maxConcurrency.`);
      functionWidgets.push(new cloudwatch.GraphWidget({
        title: `${f.name} function`,
        left: [f.fn.metricInvocations({ period: minute }), f.fn.metricErrors({ period: minute }), f.fn.metricThrottles({ period: minute })],
        right: [f.fn.metricDuration({ period: minute, statistic: 'p99' })],
      }));
    }

    // The metric the relay emits (Powertools EMF adds the `service` dimension): core/resources.ts METRICS.
    const relayMetric = (metricName: string, period: Duration) => new cloudwatch.Metric({
      namespace: METRICS.namespace, metricName, dimensionsMap: { service: METRICS.relay.service }, statistic: 'Sum', period,
    });
    if (props.outboundFailures) {
      const { threshold, periodMinutes } = props.outboundFailures;
      alarm('OutboundFailures', relayMetric(METRICS.relay.attemptsFailed, Duration.minutes(periodMinutes)), threshold,
        'Outbound SMTP attempts end before the host answers (refused or lost connection, TLS or STARTTLS failure, silence, '
        + 'the function deadline): a misconfigured smarthost or blocked port 25. Each one is logged by the relay as '
        + '"delivery attempt failed" with host and reason; mailctl queue show <id> lists the attempts.');
      functionWidgets.push(new cloudwatch.GraphWidget({
        title: 'outbound deliveries',
        left: ['Delivered', 'Deferred', 'Bounced'].map((m) => relayMetric(m, minute)),
        right: [relayMetric(METRICS.relay.attemptsFailed, minute)],
      }));
    }

    const targetWidgets: cloudwatch.IWidget[] = [];
    for (const t of props.targetGroups) {
      alarm(`${t.name}Unhealthy`, t.targetGroup.metrics.unHealthyHostCount({ period: minute, statistic: 'Maximum' }), 1, `Tasks behind ${t.name} fail their health check.`);
      alarm(`${t.name}NoHealthy`, t.targetGroup.metrics.healthyHostCount({ period: minute, statistic: 'Minimum' }), 1, `No healthy task behind ${t.name}: the port is down.`, cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD);
      targetWidgets.push(new cloudwatch.GraphWidget({
        title: `${t.name} targets`,
        left: [t.targetGroup.metrics.healthyHostCount({ period: minute }), t.targetGroup.metrics.unHealthyHostCount({ period: minute })],
        width: 6,
      }));
    }

    // The services log the days left on the certificate they present at start, twice a day, and at each
    // reload (core/certificate-expiry.ts), so the figure is what clients see. `certificateDaysLeft` is
    // whole days, floored: below 21 means under 21 days left. The log comes every 12 hours and the
    // period is 6: a period without a line keeps the alarm's state (IGNORE) instead of clearing it.
    for (const c of props.certificateLogs) {
      const filter = new logs.MetricFilter(this, `${c.name}CertificateDaysLeft`, {
        logGroup: c.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.event', '=', CERTIFICATE_EXPIRY_LOG.event),
        metricNamespace: 'Mail',
        metricName: `${c.name}TlsCertificateDaysLeft`,
        metricValue: `$.${CERTIFICATE_EXPIRY_LOG.daysLeftField}`,
      });
      alarm(`${c.name}CertificateExpiry`, filter.metric({ period: Duration.hours(6), statistic: 'Minimum' }), props.certificateExpiryAlarmDays,
        `The TLS certificate ${c.name} presents expires in under ${props.certificateExpiryAlarmDays} days. With the ACM certificate: see the CertificateExport function's errors and the ACM console (renewal needs the validation CNAME). With your own secret: put the renewed pair into it; the tasks take it up within minutes.`,
        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, cloudwatch.TreatMissingData.IGNORE);
    }

    // Inbound authentication: one count per message for each mechanism's result and for what was
    // done with it (accept, quarantine, reject, defer), as dimensions of one metric each.
    const authenticationWidgets: cloudwatch.IWidget[] = [];
    if (props.authenticationLog) {
      for (const [field, metricName] of Object.entries(AUTHENTICATION_METRICS.byField)) {
        const filter = new logs.MetricFilter(this, `Inbound${metricName}`, {
          logGroup: props.authenticationLog,
          filterPattern: logs.FilterPattern.stringValue('$.event', '=', AUTHENTICATION_METRICS.event),
          metricNamespace: METRICS.namespace,
          metricName,
          metricValue: '1',
          dimensions: { [field === 'action' ? 'action' : 'result']: `$.${field}` },
        });
        authenticationWidgets.push(new cloudwatch.GraphWidget({
          title: `inbound ${field}`,
          left: (field === 'action' ? AUTHENTICATION_METRICS.actions : AUTHENTICATION_METRICS.results).map((value) => filter.metric({
            dimensionsMap: { [field === 'action' ? 'action' : 'result']: value }, statistic: 'Sum', period: minute, label: value,
          })),
          width: 8,
        }));
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${props.prefix}-mail` });
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'alarms', alarms: this.alarms, width: 24 }));
    this.dashboard.addWidgets(...queueWidgets);
    this.dashboard.addWidgets(...functionWidgets);
    if (targetWidgets.length > 0) this.dashboard.addWidgets(...targetWidgets);
    if (authenticationWidgets.length > 0) this.dashboard.addWidgets(...authenticationWidgets);
  }
}
