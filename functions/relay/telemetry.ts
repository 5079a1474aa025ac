// The relay's logs and metrics: the slices of Powertools' Logger and Metrics it uses.

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

export interface RelayLogger {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface RelayMetrics {
  addMetric(name: RelayMetric, unit: 'Count', value: number): unknown;
}
