// Waiting for something that happens elsewhere (a message filed, a queue drained): poll with a
// deadline, never a fixed sleep.

/**
 * Polls `check` every `intervalMs` until it returns a value (not undefined/false), or fails after
 * `timeoutMs`. A short interval suits a check on in-process state; one over the network wants more.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Proves an absence as far as a test can: `check` must hold at every look during `windowMs` (a
 * bounded wait, stated as one, for "nothing more happens", which no event can signal).
 */
export async function holdsFor(check: () => boolean, what: string, windowMs: number): Promise<void> {
  const until = Date.now() + windowMs;
  for (;;) {
    if (!check()) throw new Error(`no longer true: ${what}`);
    if (Date.now() >= until) return;
    await new Promise((r) => setTimeout(r, Math.min(10, until - Date.now())));
  }
}

/** Lets `windowMs` pass, for a test that measures what happens in a window of time (a rate). */
export function measurementWindow(windowMs: number): Promise<void> {
  return new Promise((r) => setTimeout(r, windowMs));
}
