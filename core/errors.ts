// How an error is written into a log line.

/** An error as a short loggable value: name and message, no stack or payloads. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
