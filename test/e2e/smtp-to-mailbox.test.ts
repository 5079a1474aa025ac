// End to end through the whole local stack (SMTP edge, inbound runner, mailbox server as
// processes): a message sent with Python smtplib comes back byte-identical through IMAP (imaplib,
// curl imap://, fetchmail) and POP3 (poplib), and an idling imapflow session is woken by it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fetchmailOnce } from '../helpers/fetchmail.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ImapFlow } from 'imapflow';
import { createStore } from '../../core/store/index.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ components: ['emulators', 'smtp-edge', 'inbound-runner', 'mailbox-server'] });
});
after(async () => {
  await stack?.close();
});

/** The original as the sender wrote it: CRLF, a dot-leading line (SMTP transparency, RFC 5321 §4.5.2), a long line. */
const BODY = `Hello from smtplib.\r\n.a line that starts with a dot\r\n..two dots\r\n${'x'.repeat(900)}\r\n\r\nlast line\r\n`;
const original = (subject: string) =>
  Buffer.from(
    `From: Sender <sender@remote.test>\r\nTo: Demo <demo@example.test>\r\nSubject: ${subject}\r\nDate: Tue, 14 Mar 2023 09:26:53 +0100\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${BODY}`,
  );

function run(command: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'buffer', timeout: 30_000, maxBuffer: 16 << 20, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new Error(`${command} is not installed`));
      else if (error) reject(new Error(`${command} failed: ${error.message}\n${stderr.toString()}\n${stack.logs.slice(-30).join('\n')}`));
      else resolve(stdout);
    });
    child.stdin?.end(options.input ?? '');
  });
}

const python = (script: string, args: string[]) => run('python3', ['-c', script, ...args]);

const SEND = String.raw`
import smtplib, sys
port, rcpt, raw = int(sys.argv[1]), sys.argv[2], sys.stdin.buffer.read()
with smtplib.SMTP('127.0.0.1', port, timeout=15) as s:
    s.ehlo('client.remote.test')
    s.sendmail('sender@remote.test', [rcpt], raw)
`;

/** imaplib BODY.PEEK[] and BODY.PEEK[TEXT] of the message with `subject`, then poplib RETR of it. */
const READ = String.raw`
import base64, imaplib, json, poplib, sys
imap_port, pop_port, user, password, subject = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
m = imaplib.IMAP4('127.0.0.1', imap_port, timeout=15)
m.login(user, password)
m.select('INBOX', readonly=True)
typ, data = m.search(None, 'SUBJECT', '"' + subject + '"')
seq = data[0].split()[-1]
typ, full = m.fetch(seq, '(BODY.PEEK[])')
typ, text = m.fetch(seq, '(BODY.PEEK[TEXT])')
m.logout()
p = poplib.POP3('127.0.0.1', pop_port, timeout=15)
p.user(user); p.pass_(password)
retr = None
for i in range(1, p.stat()[0] + 1):
    lines = p.retr(i)[1]
    raw = b''.join(l + b'\r\n' for l in lines)
    if ('Subject: ' + subject).encode() in raw: retr = raw
p.quit()
print(json.dumps({'full': base64.b64encode(full[0][1]).decode(), 'text': base64.b64encode(text[0][1]).decode(), 'retr': base64.b64encode(retr).decode() if retr else None}))
`;

async function send(subject: string): Promise<Buffer> {
  const raw = original(subject);
  await run('python3', ['-c', SEND, String(stack.ports.smtp), stack.demo.address], { input: raw.toString('latin1') });
  return raw;
}

