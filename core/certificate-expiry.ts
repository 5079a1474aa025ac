// How long the certificate the services present has left, logged when a service starts and twice a
// day after, so a CloudWatch metric filter on the task logs can alarm well before clients start
// refusing it (infra/constructs/monitoring.ts). The figure is the leaf's notAfter (RFC 5280 §4.1.2.5).
import { X509Certificate } from 'node:crypto';
import type { ServiceLog } from './log.ts';

/** The log event, and its numeric field the metric filter reads. */
export const CERTIFICATE_EXPIRY_LOG = { event: 'tls.certificate', daysLeftField: 'daysLeft' } as const;

const DAY_MS = 86_400_000;
const REPORT_EVERY_MS = 12 * 3_600_000;

/** Whole days until the leaf (the first certificate of the PEM chain) expires; negative once it has. */
export function certificateDaysLeft(chainPem: string, now = new Date()): number {
  const leaf = new X509Certificate(chainPem);
  return Math.floor((new Date(leaf.validTo).getTime() - now.getTime()) / DAY_MS);
}

/** Logs the days left now and every `everyMs`; returns a stop function. The timer never holds the process open. */
export function reportCertificateExpiry(log: ServiceLog, chainPem: string, everyMs = REPORT_EVERY_MS): () => void {
  const report = () => {
    const leaf = new X509Certificate(chainPem);
    log.info(CERTIFICATE_EXPIRY_LOG.event, { [CERTIFICATE_EXPIRY_LOG.daysLeftField]: certificateDaysLeft(chainPem), notAfter: new Date(leaf.validTo).toISOString(), subject: leaf.subject });
  };
  report();
  const timer = setInterval(report, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
