// Hostile input for the IMAP reader + parser: every input must end in an AST or a ParseError,
// never another exception, never a hang (docs/ARCHITECTURE.md, Testing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../../mailbox-server/imap/wire/parser.ts';
import { ParseError } from '../../../mailbox-server/imap/wire/parse-error.ts';
import { ImapCommandReader } from '../../../mailbox-server/imap/wire/reader.ts';
import { defaultImapWireLimits } from '../../../mailbox-server/imap/wire/limits.ts';

const options = { maxDepth: 32, maxSequenceRanges: 1000, allowSavedResult: true };

/** Runs bytes through the reader and parser; returns how many commands parsed and how many were BAD. */
function feed(bytes: Buffer, limits = defaultImapWireLimits) {
  const reader = new ImapCommandReader(limits);
  let parsed = 0;
  let rejected = 0;
  for (const event of reader.push(bytes)) {
    if (event.kind !== 'command') {
      rejected++;
      continue;
    }
    try {
      parseCommand(event.chunks, options);
      parsed++;
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      assert.match(error.response, /^(\*|[^ ]+) BAD /);
      rejected++;
    }
  }
  return { parsed, rejected };
}

test('10,000 nested parentheses are a BAD, not a stack overflow', () => {
  const deep = `a SEARCH ${'('.repeat(10_000)}ALL${')'.repeat(10_000)}\r\n`;
  assert.deepEqual(feed(Buffer.from(deep)), { parsed: 0, rejected: 1 });
  assert.deepEqual(feed(Buffer.from(`a SEARCH ${'NOT '.repeat(10_000)}ALL\r\n`)), { parsed: 0, rejected: 1 });
  assert.deepEqual(feed(Buffer.from(`a FETCH 1 ${'('.repeat(10_000)}\r\n`)), { parsed: 0, rejected: 1 });
});

test('unbalanced parentheses, NULs and a 1 MB line', () => {
  for (const line of ['a SEARCH (SEEN', 'a SEARCH SEEN))', 'a FETCH 1 (FLAGS', 'a STORE 1 FLAGS (\\Seen', 'a LIST ("" "*"', 'a LOGIN a\x00 b', 'a\x00 NOOP', '\x00\x00\x00']) {
    assert.deepEqual(feed(Buffer.from(`${line}\r\n`)), { parsed: 0, rejected: 1 }, JSON.stringify(line));
  }
  const huge = Buffer.concat([Buffer.from('a LOGIN '), Buffer.alloc(1024 * 1024, 0x61), Buffer.from('\r\nb NOOP\r\n')]);
  assert.deepEqual(feed(huge), { parsed: 1, rejected: 1 });
});

test('a huge literal announced but never sent waits without buffering; too big is refused', () => {
  const reader = new ImapCommandReader(defaultImapWireLimits);
  assert.deepEqual(reader.push(Buffer.from('a APPEND INBOX {99999999999}\r\n')).map((e) => e.kind), ['reject']);
  assert.deepEqual(reader.push(Buffer.from('b NOOP\r\n')).map((e) => e.kind), ['command']);
});

test('seeded random bytes and random token soup: only ASTs or ParseErrors', () => {
  let seed = 20260101;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const tokens = [
    'a', 'UID', 'FETCH', 'SEARCH', 'STORE', 'APPEND', 'LOGIN', 'LIST', 'SELECT', 'STATUS', 'ID', 'ENABLE', 'COPY', 'MOVE', 'EXPUNGE',
    'AUTHENTICATE', 'BODY[', 'BODY.PEEK[', ']', '<0.1>', '1:*', '$', '*', '0', '4294967296', '(', ')', '"', '\\', '{3}', '{2+}', '~{1}',
    'NOT', 'OR', 'HEADER', 'CHARSET', 'NIL', 'INBOX', '&AGE-', '+FLAGS', 'FLAGS.SILENT', '\\Seen', 'MODSEQ', 'CHANGEDSINCE', 'RETURN',
    '1-Feb-1994', '" 7-Feb-1994 21:52:25 -0800"', 'HEADER.FIELDS', 'MIME', 'TEXT', '.', ' ', ' ', ' ', '\r\n', '\x00', '\xff',
  ];
  const limits = { ...defaultImapWireLimits, maxLineOctets: 4096, maxLiteralOctets: 4096, maxCommandOctets: 16384 };
  for (let n = 0; n < 2000; n++) {
    const count = 1 + (next() % 25);
    let soup = 'a ';
    for (let k = 0; k < count; k++) soup += tokens[next() % tokens.length];
    feed(Buffer.from(`${soup}\r\n`, 'latin1'), limits);
    const random = Buffer.alloc(next() % 300);
    for (let i = 0; i < random.length; i++) random[i] = next() & 0xff;
    feed(random, limits);
  }
});