/** The stored blob of the message with `subject`, once the inbound runner has filed it. */
async function storedBlob(subject: string): Promise<Buffer> {
  const store = createStore(stack.clients, stack.config.resources);
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const item of await store.mailStore.listMessages(stack.demo.address, 'INBOX')) {
      const blob = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.config.resources.bucket, Key: item.blobKey }));
      const bytes = Buffer.from(await blob.Body!.transformToByteArray());
      if (bytes.includes(`Subject: ${subject}\r\n`)) return bytes;
    }
    if (Date.now() > deadline) throw new Error(`"${subject}" was not filed\n${stack.logs.slice(-30).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('smtplib → stack → imaplib BODY[] and poplib RETR byte-identical; BODY[TEXT] is the original body; imapflow IDLE wakes', async (t) => {
  const idler = new ImapFlow({ host: '127.0.0.1', port: stack.ports.imap, secure: false, doSTARTTLS: false, auth: { user: stack.demo.address, pass: stack.demoPassword }, logger: false });
  await idler.connect();
  const lock = await idler.getMailboxLock('INBOX');
  t.after(() => {
    lock.release();
    idler.close();
  });
  const before = (idler.mailbox as { exists: number }).exists;
  const woken = new Promise<number>((resolve) => idler.on('exists', (data: { count: number }) => resolve(data.count)));
  // idle() settles only when the session leaves IDLE (here: close in t.after).
  idler.idle().catch(() => undefined);

  const sentAt = Date.now();
  const raw = await send('end to end one');
  const count = await Promise.race([woken, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('IDLE was not woken within 15 s')), 15_000))]);
  assert.equal(count, before + 1, 'EXISTS in the idling session');
  t.diagnostic(`delivery seen by IDLE after ${Date.now() - sentAt} ms`);

  // The stored blob is the trace headers (RFC 5321 §4.4) and the MX's Authentication-Results
  // (RFC 8601) in front of the original, untouched. With no outside DNS here every check is none.
  const blob = await storedBlob('end to end one');
  assert.ok(blob.subarray(blob.length - raw.length).equals(raw), 'the blob ends with the original bytes');
  const trace = blob.subarray(0, blob.length - raw.length).toString('latin1');
  assert.match(trace, /^Return-Path: <sender@remote\.test>\r\nAuthentication-Results: [^;\r\n]+;\r\n\tspf=(none|temperror) smtp\.mailfrom=sender@remote\.test;\r\n(\t[^\r\n]*\r\n)+Received: from client\.remote\.test [\s\S]*\r\n$/);
  assert.equal(trace.match(/^\S/gm)?.length, 3, 'exactly Return-Path, Authentication-Results and Received in front');

  const read = JSON.parse((await python(READ, [String(stack.ports.imap), String(stack.ports.pop3), stack.demo.address, stack.demoPassword, 'end to end one'])).toString()) as { full: string; text: string; retr: string | null };
  assert.ok(Buffer.from(read.full, 'base64').equals(blob), 'IMAP BODY[] is the stored blob, byte for byte');
  assert.ok(read.retr && Buffer.from(read.retr, 'base64').equals(blob), 'POP3 RETR is the stored blob, byte for byte');
  assert.equal(Buffer.from(read.text, 'base64').toString('latin1'), BODY, 'BODY[TEXT] is the original body');
});

test('curl imap:// lists the delivered message and fetches it whole', async () => {
  const raw = await send('end to end curl');
  const blob = await storedBlob('end to end curl');
  assert.ok(blob.subarray(blob.length - raw.length).equals(raw));
  const auth = ['-sS', '--max-time', '20', '--user', `${stack.demo.address}:${stack.demoPassword}`];
  const listing = (await run('curl', [...auth, `imap://127.0.0.1:${stack.ports.imap}/`])).toString();
  assert.match(listing, /\* LIST \([^)]*\) "\/" "?INBOX"?/);
  const search = (await run('curl', [...auth, `imap://127.0.0.1:${stack.ports.imap}/INBOX?SUBJECT%20%22end%20to%20end%20curl%22`])).toString();
  const uid = /^\* SEARCH (\d+)/m.exec(search)?.[1];
  assert.ok(uid, `SEARCH found it: ${search}`);
  const fetched = await run('curl', [...auth, '-k', `imaps://127.0.0.1:${stack.ports.imaps}/INBOX/;UID=${uid}`]);
  assert.ok(fetched.equals(blob), 'curl imaps:// fetch is the stored blob');
});

// fetchmail over IMAP rather than mutt: fetchmail runs without a terminal and hands each message
// to an MDA we control, so the bytes can be compared; mutt needs a tty (tmux) and screen scraping.
test('fetchmail over IMAPS in batch mode hands the MDA the message', async () => {
  const raw = await send('end to end fetchmail');
  const blob = await storedBlob('end to end fetchmail');
  const fetched = await fetchmailOnce([
    `poll 127.0.0.1 service ${stack.ports.imaps} protocol IMAP timeout 20`,
    `  user "${stack.demo.address}" there with password "${stack.demoPassword}" is "root" here`,
    '  folder "INBOX"',
    '  ssl no sslcertck',
    '  keep fetchall',
  ]);
  const mine = fetched.find((m) => m.includes('Subject: end to end fetchmail'));
  assert.ok(mine, `fetchmail delivered it (${fetched.length} messages)`);
  // fetchmail adds its own Received: line (after the Return-Path) and gives the MDA LF line ends;
  // without that line it is the stored message.
  const lf = (b: Buffer) => b.toString('latin1').replace(/\r\n/g, '\n');
  const withoutFetchmailTrace = lf(mine).replace(/^Received: [^\n]*\n(?:[ \t][^\n]*\n)*?[ \t][^\n]*\(fetchmail[^\n]*\n(?:[ \t][^\n]*\n)*/m, '');
  assert.equal(withoutFetchmailTrace, lf(blob), 'the MDA got the stored message');
  assert.ok(lf(blob).endsWith(lf(raw)));
});
