// The IMAP command framer: lines, synchronising and non-synchronizing literals (RFC 3501 §7.5,
// RFC 7888), APPENDLIMIT (RFC 7889), over-long lines, and hostile byte streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapCommandReader, type ImapReaderEvent } from '../../../../mailbox-server/imap/wire/reader.ts';
import { defaultImapWireLimits, type ImapWireLimits } from '../../../../mailbox-server/imap/wire/limits.ts';

const reader = (limits: Partial<ImapWireLimits> = {}) => new ImapCommandReader({ ...defaultImapWireLimits, ...limits });
const text = (events: ImapReaderEvent[]) =>
  events.map((e) => (e.kind === 'command' ? e.chunks.map((c) => `${c.kind}:${c.bytes.toString('latin1')}`).join('|') : JSON.stringify(e)));

test('frames pipelined commands, with CRLF or bare LF, across arbitrary chunk boundaries', () => {
  const input = Buffer.from('a1 NOOP\r\na2 CAPABILITY\na3 LOGOUT\r\n');
  for (let split = 0; split <= input.length; split++) {
    const r = reader();
    const events = [...r.push(input.subarray(0, split)), ...r.push(input.subarray(split))];
    assert.deepEqual(text(events), ['line:a1 NOOP', 'line:a2 CAPABILITY', 'line:a3 LOGOUT']);
  }
});

test('RFC 3501 §7.5: a synchronising literal asks for "+" and is framed with its line', () => {
  const r = reader();
  // C: A003 APPEND saved-messages (\Seen) {11}
  assert.deepEqual(r.push(Buffer.from('A003 APPEND saved-messages (\\Seen) {11}\r\n')), [{ kind: 'continue', octets: 11 }]);
  assert.equal(r.stateKind, 'literal');
  assert.deepEqual(r.push(Buffer.from('Hello\r\n')), []);
  assert.deepEqual(text(r.push(Buffer.from('Bob!\r\n'))), ['line:A003 APPEND saved-messages (\\Seen) {11}|literal:Hello\r\nBob!|line:']);
});

test('RFC 7888: LITERAL+ literals need no continuation; literals may follow literals', () => {
  const r = reader();
  const events = r.push(Buffer.from('a LOGIN {4+}\r\nfred {3+}\r\n\x00\r\n\r\n'));
  assert.deepEqual(text(events), ['line:a LOGIN {4+}|literal:fred|line: {3+}|literal:\x00\r\n|line:']);
  assert.deepEqual(text(reader().push(Buffer.from('b LOGIN {0}\r\n {0}\r\n\r\n'))), [
    JSON.stringify({ kind: 'continue', octets: 0 }),
    JSON.stringify({ kind: 'continue', octets: 0 }),
    'line:b LOGIN {0}|literal:|line: {0}|literal:|line:',
  ]);
});

test('RFC 7889: a synchronising literal over APPENDLIMIT gets NO [TOOBIG] and the next command is read', () => {
  const r = reader({ maxLiteralOctets: 100 });
  const events = r.push(Buffer.from('A1 APPEND INBOX {101}\r\nA2 NOOP\r\n'));
  assert.deepEqual(events, [
    { kind: 'reject', tag: 'A1', status: 'NO', code: 'TOOBIG', text: 'Literal too big' },
    { kind: 'command', chunks: [{ kind: 'line', bytes: Buffer.from('A2 NOOP') }] },
  ]);
});

test('RFC 7888 §4: an oversized non-synchronizing literal is refused with BAD [TOOBIG] and its octets dropped', () => {
  const r = reader({ maxLiteralOctets: 10 });
  const events = r.push(Buffer.from('A1 APPEND INBOX {12+}\r\nA2 NOOP\r\nxx more {2+}\r\nzz\r\nA3 NOOP\r\n'));
  assert.deepEqual(text(events), [
    JSON.stringify({ kind: 'reject', tag: 'A1', status: 'BAD', code: 'TOOBIG', text: 'Literal too big' }),
    'line:A3 NOOP',
  ]);
});

test('LITERAL- allows non-synchronizing literals of at most 4096 octets', () => {
  const ok = reader({ nonSynchronizingLiterals: 'minus' }).push(Buffer.concat([Buffer.from('a X {4096+}\r\n'), Buffer.alloc(4096, 0x61), Buffer.from('\r\n')]));
  assert.equal(ok[0]?.kind, 'command');
  const big = reader({ nonSynchronizingLiterals: 'minus' }).push(Buffer.from('a X {4097+}\r\n'));
  assert.deepEqual(big, [{ kind: 'reject', tag: 'a', status: 'BAD', code: 'TOOBIG', text: 'Non-synchronizing literals are limited to 4096 octets' }]);
});

test('a non-synchronizing literal too big even to discard closes the connection', () => {
  const r = reader({ maxLiteralOctets: 10, maxDiscardOctets: 100 });
  const events = r.push(Buffer.from('a APPEND INBOX {999999999999+}\r\nb NOOP\r\n'));
  assert.deepEqual(events.map((e) => e.kind), ['reject', 'close']);
  assert.equal(r.stateKind, 'closed');
  assert.deepEqual(r.push(Buffer.from('c NOOP\r\n')), []);
});

