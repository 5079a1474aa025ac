// Test harness for the IMAP server: emulators (startTestWorld), two accounts, the server in-process
// on random loopback ports, a way to deliver a message the way the inbound path files it, and a
// raw-line client so tests read like the RFC examples. Call `close()` in `after`.
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { after, before } from 'node:test';
import { BlobStore, rawBlobKey } from '../../../../core/blobs.ts';
import { indexMessage } from '../../../../core/mime/index.ts';
import { createStore, type Store } from '../../../../core/store/index.ts';
import { createSelfSignedCertificate } from '../../../../core/tls.ts';
import { startImapServer, type ImapServer, type ImapServerOptions } from '../../../../mailbox-server/imap/server.ts';
import { startTestWorld, type TestWorld } from '../../../helpers/emulators.ts';
import { connectSocket, SocketReader } from '../../../helpers/socket-reader.ts';

export const ALICE = { user: 'alice@example.test', password: 'alice-secret-1' };
export const BOB = { user: 'bob@example.test', password: 'bob-secret-22' };

export interface ImapWorld {
  readonly world: TestWorld;
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly server: ImapServer;
  readonly port: number;
  readonly tlsPort: number;
  /** Files a raw message into `mailbox` of `account` as the inbound Lambda does (blob first). */
  deliver(account: string, raw: Buffer | string, options?: { mailbox?: string; flags?: string[]; internalDate?: string }): Promise<number>;
  /** Another server on the same store (a second Fargate task), e.g. with changed options. */
  startServer(options?: Partial<ImapServerOptions>): Promise<ImapServer>;
  /**
   * A raw client on the first server, greeted, logged in as `account` and, with `select`, in that
   * mailbox: the usual start of a command's tests. `close()` closes it.
   */
  loggedIn(account?: { user: string; password: string }, select?: string): Promise<RawImap>;
  close(): Promise<void>;
}

export async function startImapWorld(options: Partial<ImapServerOptions> = {}): Promise<ImapWorld> {
  const world = await startTestWorld();
  const servers: ImapServer[] = [];
  const clients: RawImap[] = [];
  try {
    const store = createStore(world.clients, world.config.resources);
    const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
    await store.directory.addDomain('example.test');
    await store.directory.addAccount(ALICE.user, ALICE.password);
    await store.directory.addAccount(BOB.user, BOB.password);
    const now = new Date();
    const tls = createSelfSignedCertificate('localhost', ['localhost', '127.0.0.1'], new Date(now.getTime() - 3600_000), new Date(now.getTime() + 86400_000));
    const startServer = async (extra: Partial<ImapServerOptions> = {}) => {
      const server = await startImapServer({
        store: store.mailStore,
        directory: store.directory,
        blobs,
        tls,
        hostname: 'imap.test.local',
        listeners: [
          { name: 'imap', port: 0, host: '127.0.0.1', implicitTls: false },
          { name: 'imaps', port: 0, host: '127.0.0.1', implicitTls: true },
        ],
        limits: { idlePollMs: 200 },
        ...options,
        ...extra,
      });
      servers.push(server);
      return server;
    };
    const server = await startServer();
    return {
      world,
      store,
      blobs,
      server,
      port: server.ports.imap!,
      tlsPort: server.ports.imaps!,
      startServer,
      async loggedIn(account = ALICE, select) {
        const c = await RawImap.connect(server.ports.imap!);
        clients.push(c);
        await c.line();
        await c.login(account.user, account.password);
        if (select !== undefined) await c.command(`SELECT ${select}`);
        return c;
      },
      async deliver(account, raw, o = {}) {
        const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
        const key = rawBlobKey(randomUUID(), new Date());
        await blobs.put(key, bytes);
        const filed = await store.mailStore.fileMessage({
          account,
          mailbox: o.mailbox ?? 'INBOX',
          deliveryKey: randomUUID(),
          blobKey: key,
          size: bytes.length,
          internalDate: o.internalDate ?? new Date().toISOString(),
          flags: o.flags ?? [],
          index: indexMessage(bytes),
        });
        return filed.uid;
      },
      async close() {
        for (const c of clients) c.close();
        for (const s of servers) await s.close().catch(() => undefined);
        await world.close();
      },
    };
  } catch (err) {
    for (const s of servers) await s.close().catch(() => undefined);
    await world.close();
    throw err;
  }
}

