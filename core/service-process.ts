// The life cycle every service process shares (Fargate task or local supervisor child): say when
// it is ready, and on SIGTERM/SIGINT drain, then exit.
import type { ServiceLog } from './log.ts';

/** The line the supervisor and the tests wait for: `{"event":"ready", ...details}` (services: `ports`). */
export function announceReady(details: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event: 'ready', ...details })}\n`);
}

/**
 * On SIGTERM or SIGINT: start `drain` (which must stop accepting connections synchronously, before
 * its first await), then log `draining` — so whoever reads that line can rely on new connections
 * being refused — and exit 0 once it resolves (1 if it fails). Later signals are ignored.
 */
export function drainOnSignals(log: ServiceLog, drain: () => Promise<void>, afterDrain: () => void = () => {}): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const drained = drain();
    log.info('service.draining', { signal });
    drained.then(
      () => {
        log.info('service.stopped');
        afterDrain();
        // pipes to a parent are written synchronously on Linux, so nothing logged is lost
        process.exit(0);
      },
      (err: unknown) => {
        log.error('service.stop-failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
