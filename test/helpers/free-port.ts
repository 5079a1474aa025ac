// A port nothing listens on now, for a program we start that must be told its port (Dovecot,
// Postfix, DynamoDB Local, a container): the kernel picks it, we close it and pass it on.
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
