// Test harness for the SMTP edge: a real edge (in-process or as a child process) on random
// loopback ports over the emulators, a raw SMTP wire client for hostile input, the real
// clients (python smtplib, curl, swaks), and readers for what landed in S3 and SQS.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { TestContext } from 'node:test';
import { BlobStore } from '../../core/blobs.ts';
import { coreConfigToEnv, type CoreConfig } from '../../core/config.ts';
import { inboundEventSchema, type InboundEvent } from '../../core/contracts.ts';
import { QueueSender } from '../../core/queues.ts';
import { createStore } from '../../core/store/index.ts';
import type { Directory } from '../../core/store/types.ts';
import { loadOrCreateSelfSignedCertificate, type TlsCredentials } from '../../core/tls.ts';
import { startSmtpEdge, type SmtpEdge, type SmtpEdgeOptions } from '../../smtp-edge/server.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { SocketReader } from '../helpers/socket-reader.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');

/** Reverse DNS answer the edge gets for every client, so Received: is predictable. */
export const CLIENT_RDNS = 'client.rdns.test';
export const fixedResolver = { reverse: (_ip: string, cb: (err: Error | null, names?: string[]) => void) => cb(null, [CLIENT_RDNS]) };

/** The demo account's credentials (startEdgeWorld creates it). */
export const DEMO = { user: 'demo@example.test', password: 'correct horse battery staple' } as const;

/** RFC 4616 PLAIN initial response: authzid NUL authcid NUL password, base64. */
export function plainToken(user: string, password: string, authzid = ''): string {
  return Buffer.from(`${authzid}\0${user}\0${password}`, 'utf8').toString('base64');
}

