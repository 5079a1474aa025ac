// The edge as a process (smtp-edge/main.ts): killed with SIGKILL mid-DATA it loses nothing and
// files nothing; on SIGTERM it drains (new connections refused, the session in flight gets 250).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { expectReply, inboundEvent, openTransaction, rawKeys, receiveInbound, spawnEdgeProcess, startEdgeWorld, type EdgeWorld } from './helpers.ts';

let world: EdgeWorld;
before(async () => { world = await startEdgeWorld(); });
after(async () => { await world?.close(); });

function connectOutcome(port: number): Promise<'refused' | 'connected'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve('connected'); });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'connected'));
  });
}

test('SIGKILL during DATA: the client gets no 250 and nothing is queued or stored', async (t) => {
  const edge = await spawnEdgeProcess(t, world);
  const wire = await openTransaction(edge.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write('Subject: doomed\r\n\r\n' + 'this message never completes\r\n'.repeat(200));
  // a second session proves the process is alive and serving right before the kill
  const probe = await openTransaction(edge.port);
  probe.destroy();
  const exited = new Promise((r) => edge.child.once('exit', r));
  edge.child.kill('SIGKILL');
  await exited;
  wire.write('last line\r\n.\r\n');
  assert.equal(await wire.reply(), '', 'the connection closed without any reply');
  await wire.closed;
  assert.deepEqual(await receiveInbound(world.world, 1), []);
  assert.deepEqual(await rawKeys(world.world), []);
});

test('SIGTERM drains: new connections refused, the transaction in flight completes with 250, then exit 0', async (t) => {
  const edge = await spawnEdgeProcess(t, world);
  const wire = await openTransaction(edge.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write('Subject: in flight\r\n\r\nfirst half\r\n');
  const exited = new Promise<number | null>((r) => edge.child.once('exit', (code) => r(code)));
  edge.child.kill('SIGTERM');
  await edge.waitFor('service.draining');
  assert.equal(await connectOutcome(edge.port), 'refused');
  const reply = await wire.command('second half\r\n.');
  const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(reply)?.[1];
  assert.ok(id, reply);
  // the transaction is over: the next command ends the session
  assert.match(await wire.command('MAIL FROM:<again@remote.test>'), /^421 4\.3\.2 /);
  assert.equal(await exited, 0);
  const event = await inboundEvent(world.world, id);
  const blob = await world.blobs.getBuffer(event.key);
  assert.ok(blob.toString('latin1').endsWith('Subject: in flight\r\n\r\nfirst half\r\nsecond half\r\n'));
});
