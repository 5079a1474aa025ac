// POP3 wire: command framing and limits (RFC 1939 §3, RFC 2449 §4), SASL lines (RFC 5034),
// status lines with extended codes (RFC 2449 §8, RFC 3206), and dot-stuffing (RFC 1939 §3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pop3LineReader } from '../../../../mailbox-server/pop3/wire/line-reader.ts';
import { err, multiLine, ok, Pop3Error, saslChallenge } from '../../../../mailbox-server/pop3/wire/responses.ts';
import { createDotStuffStream, DotStuffer } from '../../../../mailbox-server/pop3/wire/dot-stuffer.ts';

const lines = (reader: Pop3LineReader, input: string) =>
  reader.push(Buffer.from(input, 'latin1')).map((e) => (e.kind === 'error' ? `ERR ${e.response.toString().trim()}` : JSON.stringify(e)));

test('commands: case-insensitive keyword, arguments, CRLF or LF, any chunking', () => {
  const input = 'user mrose\r\nPASS tanstaaf with spaces\r\nSTAT\nretr 1\r\n';
  const expected = [
    { kind: 'command', keyword: 'USER', args: ['mrose'] },
    { kind: 'command', keyword: 'PASS', args: ['tanstaaf with spaces'] },
    { kind: 'command', keyword: 'STAT', args: [] },
    { kind: 'command', keyword: 'RETR', args: ['1'] },
  ];
  for (let split = 0; split < input.length; split += 7) {
    const reader = new Pop3LineReader();
    const events = [...reader.push(Buffer.from(input.slice(0, split))), ...reader.push(Buffer.from(input.slice(split)))];
    assert.deepEqual(events, expected);
  }
});

test('malformed commands get -ERR and the session goes on', () => {
  const reader = new Pop3LineReader();
  assert.deepEqual(lines(reader, 'RETRIEVE 1\r\nLIST  1\r\nTOP ' + '1'.repeat(41) + ' 1\r\nUS\r\nSTAT\x00\r\nNOOP\r\n'), [
    'ERR -ERR Unknown command',
    'ERR -ERR Invalid argument syntax',
    'ERR -ERR Argument too long',
    'ERR -ERR Unknown command',
    'ERR -ERR Invalid characters in command',
    JSON.stringify({ kind: 'command', keyword: 'NOOP', args: [] }),
  ]);
});

test('RFC 2449 §4: a line over 255 octets is refused once and dropped to its end, even across chunks', () => {
  const reader = new Pop3LineReader();
  const events = [...reader.push(Buffer.from('USER ' + 'a'.repeat(300))), ...reader.push(Buffer.alloc(1024 * 1024, 0x61)), ...reader.push(Buffer.from('\r\nQUIT\r\n'))];
  assert.deepEqual(events.map((e) => e.kind), ['error', 'command']);
  assert.equal(events[0]?.kind === 'error' && events[0].response.toString(), '-ERR Line too long\r\n');
  // 253 octets + CRLF = 255 is accepted; one more is not.
  const atLimit = `TOP ${'1'.repeat(40)} ${'2'.repeat(40)}${' 3'.repeat(84)}`;
  assert.equal(atLimit.length, 253);
  assert.equal(new Pop3LineReader().push(Buffer.from(`${atLimit}\r\n`))[0]?.kind, 'command');
  assert.equal(new Pop3LineReader().push(Buffer.from(`${atLimit}3\r\n`))[0]?.kind, 'error');
});

test('RFC 5034: AUTH initial response and SASL continuation lines may exceed command limits', () => {
  const reader = new Pop3LineReader();
  const credentials = Buffer.from(`\0user\0${'p'.repeat(300)}`).toString('base64');
  assert.deepEqual(reader.push(Buffer.from(`AUTH PLAIN ${credentials}\r\n`)), [{ kind: 'command', keyword: 'AUTH', args: ['PLAIN', credentials] }]);
  reader.expectSaslResponse();
  assert.deepEqual(reader.push(Buffer.from(`${credentials}\r\nCAPA\r\n`)), [{ kind: 'sasl', line: credentials }, { kind: 'command', keyword: 'CAPA', args: [] }]);
  reader.expectSaslResponse();
  assert.deepEqual(reader.push(Buffer.from('*\r\n')), [{ kind: 'sasl', line: '*' }]);
});