/** An in-process edge with the MX and both submission listeners, closed when the test ends. */
export async function startSubmissionEdge(t: TestContext, world: EdgeWorld, overrides: Partial<SmtpEdgeOptions> = {}): Promise<SmtpEdge & { mx: number; submission: number; submissions: number }> {
  const edge = await startSmtpEdge({
    ...world.edgeOptions,
    listeners: [
      { name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' },
      { name: 'submission', role: 'submission', port: 0, host: '127.0.0.1' },
      { name: 'submissions', role: 'submissions', port: 0, host: '127.0.0.1' },
    ],
    ...overrides,
    limits: { ...world.edgeOptions.limits, ...overrides.limits },
  });
  t.after(() => edge.close());
  return Object.assign(edge, { mx: edge.ports.mx!, submission: edge.ports.submission!, submissions: edge.ports.submissions! });
}

export interface EdgeWorld {
  readonly world: TestWorld;
  readonly directory: Directory;
  readonly tls: TlsCredentials;
  readonly blobs: BlobStore;
  /** Options the in-process edges are started with (override per edge). */
  readonly edgeOptions: SmtpEdgeOptions;
  close(): Promise<void>;
}

/**
 * Emulators, resources and the directory: domain example.test with account demo, alias
 * sales → demo; domain catchall.test whose catch-all goes to demo.
 */
export async function startEdgeWorld(options: { mail?: Partial<CoreConfig['mail']> } = {}): Promise<EdgeWorld> {
  const world = await startTestWorld(options.mail ? { mail: options.mail } : {});
  try {
    const { directory } = createStore(world.clients, world.config.resources);
    await directory.addDomain('example.test');
    await directory.addDomain('catchall.test');
    await directory.addAccount('demo@example.test', 'correct horse battery staple');
    await directory.addAlias('sales@example.test', ['demo@example.test']);
    await directory.addAlias('@catchall.test', ['demo@example.test']);
    const tls = await loadOrCreateSelfSignedCertificate(join(world.dataDir, 'tls'), world.config.mail.hostname);
    const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
    const edgeOptions: SmtpEdgeOptions = {
      mail: world.config.mail,
      directory,
      blobs,
      queue: new QueueSender(world.clients.sqs),
      inboundQueueUrl: world.config.resources.queues.inbound,
      tls,
      listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' }],
      resolver: fixedResolver,
      // lenient defaults; the submission tests that need tight limits start their own edge
      submission: {
        limits: { maxMessagesPerHour: 1000, maxRecipientsPerMessage: 100 },
        counter: directory,
        authThrottle: { freeFailures: 1000 },
      },
      // a test that ends with a session mid-transaction must not wait the production grace
      limits: { drainGraceMs: 2000 },
    };
    return { world, directory, tls, blobs, edgeOptions, close: () => world.close() };
  } catch (err) {
    await world.close();
    throw err;
  }
}

/** An in-process edge, closed when the test ends (even on failure). */
export async function startEdge(t: TestContext, world: EdgeWorld, overrides: Partial<SmtpEdgeOptions> = {}): Promise<SmtpEdge & { port: number }> {
  const edge = await startSmtpEdge({ ...world.edgeOptions, ...overrides, limits: { ...world.edgeOptions.limits, ...overrides.limits } });
  t.after(() => edge.close());
  return Object.assign(edge, { port: edge.ports.mx! });
}

/** Reads what the inbound queue holds now (deletes nothing; messages become invisible for 30 s). */
export async function receiveInbound(world: TestWorld, waitSeconds = 0): Promise<InboundEvent[]> {
  const out = await world.clients.sqs.send(new ReceiveMessageCommand({
    QueueUrl: world.config.resources.queues.inbound, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, VisibilityTimeout: 30,
  }));
  // parse() throws on a malformed event, which fails the test
  return (out.Messages ?? []).map((m) => inboundEventSchema.parse(JSON.parse(m.Body!)));
}

/** The one inbound event with this id, waiting for it briefly. */
export async function inboundEvent(world: TestWorld, id: string): Promise<InboundEvent> {
  for (let i = 0; i < 5; i++) {
    const found = (await receiveInbound(world, 1)).find((e) => e.id === id);
    if (found) return found;
  }
  throw new Error(`no inbound event with id ${id}`);
}

export async function rawKeys(world: TestWorld): Promise<string[]> {
  const out = await world.clients.s3.send(new ListObjectsV2Command({ Bucket: world.config.resources.bucket, Prefix: 'raw/' }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/**
 * Splits a stored blob into its trace headers (Return-Path, the MX's Authentication-Results when
 * it verified the message, Received) and the client's bytes.
 */
export function splitTrace(blob: Buffer): { returnPath: string; authenticationResults: string | null; received: string; rest: Buffer } {
  const text = blob.toString('latin1');
  const m = /^(Return-Path: [^\r\n]*)\r\n(?:(Authentication-Results: [^\r\n]*(?:\r\n\t[^\r\n]*)*)\r\n)?(Received: [^\r\n]*(?:\r\n\t[^\r\n]*)*)\r\n/.exec(text);
  if (!m) throw new Error(`blob does not start with Return-Path and Received: ${JSON.stringify(text.slice(0, 300))}`);
  return { returnPath: m[1]!, authenticationResults: m[2] ?? null, received: m[3]!, rest: blob.subarray(Buffer.byteLength(m[0], 'latin1')) };
}

export const QUEUED = /^250 2\.0\.0 Ok: queued as ([A-Za-z0-9_-]{16,})$/m;

/** A raw SMTP client for hostile input: sends exactly the bytes it is given, reads whole replies. */
export class SmtpWire {
  private readonly reader: SocketReader;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.reader = new SocketReader(socket);
    this.closed = this.reader.closed;
  }

  get ended(): boolean {
    return this.reader.isClosed;
  }

  /** Implicit TLS (RFC 8314, port 465); the edge's certificate is self-signed. */
  static async connectTls(port: number, options: { localAddress?: string } = {}): Promise<{ wire: SmtpWire; greeting: string }> {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const wire = new SmtpWire(socket);
    return { wire, greeting: await wire.reply() };
  }

  /** RFC 3207: STARTTLS, then the same session continues on a new wire over TLS. */
  async startTls(): Promise<SmtpWire> {
    const reply = await this.command('STARTTLS');
    if (!reply.startsWith('220 ')) throw new Error(`STARTTLS refused: ${reply}`);
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    return new SmtpWire(secure);
  }

  static async connect(port: number, options: { waitGreeting?: boolean; localAddress?: string } = {}): Promise<{ wire: SmtpWire; greeting: string }> {
    const socket = net.connect({ port, host: '127.0.0.1', ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const wire = new SmtpWire(socket);
    const greeting = options.waitGreeting === false ? '' : await wire.reply();
    return { wire, greeting };
  }

  /** The next complete reply (all lines of a multi-line one), or '' if the server closed. */
  async reply(timeoutMs = 10_000): Promise<string> {
    // RFC 5321 §4.2.1: the last line of a reply has a space (or nothing) after its code.
    const lastLine = /^\d{3}(?: [^\r\n]*)?\r\n/m;
    const bytes = await this.reader.take((b) => {
      const text = b.toString('latin1');
      const m = lastLine.exec(text);
      return m ? m.index + m[0].length : -1;
    }, `a reply within ${timeoutMs} ms`, timeoutMs);
    return bytes === null ? '' : bytes.toString('latin1').replace(/\r\n$/, '');
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Sends one command line (CRLF added) and returns its reply. */
  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a session up to an accepted RCPT; returns the wire. */
export async function openTransaction(port: number, rcpt = 'demo@example.test', from = 'sender@remote.test'): Promise<SmtpWire> {
  const { wire } = await SmtpWire.connect(port);
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  await expectReply(wire.command(`MAIL FROM:<${from}>`), /^250 /);
  await expectReply(wire.command(`RCPT TO:<${rcpt}>`), /^250 /);
  return wire;
}

export async function expectReply(reply: Promise<string>, pattern: RegExp): Promise<string> {
  const text = await reply;
  if (!pattern.test(text)) throw new Error(`reply ${JSON.stringify(text)} does not match ${pattern}`);
  return text;
}

export interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** Runs a client program to completion (asynchronously, so the in-process edge keeps serving). */
export function run(command: string, args: string[], input?: string | Buffer, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(input ?? '');
  });
}

/** swaks is a Debian package (.ci/run installs it); a missing binary fails loudly, never skips. */
export function requireSwaks(): string {
  const found = spawnSync('sh', ['-c', 'command -v swaks'], { encoding: 'utf8' });
  if (found.status !== 0 || !found.stdout.trim()) {
    throw new Error('swaks is not installed: run `apt-get install -y swaks` (the .ci/run script installs it)');
  }
  return found.stdout.trim();
}

/** Starts smtp-edge/main.ts as a child process and waits for its ready line. */
export async function spawnEdgeProcess(t: TestContext, world: EdgeWorld, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; lines: string[]; waitFor(event: string): Promise<Record<string, unknown>> }> {
  const child = spawn(NODE, ['--import', 'tsx', join(ROOT, 'smtp-edge', 'main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...coreConfigToEnv(world.world.config),
      SMTP_PORT: '0',
      SMTP_HOST: '127.0.0.1',
      TLS_DIR: join(world.world.dataDir, 'tls'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const lines: string[] = [];
  const listeners: Array<() => void> = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const l of listeners.splice(0)) l();
  });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = async (event: string): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      for (const l of lines) {
        try {
          const parsed = JSON.parse(l) as Record<string, unknown>;
          if (parsed.event === event) return parsed;
        } catch { /* not JSON: fails below if it is all we get */ }
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`edge exited before "${event}": ${stderr}`);
      if (Date.now() > deadline) throw new Error(`edge did not log "${event}" in time: ${stderr}`);
      await Promise.race([new Promise<void>((r) => listeners.push(r)), exited, new Promise((r) => setTimeout(r, 1000))]);
    }
  };
  const ready = await waitFor('ready');
  return { child, port: (ready.ports as Record<string, number>).mx!, lines, waitFor };
}
