// How a running service keeps its certificate current, the same for the SMTP edge and the mailbox
// server: days left reported for the expiry alarm, the key and chain files watched and a renewed
// pair handed to the listeners in place (tls-reload.ts), and in AWS the TLS secret's new versions
// brought to those files (tls-secret-poller.ts; docs/decisions/0012-acm-exportable-certificate.md).
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { reportCertificateExpiry } from './certificate-expiry.ts';
import type { ServiceLog } from './log.ts';
import { watchCertificateFiles } from './tls-reload.ts';
import { TlsSecretPoller } from './tls-secret-poller.ts';
import type { TlsCredentials } from './tls.ts';
import { awsOnlyClientOptions } from './aws/client-options.ts';

export interface TlsRenewalOptions {
  /** The pair the listeners started with. */
  readonly current: TlsCredentials;
  /** The files it came from; without them (a self-signed local certificate) only expiry is reported. */
  readonly keyFile?: string;
  readonly certFile?: string;
  /** The secret whose new versions are written to the files (AWS), and how often it is read. */
  readonly secretArn?: string;
  readonly secretPollMs: number;
  readonly region: string;
  /** Makes a renewed pair the one every later handshake uses. */
  readonly apply: (credentials: TlsCredentials) => void;
  readonly log: ServiceLog;
}

export interface TlsRenewal {
  stop(): void;
}

export function startTlsRenewal(options: TlsRenewalOptions): TlsRenewal {
  const { keyFile, certFile, log } = options;
  // Days left on the certificate, for the expiry alarm (a metric filter on this log).
  let stopExpiryReport = reportCertificateExpiry(log, options.current.cert);
  // A renewed certificate written over the files is taken up in place, without a restart.
  const watch = keyFile && certFile
    ? watchCertificateFiles(keyFile, certFile, options.current, (credentials) => {
      options.apply(credentials);
      stopExpiryReport();
      stopExpiryReport = reportCertificateExpiry(log, credentials.cert);
    }, log)
    : null;
  const poller = options.secretArn && keyFile && certFile
    ? new TlsSecretPoller({
      secrets: new SecretsManagerClient(awsOnlyClientOptions(options.region)), secretId: options.secretArn,
      keyFile, certFile, intervalMs: options.secretPollMs, log,
    })
    : null;
  poller?.start();
  return {
    stop() {
      stopExpiryReport();
      watch?.close();
      poller?.stop();
    },
  };
}
