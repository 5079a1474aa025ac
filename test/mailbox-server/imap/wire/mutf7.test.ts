// Modified UTF-7 mailbox names (RFC 3501 §5.1.3): the RFC's examples, round trips, strict refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMailboxName, encodeMailboxName, Mutf7Error } from '../../../../core/mutf7.ts';

test('RFC 3501 §5.1.3 example: ~peter/mail/台北/日本語', () => {
  const wire = '~peter/mail/&U,BTFw-/&ZeVnLIqe-';
  assert.equal(decodeMailboxName(wire), '~peter/mail/台北/日本語');
  assert.equal(encodeMailboxName('~peter/mail/台北/日本語'), wire);
});

test('"&" is written "&-" and plain ASCII is untouched', () => {
  assert.equal(encodeMailboxName('Tom & Jerry'), 'Tom &- Jerry');
  assert.equal(decodeMailboxName('Tom &- Jerry'), 'Tom & Jerry');
  assert.equal(encodeMailboxName('INBOX/Sent Items'), 'INBOX/Sent Items');
});

test('round trips accented, astral and control characters', () => {
  for (const name of ['Entwürfe', 'Éléments envoyés', 'Gelöschte Elemente', '📧 mail', 'a\tb', 'x€&y', '']) {
    assert.equal(decodeMailboxName(encodeMailboxName(name)), name, name);
  }
  assert.equal(encodeMailboxName('📧'), '&2D3c5w-');
});

test('strict decoding refuses invalid and non-minimal forms', () => {
  const bad = [
    'abc&', // unterminated shift
    '&U,BTFw', // unterminated run
    '&U,BTF/-', // "/" is not modified BASE64
    '&AGE-', // encodes printable ASCII "a"
    '&ZeU-&ZeU-', // two adjacent runs instead of one
    '&ZeVn-', // dangling bits of a half unit
    '&ZeX-', // non-zero padding bits
    '&2D0-', // lone high surrogate
    '&3ec-', // lone low surrogate
    'caf\u00e9', // raw 8-bit character
    'a\u0000b', // NUL
    'a\tb', // raw control character
  ];
  for (const wire of bad) assert.throws(() => decodeMailboxName(wire), Mutf7Error, JSON.stringify(wire));
});

test('random strings round trip and random wire text decodes or throws Mutf7Error only', () => {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let n = 0; n < 500; n++) {
    let name = '';
    const len = next() % 12;
    for (let k = 0; k < len; k++) name += String.fromCodePoint([next() % 128, 0x80 + (next() % 0x700), 0x4e00 + (next() % 500), 0x1f300 + (next() % 200)][next() % 4]!);
    assert.equal(decodeMailboxName(encodeMailboxName(name)), name);
    let wire = '';
    for (let k = 0; k < len; k++) wire += '&-AZaz09+,/ ü'[next() % 13];
    try {
      const decoded = decodeMailboxName(wire);
      assert.equal(encodeMailboxName(decoded), wire, 'an accepted name has exactly one encoding');
    } catch (error) {
      assert.ok(error instanceof Mutf7Error);
    }
  }
});
