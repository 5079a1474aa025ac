// The relay's metrics: the slice of Powertools' Metrics it uses (its logger: functions/queue-record.ts).

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
  | 'InvalidEvents'
  | 'FailedEvents';

export interface RelayMetrics {
  addMetric(name: RelayMetric, unit: 'Count', value: number): unknown;
}
