// Bare LF and bare CR in DATA (RFC 5321 §2.3.8), and SMTP smuggling. Each smuggling variant
// hides a second transaction after a fake end of data. Whatever the policy: DATA ends only at
// CRLF.CRLF, the hidden commands never run, and at most the outer message is queued, once.
// `normalize` stores bare-LF lines with CRLF (a `.` line so ended is content); `reject` refuses
// them with 554 5.6.0; a bare CR is refused under both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { BareLineFeedPolicy } from '../../core/config.ts';
import { inboundEventSchema, type InboundEvent } from '../../core/contracts.ts';
import { LineEndingFilter } from '../../smtp-edge/line-endings.ts';
import { expectReply, openTransaction, QUEUED, rawKeys, splitTrace, startEdge, startEdgeWorld, startSubmissionEdge, SmtpWire, plainToken, DEMO, type EdgeWorld } from './helpers.ts';

let world: EdgeWorld;
before(async () => {
  world = await startEdgeWorld();
});
after(async () => {
  await world?.close();
});

/** Takes every inbound event queued so far off the queue, so each test sees only its own. */
async function takeInbound(): Promise<InboundEvent[]> {
  const { sqs } = world.world.clients;
  const QueueUrl = world.world.config.resources.queues.inbound;
  const events: InboundEvent[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) return events;
    for (const m of messages) {
      events.push(inboundEventSchema.parse(JSON.parse(m.Body!)));
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

const SMUGGLED = 'MAIL FROM:<smuggler@evil.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\nFrom: ceo@example.test\r\n\r\nsmuggled\r\n';
const BARE_LF_VARIANTS: Record<string, string> = {
  '\\n.\\n': '\n.\n',
  '\\r\\n.\\n': '\r\n.\n',
  '\\n.\\r\\n': '\n.\r\n',
  'bare LF in a line': 'a line\nwith a bare LF\r\n',
};
const BARE_CR_VARIANTS: Record<string, string> = {
  '\\r.\\r': '\r.\r',
  '\\r.\\r\\n': '\r.\r\n',
  'bare CR in a line': 'a line\rwith a bare CR\r\n',
};

/** Sends a message carrying `variant` plus a smuggled transaction; returns the reply to the real end. */
async function sendSmuggling(port: number, variant: string): Promise<{ reply: string; wire: SmtpWire }> {
  await takeInbound();
  const wire = await openTransaction(port);
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write(`Subject: smuggling\r\n\r\nfirst part${variant}${SMUGGLED}`);
  const reply = await wire.command('.');
  // had the hidden MAIL/RCPT/DATA run, their replies would come before this one
  assert.match(await wire.command('NOOP'), /^250 2\.0\.0 OK$/);
  return { reply, wire };
}

for (const [name, variant] of Object.entries(BARE_LF_VARIANTS)) {
  test(`normalize, ${name}: the outer message is queued once with CRLF lines, the hidden one never`, async (t) => {
    const edge = await startEdge(t, world);
    const keysBefore = await rawKeys(world.world);
    const { reply, wire } = await sendSmuggling(edge.port, variant);
    t.after(() => wire.destroy());
    const id = QUEUED.exec(reply)?.[1];
    assert.ok(id, `queued: ${reply}`);
    const events = await takeInbound();
    assert.deepEqual(events.map((e) => [e.id, e.mailFrom, e.rcptTo]), [[id, 'sender@remote.test', ['demo@example.test']]]);
    assert.equal((await rawKeys(world.world)).length, keysBefore.length + 1, 'one blob stored');
    const { rest } = splitTrace(await world.blobs.getBuffer(events[0]!.key));
    const expected = `Subject: smuggling\r\n\r\nfirst part${variant}${SMUGGLED}`.replace(/(?<!\r)\n/g, '\r\n');
    assert.equal(rest.toString('latin1'), expected);
    assert.doesNotMatch(rest.toString('latin1'), /(?<!\r)\n/, 'no bare LF stored');
    assert.equal(events[0]!.size, (await world.blobs.getBuffer(events[0]!.key)).length, 'the event counts the stored bytes');
  });

  test(`reject, ${name}: 554 5.6.0, hidden commands never run, nothing queued`, async (t) => {
    const edge = await startEdge(t, world, { listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1', bareLineFeeds: 'reject' }] });
    const keysBefore = await rawKeys(world.world);
    const { reply, wire } = await sendSmuggling(edge.port, variant);
    t.after(() => wire.destroy());
    assert.match(reply, /^554 5\.6\.0 .*bare LF/);
    assert.deepEqual(await takeInbound(), []);
    assert.deepEqual(await rawKeys(world.world), keysBefore);
  });
}

for (const policy of ['normalize', 'reject'] as const) {
  for (const [name, variant] of Object.entries(BARE_CR_VARIANTS)) {
    test(`${policy}, ${name}: a bare CR is refused with 554 5.6.0, nothing queued`, async (t) => {
      const edge = await startEdge(t, world, { listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1', bareLineFeeds: policy }] });
      const keysBefore = await rawKeys(world.world);
      const { reply, wire } = await sendSmuggling(edge.port, variant);
      t.after(() => wire.destroy());
      assert.match(reply, /^554 5\.6\.0 .*bare CR/);
      assert.deepEqual(await takeInbound(), []);
      assert.deepEqual(await rawKeys(world.world), keysBefore);
    });
  }
}

test('bare CR split across TCP segments is still caught', async (t) => {
  const edge = await startEdge(t, world);
  await takeInbound();
  const wire = await openTransaction(edge.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write('Subject: split\r\n\r\nends in CR\r');
  await new Promise<void>((resolve) => wire.socket.write('', () => resolve()));
  wire.write('X not LF\r\n');
  assert.match(await wire.command('.'), /^554 5\.6\.0 /);
  assert.deepEqual(await takeInbound(), []);
});

test('submission has its own setting: reject there while the MX normalizes', async (t) => {
  const edge = await startSubmissionEdge(t, world, {
    listeners: [
      { name: 'mx', role: 'mx', port: 0, host: '127.0.0.1', bareLineFeeds: 'normalize' },
      { name: 'submission', role: 'submission', port: 0, host: '127.0.0.1', bareLineFeeds: 'reject' },
      { name: 'submissions', role: 'submissions', port: 0, host: '127.0.0.1', bareLineFeeds: 'reject' },
    ],
  });
  await takeInbound();
  const { wire } = await SmtpWire.connectTls(edge.submissions);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  await expectReply(wire.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password)}`), /^235 /);
  await expectReply(wire.command(`MAIL FROM:<${DEMO.user}>`), /^250 /);
  await expectReply(wire.command('RCPT TO:<demo@example.test>'), /^250 /);
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write('Subject: from a script\n\nwritten with bare LF\r\n');
  assert.match(await wire.command('.'), /^554 5\.6\.0 .*bare LF/);
  assert.deepEqual(await takeInbound(), []);

  const mx = await openTransaction(edge.mx);
  t.after(() => mx.destroy());
  await expectReply(mx.command('DATA'), /^354 /);
  mx.write('Subject: from a script\n\nwritten with bare LF\r\n');
  assert.match(await mx.command('.'), QUEUED);
  assert.equal((await takeInbound()).length, 1);
});

// The filter alone, over every split of a message into two chunks: the output never depends on
// where TCP cut the stream.
test('LineEndingFilter: the same bytes whatever the chunk boundaries', () => {
  const inputs = ['a\nb\r\nc\n', '\n\n\r\n.\n', 'x\r\ny\r\n', 'tail\n', '\r\n\n'];
  const run = (policy: BareLineFeedPolicy, chunks: string[]) => {
    const filter = new LineEndingFilter(policy);
    const out: Buffer[] = [];
    for (const chunk of chunks) {
      const result = filter.scan(Buffer.from(chunk, 'latin1'));
      if (result.problem) return result.problem;
      out.push(result.bytes);
    }
    return filter.finish() ?? Buffer.concat(out).toString('latin1');
  };
  for (const input of inputs) {
    const whole = run('normalize', [input]);
    assert.equal(whole, input.replace(/(?<!\r)\n/g, '\r\n'));
    for (let cut = 0; cut <= input.length; cut++) {
      assert.equal(run('normalize', [input.slice(0, cut), input.slice(cut)]), whole, `normalize ${JSON.stringify(input)} cut at ${cut}`);
      assert.equal(run('reject', [input.slice(0, cut), input.slice(cut)]), run('reject', [input]), `reject ${JSON.stringify(input)} cut at ${cut}`);
    }
  }
  assert.equal(run('normalize', ['a\r', 'b\r\n']), 'bare CR');
  assert.equal(run('normalize', ['a\r']), 'bare CR');
  assert.equal(run('reject', ['a\r', '\nb\n']), 'bare LF');
});
