// Sequence sets (RFC 3501 §9 sequence-set, §6.4.8 UID ranges, RFC 5182 "$").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compactSequenceSet,
  expandSequenceSet,
  formatSequenceSet,
  normaliseSequenceSet,
  parseSequenceSet,
  sequenceSetContains,
  SequenceSetError,
} from '../../../../mailbox-server/imap/sequence-set.ts';

const ranges = (text: string) => {
  const set = parseSequenceSet(text);
  assert.equal(set.kind, 'ranges');
  return set as Extract<typeof set, { kind: 'ranges' }>;
};

test('parses numbers, ranges and "*" in any order', () => {
  assert.deepEqual(ranges('1:*').ranges, [{ from: 1, to: '*' }]);
  assert.deepEqual(ranges('*:3').ranges, [{ from: '*', to: 3 }]);
  assert.deepEqual(ranges('4,2:3').ranges, [{ from: 4, to: 4 }, { from: 2, to: 3 }]);
  assert.equal(formatSequenceSet(ranges('4,2:3,*')), '4,2:3,*');
});

test('RFC 3501 §9 example: with 15 messages "2,4:7,9,12:*" is 2,4,5,6,7,9,12,13,14,15', () => {
  assert.deepEqual([...expandSequenceSet(ranges('2,4:7,9,12:*'), 15)], [2, 4, 5, 6, 7, 9, 12, 13, 14, 15]);
});

test('normalises: resolves "*", orders, clips to max and merges', () => {
  assert.deepEqual(normaliseSequenceSet(ranges('*:3,1,2,10:12'), 11), [[1, 11]]);
  assert.deepEqual(normaliseSequenceSet(ranges('5,1:2'), 0), []);
  // RFC 3501 §6.4.8: "UID 559:*" includes the highest UID even when it is below 559.
  assert.deepEqual(normaliseSequenceSet(ranges('559:*'), 200), [[200, 200]]);
});

test('membership', () => {
  const set = ranges('1:3,7,*:9');
  assert.ok(sequenceSetContains(set, 2, 20));
  assert.ok(sequenceSetContains(set, 15, 20));
  assert.ok(!sequenceSetContains(set, 5, 20));
});

test('refuses malformed sets', () => {
  for (const bad of ['', '0', '0:4', '1,,2', '1:', ':1', '1:2:3', '-1', 'a', '01', '4294967296', '1 2', ',1', '1,']) {
    assert.throws(() => parseSequenceSet(bad), SequenceSetError, JSON.stringify(bad));
  }
  assert.deepEqual(ranges('4294967295').ranges, [{ from: 4294967295, to: 4294967295 }]);
});

test('"$" only with SEARCHRES enabled', () => {
  assert.throws(() => parseSequenceSet('$'), SequenceSetError);
  assert.deepEqual(parseSequenceSet('$', { maxRanges: 10, allowSaved: true }), { kind: 'saved' });
});

test('caps the number of ranges', () => {
  assert.throws(() => parseSequenceSet('1,2,3,4', { maxRanges: 3, allowSaved: false }), /Too many ranges/);
  assert.equal(parseSequenceSet('1,2,3', { maxRanges: 3, allowSaved: false }).kind, 'ranges');
  const huge = Array.from({ length: 20_000 }, (_, i) => i + 1).join(',');
  assert.throws(() => parseSequenceSet(huge), /Too many ranges/);
});

test('compacts numbers for COPYUID/APPENDUID', () => {
  assert.equal(compactSequenceSet([7, 1, 2, 3, 3, 9, 10]), '1:3,7,9:10');
  assert.equal(compactSequenceSet([]), '');
});