test('non-synchronizing literals without LITERAL+ are refused cleanly; literal8 (RFC 3516) is framed like a literal', () => {
  const off = reader({ nonSynchronizingLiterals: 'off' }).push(Buffer.from('a LOGIN {3+}\r\nabc {1+}\r\nx\r\nb NOOP\r\n'));
  assert.deepEqual(text(off), [JSON.stringify({ kind: 'reject', tag: 'a', status: 'BAD', code: null, text: 'Non-synchronizing literals are not supported' }), 'line:b NOOP']);
  const binary = reader().push(Buffer.from('a APPEND INBOX ~{3}\r\nx\0y\r\nb NOOP\r\n'));
  assert.deepEqual(binary.map((e) => e.kind), ['continue', 'command', 'command']);
  const append = binary[1]!;
  assert.ok(append.kind === 'command');
  assert.deepEqual(append.chunks.map((c) => c.bytes.toString('latin1')), ['a APPEND INBOX ~{3}', 'x\0y', '']);
  const utf8 = reader().push(Buffer.from('a APPEND INBOX UTF8 (~{3+}\r\nabc)\r\nb NOOP\r\n'));
  assert.deepEqual(utf8.map((e) => e.kind), ['command', 'command']);
});

test('an over-long line is reported once, discarded to its end, and does not buffer', () => {
  const r = reader({ maxLineOctets: 1000 });
  const events: ImapReaderEvent[] = [];
  events.push(...r.push(Buffer.from('t1 SEARCH ')));
  for (let i = 0; i < 1024; i++) {
    events.push(...r.push(Buffer.alloc(1024, 0x41))); // 1 MB without a line end
    assert.ok(r.bufferedOctets <= 1001);
  }
  events.push(...r.push(Buffer.from('\r\nt2 NOOP\r\n')));
  assert.deepEqual(text(events), [JSON.stringify({ kind: 'reject', tag: 't1', status: 'BAD', code: null, text: 'Command line too long' }), 'line:t2 NOOP']);
});

test('an over-long line ending in a non-synchronizing literal does not smuggle the literal in as commands', () => {
  const r = reader({ maxLineOctets: 20 });
  const events = r.push(Buffer.from(`x ${'A'.repeat(50)} {11+}\r\ny DELETE a\r\nz NOOP\r\n`));
  assert.deepEqual(text(events), [JSON.stringify({ kind: 'reject', tag: 'x', status: 'BAD', code: null, text: 'Command line too long' }), 'line:z NOOP']);
});

test('the total command size is capped across literals', () => {
  const r = reader({ maxCommandOctets: 100, maxLiteralOctets: 80 });
  const events = r.push(Buffer.from('a LOGIN {60+}\r\n' + 'x'.repeat(60) + ' {60}\r\nb NOOP\r\n'));
  assert.deepEqual(events.map((e) => (e.kind === 'reject' ? e.code : e.kind)), ['TOOBIG', 'command']);
});

test('a literal announced but never sent leaves the reader waiting, holding only what arrived', () => {
  const r = reader();
  assert.deepEqual(r.push(Buffer.from('a APPEND INBOX {1000000}\r\n')), [{ kind: 'continue', octets: 1000000 }]);
  r.push(Buffer.alloc(10));
  assert.equal(r.stateKind, 'literal');
  assert.equal(r.bufferedOctets, 10 + 'a APPEND INBOX {1000000}'.length);
  // RFC 3501 §7.5: the server may answer NO instead of "+"; the client then sends no literal.
  r.abandonCommand();
  assert.deepEqual(text(r.push(Buffer.from('b NOOP\r\n'))), ['line:b NOOP']);
});

test('random bytes never throw and never buffer past the limits', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const alphabet = Buffer.from('a {}+~0123456789\r\n()"\\\x00\xff');
  const limits = { maxLineOctets: 256, maxLiteralOctets: 512, maxCommandOctets: 2048, maxDiscardOctets: 1024 };
  for (let n = 0; n < 300; n++) {
    const r = reader(limits);
    for (let k = 0; k < 20; k++) {
      const chunk = Buffer.alloc(next() % 200);
      for (let i = 0; i < chunk.length; i++) chunk[i] = alphabet[next() % alphabet.length]!;
      for (const event of r.push(chunk)) {
        if (event.kind === 'command') assert.ok(event.chunks.length > 0);
      }
      assert.ok(r.bufferedOctets <= limits.maxCommandOctets + limits.maxLineOctets);
    }
  }
});

test('one command at a time (before login): bytes after a command wait for release, under the limits then in force', () => {
  const small = { ...defaultImapWireLimits, maxLiteralOctets: 10, maxCommandOctets: 100 };
  const r = new ImapCommandReader(small);
  r.useLimits(small, { oneCommandAtATime: true });
  const events = r.push(Buffer.from('a LOGIN u p\r\nb APPEND INBOX {20}\r\n'));
  assert.deepEqual(text(events), ['line:a LOGIN u p']);
  assert.ok(r.holding);
  assert.equal(r.bufferedOctets, 'b APPEND INBOX {20}\r\n'.length);
  assert.deepEqual(r.push(Buffer.from('more')), [], 'held, not framed');
  // LOGIN succeeded: the APPEND is framed under the larger limits, so it gets "+", not NO [TOOBIG].
  r.useLimits(defaultImapWireLimits, { oneCommandAtATime: false });
  assert.deepEqual(r.release(), [{ kind: 'continue', octets: 20 }]);
  assert.ok(!r.holding);
  assert.equal(r.stateKind, 'literal');
});
