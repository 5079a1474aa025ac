// The reported stall, end to end: the local stack with MAIL_SMARTHOST_HOST/PORT pointed at a
// server that does not offer STARTTLS (as Postfix's smtp-sink), one message submitted on the
// submission port. The attempt is counted with its reason at once, logged as an error with the
// host, shown by `mailctl queue show`; the runner never reports a timed-out invocation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import nodemailer from 'nodemailer';
import { OutboundQueueStore, type OutboundRecord } from '../../../core/outbound/queue-store.ts';
import { startTestStack, type TestStack } from '../../helpers/stack.ts';
import { eventually, outgoingMessage } from './helpers.ts';
import { HostileSmtp, reply } from './hostile-smtp.ts';

const MAIN = fileURLToPath(new URL('../../../cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

let sink: HostileSmtp;
let stack: TestStack;

before(async () => {
  // smtp-sink's answer to a command it does not know, STARTTLS included.
  sink = new HostileSmtp({ command: (verb) => (verb === 'STARTTLS' ? reply('500 5.5.1 Error: command not recognized') : undefined) });
  await sink.start();
  stack = await startTestStack({
    components: ['smtp-edge', 'inbound-runner', 'relay-runner'],
    componentEnv: {
      'smtp-edge': { SMTP_SMTPS_PORT: '0' },
      // As the report: only host and port; STARTTLS required and verification on by default.
      // The first retry is far enough away that this test sees exactly one attempt.
      'relay-runner': { MAIL_SMARTHOST_HOST: '127.0.0.1', MAIL_SMARTHOST_PORT: String(sink.port), MAIL_RELAY_FIRST_RETRY_SECONDS: '600', RUNNER_WAIT_TIME_SECONDS: '1' },
    },
  });
});

after(async () => {
  await stack?.close();
  await sink?.stop();
});

function mailctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, MAIN, '--data-dir', stack.dataDir, ...args], { cwd: tmpdir(), timeout: 60_000, env: { ...process.env, MAIL_DATA_DIR: '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test('a smarthost without STARTTLS: the attempt is counted with its reason within seconds, not after a 150 s stall', { timeout: 120_000 }, async () => {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1', port: stack.ports.submission, secure: false, requireTLS: true,
    auth: { user: stack.demo.address, pass: stack.demoPassword }, tls: { rejectUnauthorized: false },
  });
  const submitted = Date.now();
  await transport.sendMail({ envelope: { from: stack.demo.address, to: ['carol@far.example'] }, raw: outgoingMessage(stack.demo.address, 'carol@far.example', 'Via the smarthost') });
  transport.close();

  const records = new OutboundQueueStore(stack.clients.doc, stack.config.resources.tables.deliveries);
  const record = await eventually(async () => (await records.list()).find((r: OutboundRecord) => r.event.attempts.length > 0), 'the attempt on record', 60_000);
  const ms = Date.now() - submitted;
  assert.ok(ms < 30_000, `recorded after ${ms} ms`);
  assert.equal(record.state, 'deferred');
  assert.equal(record.event.attempts.length, 1);
  assert.match(record.event.attempts[0]!.error, /^451 4\.7\.4 127\.0\.0\.1 did not offer STARTTLS, which this relay requires for it \(STARTTLS answered: 500 5\.5\.1 Error: command not recognized\)$/);
  assert.equal(record.lastError, record.event.attempts[0]!.error);
  assert.equal(sink.deliveries.length, 0);
  assert.ok(!sink.commands.some(([, l]) => l.startsWith('MAIL')), 'nothing sent in plaintext');

  const show = await mailctl(['queue', 'show', record.id]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^state:\s+deferred$/m);
  assert.match(show.stdout, /^attempt 1:\s+\S+ \S+\s+451 4\.7\.4 127\.0\.0\.1 did not offer STARTTLS/m);
  const list = await mailctl(['queue', 'list']);
  assert.match(list.stdout, new RegExp(`${record.id}\\s+deferred\\s+\\S+\\s+1\\s+1\\s`), 'ATTEMPTS 1');

  const relayLines = stack.logs.filter((l) => l.startsWith('[relay-runner]'));
  const failed = relayLines.find((l) => l.includes('delivery attempt failed'));
  assert.ok(failed, `an error line for the attempt:\n${relayLines.slice(-10).join('\n')}`);
  assert.match(failed, /"level":"ERROR"/);
  assert.match(failed, /"host":"127\.0\.0\.1"/);
  assert.match(failed, /did not offer STARTTLS/);
  assert.ok(!relayLines.some((l) => /timed out after/i.test(l) && l.includes('batch settled')), 'no invocation timed out');
});
