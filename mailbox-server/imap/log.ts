// Structured logs of the mailbox server: one JSON object per line; the composition root
// decides where lines go (stdout in the container, nowhere in tests).

export type LogFields = Record<string, unknown>;

export interface ServerLog {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

function errorFields(fields: LogFields): LogFields {
  const err = fields.err;
  if (!(err instanceof Error)) return fields;
  return { ...fields, err: { name: err.name, message: err.message, stack: err.stack?.split('\n').slice(0, 4).join(' | ') } };
}

export function jsonLog(write: (line: string) => void, service = 'mailbox-server'): ServerLog {
  const emit = (level: string) => (event: string, fields: LogFields = {}) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, service, event, ...errorFields(fields) }) + '\n');
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLog: ServerLog = { info() {}, warn() {}, error() {} };
