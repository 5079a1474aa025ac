// `npm start`: the whole mail system on this machine, data kept in `.mail-data/`, with a banner
// that says how to connect. Ctrl-C stops every component cleanly.
import { join } from 'node:path';
import { startLocalStack, REPO_ROOT, DEFAULT_PORTS, type LocalStack, type LocalPorts, type PortName } from './stack.ts';
import type { SupervisorEvent } from './supervisor.ts';
import { latencyModelFromEnv } from '../core/aws/latency.ts';

const dataDir = process.env.MAIL_DATA_DIR ?? join(REPO_ROOT, '.mail-data');

/** Port overrides from the environment, e.g. MAIL_SMTP_PORT=2526 (0 = any free port). */
function portsFromEnv(env: NodeJS.ProcessEnv): Partial<LocalPorts> {
  const ports: Partial<Record<keyof LocalPorts, number>> = {};
  for (const name of Object.keys(DEFAULT_PORTS) as (keyof LocalPorts)[]) {
    const value = env[`MAIL_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`];
    if (value !== undefined) ports[name] = Number(value);
  }
  return ports;
}

function describeEvent(event: SupervisorEvent): string | null {
  switch (event.type) {
    case 'exited':
      return event.expected ? null : `${event.component} (pid ${event.pid}) died: ${event.signal ?? `exit code ${event.code}`}`;
    case 'restarting':
      return `restarting ${event.component} in ${event.delayMs} ms (attempt ${event.attempt})`;
    case 'restart-failed':
      return `${event.component} failed to come back: ${event.error}`;
    case 'ready':
      return null;
    case 'spawned':
      return null;
  }
}

function banner(stack: LocalStack): string {
  const { ports, demo } = stack;
  const line = (name: PortName, what: string) =>
    `  ${String(ports[name]).padEnd(6)} ${what}`;
  const account = demo.password
    ? [`  address:  ${demo.address}`, `  password: ${demo.password}`, `  (also saved in ${demo.credentialsFile})`]
    : [`  address:  ${demo.address}`, `  password: see ${demo.credentialsFile}`];
  return [
    '',
    '  ✉  Local mail stack is up',
    '',
    demo.createdNow ? '  Demo account (created now, first run):' : '  Demo account:',
    ...account,
    '',
    '  Ports (127.0.0.1):',
    line('smtp', 'SMTP, the MX — STARTTLS offered (port 25 in AWS)'),
    line('submission', 'submission, STARTTLS + AUTH (587 in AWS)'),
    line('smtps', 'submission over TLS (465 in AWS)'),
    line('imap', 'IMAP, STARTTLS (143 in AWS)'),
    line('imaps', 'IMAP over TLS (993 in AWS)'),
    line('pop3', 'POP3, STLS (110 in AWS)'),
    line('pop3s', 'POP3 over TLS (995 in AWS)'),
    line('objectQueue', 'S3 + SQS emulator (fauxqs)'),
    line('dynamo', 'DynamoDB emulator (dynalite)'),
    '',
    `  TLS: self-signed certificate ${stack.tls.certFile}`,
    `  Data: ${stack.dataDir}  (delete it to start afresh)`,
    ...(stack.config.aws.latency
      ? [`  AWS latency model on: ${Object.entries(stack.config.aws.latency.medianMs).map(([s, ms]) => `${s} ${ms} ms`).join(', ')} median per request`]
      : []),
    '',
    '  Send a test mail:',
    `    swaks --server 127.0.0.1:${ports.smtp} --to ${demo.address} --from you@sender.test`,
    `    curl smtp://127.0.0.1:${ports.smtp} --mail-from you@example.org --mail-rcpt ${demo.address} \\`,
    `         --upload-file - <<< $'Subject: hello\\r\\n\\r\\nHi there\\r\\n'`,
    `    python3 -c "import smtplib; smtplib.SMTP('127.0.0.1', ${ports.smtp}).sendmail('you@example.org', ['${demo.address}'], 'Subject: hello\\r\\n\\r\\nHi there\\r\\n')"`,
    '',
    '  See it filed:',
    `    npx mailctl message list ${demo.address}`,
    `    curl -k --ssl-reqd "imap://127.0.0.1:${ports.imap}/INBOX;UID=1" -u '${demo.address}:${demo.password ?? '<password>'}'`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  let stack: LocalStack | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: the user does not want to wait for draining.
      process.stderr.write('\nforced exit\n');
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping the local stack…\n`);
    stopping = (stack?.stop() ?? Promise.resolve()).then(
      () => {
        process.stderr.write('stopped.\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`stop failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  process.stderr.write(`starting the local mail stack (data in ${dataDir})…\n`);
  stack = await startLocalStack({
    dataDir,
    ports: portsFromEnv(process.env),
    hostname: process.env.MAIL_HOSTNAME ?? 'localhost',
    latency: latencyModelFromEnv(process.env),
    onEvent: (event) => {
      const text = describeEvent(event);
      if (text) process.stderr.write(`[supervisor] ${text}\n`);
    },
  });
  // A signal that arrived while starting: stop now that there is something to stop.
  if (stopping) return;
  process.stdout.write(`${banner(stack)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`could not start the local stack: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
