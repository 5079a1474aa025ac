// The TLS settings both services read from their environment, and what they start with: a key
// and chain from files (in AWS, written there from the TLS secret; docs/decisions/0005-tls.md and
// 0012-acm-exportable-certificate.md), or else a self-signed certificate cached in a folder.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TLS_SECRET_POLL_SECONDS } from './tls-secret-poller.ts';
import type { TlsRenewalOptions } from './tls-renewal.ts';
import { loadOrCreateSelfSignedCertificate, readTlsCredentials, type TlsCredentials } from './tls.ts';

/** The schema fields, to spread into a service's environment schema; `service` names the self-signed folder. */
export function tlsEnvironmentFields(service: string) {
  return {
    TLS_KEY_FILE: z.string().min(1).optional(),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_SECRET_ARN: z.string().min(1).optional(),
    TLS_SECRET_POLL_SECONDS: z.coerce.number().int().min(10).default(DEFAULT_TLS_SECRET_POLL_SECONDS),
    TLS_DIR: z.string().min(1).default(join(tmpdir(), `mail-${service}-tls`)),
  };
}

export interface TlsEnvironment {
  readonly TLS_KEY_FILE?: string | undefined;
  readonly TLS_CERT_FILE?: string | undefined;
  readonly TLS_SECRET_ARN?: string | undefined;
  readonly TLS_SECRET_POLL_SECONDS: number;
  readonly TLS_DIR: string;
}

/** The rules between the fields, for the schema's superRefine: both files or neither; the secret needs the files. */
export function checkTlsEnvironment(env: Pick<TlsEnvironment, 'TLS_KEY_FILE' | 'TLS_CERT_FILE' | 'TLS_SECRET_ARN'>, ctx: z.RefinementCtx): void {
  if (Boolean(env.TLS_KEY_FILE) !== Boolean(env.TLS_CERT_FILE)) ctx.addIssue({ code: 'custom', message: 'set both TLS_KEY_FILE and TLS_CERT_FILE, or neither' });
  if (env.TLS_SECRET_ARN && !env.TLS_KEY_FILE) {
    ctx.addIssue({ code: 'custom', message: 'TLS_SECRET_ARN needs TLS_KEY_FILE and TLS_CERT_FILE: the poller writes the files the services watch' });
  }
}

/** The pair the listeners start with. */
export function initialTlsCredentials(env: TlsEnvironment, hostname: string): Promise<TlsCredentials> | TlsCredentials {
  return env.TLS_KEY_FILE && env.TLS_CERT_FILE ? readTlsCredentials(env.TLS_KEY_FILE, env.TLS_CERT_FILE) : loadOrCreateSelfSignedCertificate(env.TLS_DIR, hostname);
}

/** Where renewed pairs come from (startTlsRenewal's sources), from the same settings. */
export function tlsRenewalSources(env: TlsEnvironment, region: string): Pick<TlsRenewalOptions, 'keyFile' | 'certFile' | 'secretArn' | 'secretPollMs' | 'region'> {
  return {
    ...(env.TLS_KEY_FILE ? { keyFile: env.TLS_KEY_FILE } : {}),
    ...(env.TLS_CERT_FILE ? { certFile: env.TLS_CERT_FILE } : {}),
    ...(env.TLS_SECRET_ARN ? { secretArn: env.TLS_SECRET_ARN } : {}),
    secretPollMs: env.TLS_SECRET_POLL_SECONDS * 1000,
    region,
  };
}
