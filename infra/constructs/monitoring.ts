// Alarms that mean "mail is stuck or lost" and one dashboard to look at when they fire.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../core/resources.ts';

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
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', { displayName: `${props.prefix} mail alarms`, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string, comparison = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD) => {
      const a = new cloudwatch.Alarm(this, name, {
        metric, threshold, evaluationPeriods: 1, comparisonOperator: comparison,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
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

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${props.prefix}-mail` });
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'alarms', alarms: this.alarms, width: 24 }));
    this.dashboard.addWidgets(...queueWidgets);
    this.dashboard.addWidgets(...functionWidgets);
    if (targetWidgets.length > 0) this.dashboard.addWidgets(...targetWidgets);
  }
}
