// A renewed certificate reaches a running task: the TLS secret in Secrets Manager is read every few
// minutes, and when its version changes the key and chain are written over the files the services
// watch (core/tls-reload.ts), each by rename, so the watcher takes the pair up in place. One path
// reloads a certificate: the file watch; this only brings the secret's new version to the files.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ServiceLog } from './log.ts';

/** What the poller needs of a Secrets Manager client (tests answer it with a middleware). */
export type SecretReader = Pick<SecretsManagerClient, 'send'>;

export interface TlsSecretPollerOptions {
  readonly secrets: SecretReader;
  /** ARN (or name) of the secret holding JSON `{"key": "<PEM>", "chain": "<PEM>"}`. */
  readonly secretId: string;
  readonly keyFile: string;
  readonly certFile: string;
  readonly intervalMs: number;
  readonly log: ServiceLog;
}

/** The outcome of one poll, for the log and the tests. */
export type TlsSecretPoll = 'unchanged' | 'written' | 'same-as-files' | 'invalid' | 'failed';

export class TlsSecretPoller {
  private lastVersion: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TlsSecretPoll> | undefined;

  constructor(private readonly options: TlsSecretPollerOptions) {}

  /** Polls every `intervalMs` from now on; the timer never holds the process open. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One read of the secret; a poll already under way is joined, not doubled. */
  poll(): Promise<TlsSecretPoll> {
    this.running ??= this.readAndWrite().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async readAndWrite(): Promise<TlsSecretPoll> {
    const { secrets, secretId, keyFile, certFile, log } = this.options;
    let version: string | undefined;
    let text: string | undefined;
    try {
      const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
      version = out.VersionId;
      text = out.SecretString;
    } catch (err) {
      // Secrets Manager unreachable or throttled: the files keep the pair they have; next poll retries.
      log.warn('tls.secret-poll-failed', { secretId, err });
      return 'failed';
    }
    if (version !== undefined && version === this.lastVersion) return 'unchanged';
    let key: string;
    let chain: string;
    try {
      const parsed = JSON.parse(text ?? '') as { key?: unknown; chain?: unknown };
      if (typeof parsed.key !== 'string' || typeof parsed.chain !== 'string') throw new Error('the secret has no string "key" and "chain"');
      ({ key, chain } = parsed);
      // Throws when the key does not belong to the certificate, or either is not PEM.
      createSecureContext({ key, cert: chain });
    } catch (err) {
      // Remembered, so a bad version is reported once, not every poll; a new version is read again.
      this.lastVersion = version;
      log.error('tls.secret-invalid', { secretId, versionId: version, err: err instanceof Error ? err.message : String(err) });
      return 'invalid';
    }
    // The entrypoint wrote the files from this same secret with a trailing newline (printf '%s\n').
    const withNewline = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);
    const same = readIfExists(keyFile) === withNewline(key) && readIfExists(certFile) === withNewline(chain);
    if (!same) {
      writeAtomically(keyFile, withNewline(key));
      writeAtomically(certFile, withNewline(chain));
    }
    this.lastVersion = version;
    if (same) return 'same-as-files';
    log.info('tls.secret-written', { secretId, versionId: version });
    return 'written';
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes a temp file beside `file` (owner-only) and renames it over `file`: a reader sees the old or the new bytes, never half. */
function writeAtomically(file: string, content: string): void {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, file);
}

/** Minutes, not seconds: a renewal lands weeks before expiry, and each poll is a billed request per task. */
export const DEFAULT_TLS_SECRET_POLL_SECONDS = 300;