/**
 * The `before` and `after` of a file or `describe` of IMAP tests that open their own connections:
 * a world (its first server with `server` options), handed to `use` (which may seed it); closed after.
 */
export function imapWorldSuite(use: (w: ImapWorld) => unknown, server: Partial<ImapServerOptions> = {}): void {
  let world: ImapWorld | undefined;
  before(async () => {
    world = await startImapWorld(server);
    await use(world);
  });
  after(async () => {
    await world?.close();
  });
}

export interface ImapSuiteOptions {
  /** Options of the world's first server. */
  readonly server?: Partial<ImapServerOptions>;
  /** What the suite's tests start from (mailboxes, deliveries), before the client logs in. */
  readonly seed?: (w: ImapWorld) => Promise<unknown>;
  /** The mailbox the client has selected. */
  readonly select?: string;
}

/** As `imapWorldSuite`, with a raw client logged in as Alice handed to `use` beside the world. */
export function imapSuite(use: (w: ImapWorld, alice: RawImap) => void, options: ImapSuiteOptions = {}): void {
  imapWorldSuite(async (w) => {
    await options.seed?.(w);
    use(w, await w.loggedIn(ALICE, options.select));
  }, options.server);
}

/** A line-level IMAP client for protocol tests: send a line, read lines up to the tagged answer. */
export class RawImap {
  private readonly reader: SocketReader;
  private tagCounter = 0;

  private constructor(readonly socket: Socket) {
    this.reader = new SocketReader(socket);
  }

  /** `localAddress`: another loopback address (127.0.0.2, ...) to stand for another client host. */
  static async connect(port: number, tls = false, localAddress?: string): Promise<RawImap> {
    return new RawImap(await connectSocket(port, { tls, ...(localAddress ? { localAddress } : {}) }));
  }

  get closed(): boolean {
    return this.reader.isClosed;
  }

  /** The next CRLF-terminated line (literals arrive as their own lines/bytes), or null at end. */
  line(timeoutMs = 5000): Promise<string | null> {
    return this.reader.line(timeoutMs);
  }

  /** Exactly n raw bytes (a literal's content). */
  bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    return this.reader.bytes(n, timeoutMs);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends `tag command` and returns every line up to and including the tagged answer (literals inlined). */
  async command(command: string, tag = `t${++this.tagCounter}`): Promise<string[]> {
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag);
  }

  async until(tag: string, timeoutMs = 10_000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      let line = await this.line(timeoutMs);
      if (line === null) throw new Error(`connection closed before ${tag} completed; got ${JSON.stringify(lines)}`);
      // Inline literals so assertions can look at whole responses.
      for (let m = /\{(\d+)\}$/.exec(line); m; m = /\{(\d+)\}$/.exec(line)) {
        const data = await this.bytes(Number(m[1]));
        const rest = (await this.line(timeoutMs)) ?? '';
        line = `${line}\r\n${data.toString('utf8')}${rest}`;
      }
      lines.push(line);
      if (line.startsWith(`${tag} `)) return lines;
    }
  }

  async login(user: string, password: string): Promise<void> {
    const lines = await this.command(`LOGIN ${user} ${password}`);
    if (!lines[lines.length - 1]!.includes(' OK ')) throw new Error(`login failed: ${lines.join(' | ')}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Runs a Python 3 script (imaplib and friends) and returns its stdout; stderr on failure. */
export function runPython(script: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script], { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs curl and returns stdout. */
export function runCurl(args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A small RFC 5322 message with CRLF line ends. */
export function sampleMessage(subject: string, body = 'Hello there.\r\n', extraHeaders = ''): string {
  return `From: Carol <carol@remote.test>\r\nTo: Alice <alice@example.test>\r\nSubject: ${subject}\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <${randomUUID()}@remote.test>\r\n${extraHeaders}\r\n${body}`;
}
