// Shared pieces of the POP3 tests: an in-process server over the emulators with accounts and
// filed messages, a line-level client that sees exact bytes, and a runner for Python poplib.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { BlobStore, rawBlobKey } from '../../../core/blobs.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { createStore, type Store } from '../../../core/store/index.ts';
import { DynamoMaildropLocks } from '../../../core/store/maildrop-lock.ts';
import { createSelfSignedCertificate } from '../../../core/tls.ts';
import { LoginFailureCounter } from '../../../core/login-failures.ts';
import { startPop3Server, type Pop3Server, type Pop3ServerOptions } from '../../../mailbox-server/pop3/server.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { connectSocket, SocketReader, type ConnectOptions } from '../../helpers/socket-reader.ts';

export const PASSWORD = 'correct horse battery';

export interface Pop3Rig {
  readonly world: TestWorld;
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly locks: DynamoMaildropLocks;
  /** A fresh account with INBOX and the given messages filed in order. */
  account(messages?: Buffer[]): Promise<string>;
  /** Files `raw` byte for byte (no edge headers) into the account's INBOX. */
  file(account: string, raw: Buffer): Promise<number>;
  /** A POP3 server over this world; stopped by `close()`. */
  server(options?: Partial<Pop3ServerOptions>): Promise<Pop3Server>;
  close(): Promise<void>;
}

export async function startPop3Rig(): Promise<Pop3Rig> {
  const world = await startTestWorld();
  const store = createStore(world.clients, world.config.resources);
  const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
  const locks = new DynamoMaildropLocks(world.clients.doc, world.config.resources.tables);
  const now = new Date();
  const tls = createSelfSignedCertificate('localhost', ['localhost', '127.0.0.1'], new Date(now.getTime() - 60_000), new Date(now.getTime() + 86_400_000));
  const servers: Pop3Server[] = [];
  const domain = `p${randomBytes(3).toString('hex')}.test`;
  let domainReady: Promise<unknown> | null = null;
  let accounts = 0;

  const file = async (account: string, raw: Buffer) => {
    const key = rawBlobKey(randomBytes(10).toString('hex'), new Date());
    await blobs.put(key, raw);
    const filed = await store.mailStore.fileMessage({
      account,
      mailbox: 'INBOX',
      deliveryKey: randomBytes(8).toString('hex'),
      blobKey: key,
      size: raw.length,
      internalDate: new Date().toISOString(),
      flags: [],
      index: indexMessage(raw),
    });
    return filed.uid;
  };

  return {
    world,
    store,
    blobs,
    locks,
    file,
    async account(messages = []) {
      domainReady ??= store.directory.addDomain(domain);
      await domainReady;
      const address = `user${++accounts}@${domain}`;
      await store.directory.addAccount(address, PASSWORD);
      for (const raw of messages) await file(address, raw);
      return address;
    },
    async server(options = {}) {
      const server = await startPop3Server({
        directory: store.directory,
        store: store.mailStore,
        blobs,
        locks,
        // Every test client comes from 127.0.0.1: keep the shared per-IP delay short here.
        throttle: new LoginFailureCounter({ baseDelayMs: 1, maxDelayMs: 5 }),
        tls,
        ports: { plain: 0, tls: 0 },
        hostname: 'pop.test.local',
        ...options,
      });
      servers.push(server);
      return server;
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await world.close();
    },
  };
}

/** A rig with one server on it: the start of most POP3 test files. */
export async function startPop3Service(): Promise<{ rig: Pop3Rig; server: Pop3Server }> {
  const rig = await startPop3Rig();
  try {
    return { rig, server: await rig.server() };
  } catch (err) {
    await rig.close();
    throw err;
  }
}

/** A client on `port` that has read the greeting. */
export async function greetedOn(port: number, tls = false): Promise<RawPop3> {
  const c = await RawPop3.connect(port, { tls });
  assert.match(await c.line(), /^\+OK /);
  return c;
}

/** A client on `port` logged in as `account` with USER and PASS (RFC 1939 §7). */
export async function loggedInOn(port: number, account: string): Promise<RawPop3> {
  const c = await greetedOn(port);
  assert.match(await c.command(`USER ${account}`), /^\+OK/);
  assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
  return c;
}

/** Base64 of UTF-8 text, as SASL (RFC 4422) sends credentials. */
export const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** A message with CRLF line ends, as the edge stores it. */
export function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}

/**
 * A POP3 client at the line level: what the RFC examples show, byte for byte. `line()` reads one
 * response line; `multi()` reads a multi-line body up to "." and undoes the dot-stuffing.
 */
export class RawPop3 {
  private readonly reader: SocketReader;

  private constructor(readonly socket: Socket) {
    this.reader = new SocketReader(socket);
  }

  /** `localAddress`: another loopback address (127.0.0.2, ...) to stand for another client host. */
  static async connect(port: number, options: ConnectOptions = {}): Promise<RawPop3> {
    return new RawPop3(await connectSocket(port, options));
  }

  private async taken(end: (buffered: Buffer) => number, what: string, timeoutMs = 10_000): Promise<Buffer> {
    const bytes = await this.reader.take(end, what, timeoutMs);
    if (bytes === null) throw new Error(`connection closed; unread: ${JSON.stringify(this.reader.unread)}`);
    return bytes;
  }

  /** One response line without CRLF. */
  async line(timeoutMs = 10_000): Promise<string> {
    const line = await this.taken((b) => (b.indexOf('\r\n') < 0 ? -1 : b.indexOf('\r\n') + 2), 'a response line', timeoutMs);
    return line.subarray(0, -2).toString('latin1');
  }

  /** The body of a multi-line response (after its status line), un-stuffed, CRLFs kept. */
  async multi(): Promise<Buffer> {
    const whole = await this.taken((b) => {
      if (b.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 3;
      const at = b.indexOf('\r\n.\r\n');
      return at < 0 ? -1 : at + 5;
    }, 'a multi-line response');
    const body = whole.subarray(0, whole.length - 3);
    return Buffer.from(body.toString('latin1').replace(/^\.\./gm, '.'), 'latin1');
  }

  send(raw: string | Buffer): void {
    this.socket.write(raw);
  }

  /** Sends a command line and returns the status line. */
  async command(line: string, timeoutMs = 10_000): Promise<string> {
    this.send(`${line}\r\n`);
    return this.line(timeoutMs);
  }

  /** Resolves when the server has closed the connection. */
  async closed(timeoutMs = 10_000): Promise<void> {
    await this.reader.take((b) => (this.reader.isClosed ? b.length : -1), 'the server to close', timeoutMs);
  }

  get isClosed(): boolean {
    return this.reader.isClosed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Runs a Python script (poplib and friends) with a time bound; returns its stdout parsed as JSON. */
export function runPython<T>(script: string, args: string[] = [], timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`python failed: ${error.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`python printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}