test('status lines with extended response codes', () => {
  assert.equal(ok('2 320').toString(), '+OK 2 320\r\n');
  assert.equal(ok().toString(), '+OK\r\n');
  assert.equal(err('maildrop already locked', 'IN-USE').toString(), '-ERR [IN-USE] maildrop already locked\r\n');
  assert.equal(new Pop3Error('try later', 'SYS/TEMP').response.toString(), '-ERR [SYS/TEMP] try later\r\n');
  assert.equal(err('no\r\n+OK injected').toString(), '-ERR no +OK injected\r\n');
  assert.equal(saslChallenge().toString(), '+ \r\n');
  assert.equal(multiLine('capability list follows', ['USER', 'UIDL', '.odd']).toString(), '+OK capability list follows\r\nUSER\r\nUIDL\r\n..odd\r\n.\r\n');
});

test('dot-stuffing: leading dots doubled at any chunk boundary; CRLF guaranteed before the end', () => {
  const message = '.first\r\nmiddle . dot\r\n.\r\n..two\r\nlast';
  for (let split = 0; split <= message.length; split++) {
    const stuffer = new DotStuffer();
    const out = Buffer.concat([stuffer.push(Buffer.from(message.slice(0, split))), stuffer.push(Buffer.from(message.slice(split))), stuffer.end()]).toString();
    assert.equal(out, '..first\r\nmiddle . dot\r\n..\r\n...two\r\nlast\r\n.\r\n', `split at ${split}`);
  }
  const complete = new DotStuffer();
  assert.equal(Buffer.concat([complete.push(Buffer.from('a\r\n')), complete.end()]).toString(), 'a\r\n.\r\n');
  const split = new DotStuffer();
  assert.equal(Buffer.concat([split.push(Buffer.from('a\r')), split.push(Buffer.from('\n')), split.end()]).toString(), 'a\r\n.\r\n');
  assert.equal(new DotStuffer().end().toString(), '.\r\n');
});

test('the stream form pipes a body through', async () => {
  const stream = createDotStuffStream();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => stream.on('end', resolve));
  stream.write(Buffer.from('x\r\n.'));
  stream.end(Buffer.from('y'));
  await done;
  assert.equal(Buffer.concat(chunks).toString(), 'x\r\n..y\r\n.\r\n');
});

test('random bytes: the reader only yields commands or -ERR and the stuffed output never ends early', () => {
  let seed = 99;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const alphabet = Buffer.from('.\r\nab \x00\xff');
  for (let n = 0; n < 500; n++) {
    const data = Buffer.alloc(next() % 400);
    for (let i = 0; i < data.length; i++) data[i] = alphabet[next() % alphabet.length]!;
    for (const event of new Pop3LineReader().push(data)) assert.ok(['command', 'error', 'sasl'].includes(event.kind));
    const stuffer = new DotStuffer();
    const out = Buffer.concat([stuffer.push(data), stuffer.end()]).toString('latin1');
    assert.ok(out.endsWith('\r\n.\r\n') || out === '.\r\n');
    // The only "CRLF . CRLF" is the terminator: a reader stops exactly at the end.
    assert.equal(`\r\n${out}`.indexOf('\r\n.\r\n'), `\r\n${out}`.length - 5);
  }
});

test('USER takes a full e-mail address longer than 40 characters (the line limit still applies)', () => {
  const reader = new Pop3LineReader();
  const address = `${'a'.repeat(60)}@${'b'.repeat(60)}.example`;
  assert.deepEqual(lines(reader, `USER ${address}\r\nUSER ${'c'.repeat(260)}\r\n`), [
    JSON.stringify({ kind: 'command', keyword: 'USER', args: [address] }),
    'ERR -ERR Line too long',
  ]);
});
