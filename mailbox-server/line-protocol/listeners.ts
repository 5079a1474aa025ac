// The listeners of the line protocols (IMAP and POP3): cleartext ports that offer STARTTLS/STLS
// and implicit-TLS ports (RFC 8314), the per-address cap on unauthenticated connections, a
// certificate replaced in place for later handshakes, and stopping. What a connection then says
// is the protocol's; everything a connection gets before its first word is here, once.
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext, type Server as TlsServer } from 'node:tls';
import type { ConnectionSlot, ConnectionsPerAddress } from '../../core/connections-per-address.ts';
import type { ServiceLog } from '../../core/log.ts';
import type { TlsCredentials } from '../../core/tls.ts';
import { CLOSE_GRACE_MS } from './guards.ts';

/** Where a listener binds when it is not told: loopback, so nothing is exposed by accident. */
export const DEFAULT_BIND_HOST = '127.0.0.1';

export interface LineListener {
  /** Key of the bound port in `ports` (e.g. "imap", "imaps"). */
  readonly name: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  readonly implicitTls: boolean;
}

/** What a connection is given once it is admitted. */
export interface AcceptedConnection {
  readonly socket: Socket;
  /** TLS from the first byte (implicit-TLS port). */
  readonly secure: boolean;
  /** Its place in the per-address count of unauthenticated connections; released at login. */
  readonly preLoginSlot: ConnectionSlot;
  /** The context a STARTTLS upgrade uses now (a replaced certificate applies to later upgrades). */
  readonly secureContext: () => SecureContext;
}

export interface LineListenersOptions {
  /** Names log events (`<protocol>.listening`, `<protocol>.connection-refused`). */
  readonly protocol: 'imap' | 'pop3';
  readonly listeners: readonly LineListener[];
  readonly tls: TlsCredentials;
  readonly preLoginConnections: ConnectionsPerAddress;
  /** The protocol's way of refusing a connection before its greeting (IMAP BYE, POP3 -ERR). */
  readonly refusal: Buffer;
  readonly log: ServiceLog;
  readonly accept: (connection: AcceptedConnection) => void;
}

export interface LineListeners {
  readonly ports: Readonly<Record<string, number>>;
  /** A renewed key and chain for every later handshake, implicit or upgraded; open sessions keep theirs. */
  replaceTls(credentials: TlsCredentials): void;
  /** Stops accepting; resolves once every listener is closed (open connections are the caller's). */
  stopListening(): Promise<void>;
}

export async function startLineListeners(options: LineListenersOptions): Promise<LineListeners> {
  const { protocol, log } = options;
  let secureContext = createSecureContext({ key: options.tls.key, cert: options.tls.cert });
  const tlsServers: TlsServer[] = [];

  const admit = (secure: boolean) => (socket: Socket) => {
    socket.on('error', () => undefined);
    // A response is several writes (untagged data, then the status line); with Nagle's algorithm
    // the last one waits for the client's delayed ACK, about 40 ms per command.
    socket.setNoDelay(true);
    const remote = socket.remoteAddress ?? 'unknown';
    const preLoginSlot = options.preLoginConnections.admit(remote);
    if (!preLoginSlot) {
      log.warn(`${protocol}.connection-refused`, { ip: remote, reason: 'per-address-pre-login-limit' });
      socket.end(options.refusal);
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      return;
    }
    options.accept({ socket, secure, preLoginSlot, secureContext: () => secureContext });
  };

  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  const stopListening = () => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
  try {
    for (const listener of options.listeners) {
      let server: Server;
      if (listener.implicitTls) {
        const tlsServer = createTlsServer({ key: options.tls.key, cert: options.tls.cert }, admit(true));
        // A failed handshake concerns one client, not the server.
        tlsServer.on('tlsClientError', (err, socket) => {
          log.info(`${protocol}.tls-failed`, { ip: socket.remoteAddress, err });
          socket.destroy();
        });
        tlsServers.push(tlsServer);
        server = tlsServer;
      } else {
        server = createTcpServer(admit(false));
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listener.port, listener.host ?? DEFAULT_BIND_HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => log.error(`${protocol}.listener-error`, { err, listener: listener.name }));
      servers.push(server);
      ports[listener.name] = (server.address() as AddressInfo).port;
    }
  } catch (err) {
    await stopListening();
    throw err;
  }
  log.info(`${protocol}.listening`, { ports });

  return {
    ports,
    replaceTls(credentials) {
      secureContext = createSecureContext({ key: credentials.key, cert: credentials.cert });
      for (const server of tlsServers) server.setSecureContext({ key: credentials.key, cert: credentials.cert });
    },
    stopListening,
  };
}
