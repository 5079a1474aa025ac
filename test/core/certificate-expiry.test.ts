// The certificate expiry report the alarm reads: days left of the leaf, logged at start and on a timer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CERTIFICATE_EXPIRY_LOG, certificateDaysLeft, reportCertificateExpiry } from '../../core/certificate-expiry.ts';
import type { ServiceLog } from '../../core/log.ts';
import { createSelfSignedCertificate } from '../../core/tls.ts';

const DAY = 86_400_000;
const certificate = (daysLeft: number, now: Date) =>
  createSelfSignedCertificate('mail.example.test', ['mail.example.test'], new Date(now.getTime() - 300 * DAY), new Date(now.getTime() + daysLeft * DAY + 3_600_000)).cert;

describe('certificate expiry', () => {
  it('counts whole days to the leaf\'s notAfter, negative once expired', () => {
    const now = new Date();
    assert.equal(certificateDaysLeft(certificate(20, now), now), 20);
    assert.equal(certificateDaysLeft(certificate(-3, now), now), -3);
    // A chain: the first certificate is the leaf.
    assert.equal(certificateDaysLeft(certificate(5, now) + certificate(900, now), now), 5);
  });

  it('logs the figure the metric filter reads, at once and then on every tick', async (t) => {
    const lines: Array<{ event: string; fields: Record<string, unknown> }> = [];
    let tick: (() => void) | null = null;
    const log: ServiceLog = {
      info: (event, fields = {}) => { lines.push({ event, fields }); tick?.(); },
      warn() {}, error() {},
    };
    const stop = reportCertificateExpiry(log, certificate(30, new Date()), 20);
    t.after(stop);
    assert.equal(lines.length, 1, 'reported at start');
    assert.equal(lines[0]!.event, CERTIFICATE_EXPIRY_LOG.event);
    assert.equal(lines[0]!.fields[CERTIFICATE_EXPIRY_LOG.daysLeftField], 30);
    await new Promise<void>((resolve) => (tick = resolve));
    assert.equal(lines.length, 2, 'reported again on the timer');
    stop();
  });
});
