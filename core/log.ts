// Structured logs of the long-running services: one JSON object per line, so CloudWatch and the
// local supervisor can parse them; the composition root decides where the lines go.

export type LogFields = Record<string, unknown>;

export interface ServiceLog {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

function errorFields(fields: LogFields): LogFields {
  const err = fields.err;
  if (!(err instanceof Error)) return fields;
  return {
    ...fields,
    err: { name: err.name, message: err.message, code: (err as { code?: unknown }).code, stack: err.stack?.split('\n').slice(0, 4).join(' | ') },
  };
}

/** Writes `{"time","level","service","event",...fields}` lines to `write`. */
export function jsonLog(write: (line: string) => void, service: string): ServiceLog {
  const emit = (level: string) => (event: string, fields: LogFields = {}) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, service, event, ...errorFields(fields) }) + '\n');
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLog: ServiceLog = { info() {}, warn() {}, error() {} };
