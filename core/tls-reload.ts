// A renewed certificate taken up in place: the TLS key and chain files are watched, and a new pair
// whose key belongs to its certificate is handed to the services, which make it the context of
// every later handshake (tls.Server#setSecureContext, and the context STARTTLS upgrades with).
// Sessions already open keep the keys they negotiated, so nothing is dropped.
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { ServiceLog } from './log.ts';
import type { TlsCredentials } from './tls.ts';

export interface CertificateFileWatch {
  close(): void;
}

/**
 * Watches `keyFile` and `certFile` and calls `apply` with each new matching pair. The folders are
 * watched, not the files: a writer that replaces a file by rename (the safe way to publish one)
 * leaves a watch on the old file's inode blind. Events are let settle for `settleMs`, because the
 * key and the chain are two writes; a pair that does not match yet (one file written, the other
 * not) is logged and skipped, and the next write tries again.
 */
export function watchCertificateFiles(
  keyFile: string,
  certFile: string,
  current: TlsCredentials,
  apply: (credentials: TlsCredentials) => void,
  log: ServiceLog,
  settleMs = 200,
): CertificateFileWatch {
  const files = new Set([resolve(keyFile), resolve(certFile)]);
  let applied = current;
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    let next: TlsCredentials;
    try {
      next = { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
      if (next.key === applied.key && next.cert === applied.cert) return;
      // Throws when the key does not belong to the certificate, or either is not PEM.
      createSecureContext({ key: next.key, cert: next.cert });
    } catch (err) {
      log.warn('tls.reload-skipped', { keyFile, certFile, err });
      return;
    }
    apply(next);
    applied = next;
    log.info('tls.reloaded', { keyFile, certFile });
  };
  const watchers: FSWatcher[] = [...new Set([...files].map((f) => dirname(f)))].map((folder) =>
    watch(folder, { persistent: false }, (_event, name) => {
      if (name !== null && !files.has(resolve(folder, basename(name.toString())))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(reload, settleMs);
    }),
  );
  for (const w of watchers) w.on('error', (err) => log.warn('tls.watch-failed', { err }));
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
