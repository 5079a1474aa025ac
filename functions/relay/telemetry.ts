// The relay's metrics: the slice of Powertools' Metrics it uses (its logger: functions/queue-record.ts).
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../../core/resources.ts';

export type RelayMetric =
  | 'Delivered'
  | 'Deferred'
  | 'Bounced'
  | 'Expired'
  | 'DsnSent'
  | 'DsnSuppressed'
  | 'DelayWarnings'
  | 'LoopsDetected'
  | 'StaleCopiesDropped'
  | 'CancelledDropped'
  | 'Redelayed'
  | 'DkimSigned'
  | 'DkimUnsigned'
  | 'ForwardsSentAsOurs'
  | 'InvalidEvents'
  | 'FailedEvents'
  | typeof METRICS.relay.attemptsFailed;

export interface RelayMetrics {
  addMetric(name: RelayMetric, unit: 'Count', value: number): unknown;
}

/** The relay's Powertools Metrics: namespace and `service` dimension as the alarms expect (core/resources.ts METRICS). */
export function relayMetrics(env: Record<string, string | undefined>): Metrics {
  return new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS.namespace, serviceName: METRICS.relay.service });
}
