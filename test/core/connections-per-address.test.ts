// ConnectionsPerAddress: at most `max` slots per address, released once each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionsPerAddress } from '../../core/connections-per-address.ts';

test('admits up to max per address, independently per address; a release is counted once', () => {
  const limit = new ConnectionsPerAddress(2);
  const a1 = limit.admit('192.0.2.1');
  const a2 = limit.admit('192.0.2.1');
  assert.ok(a1 && a2);
  assert.equal(limit.admit('192.0.2.1'), null);
  assert.ok(limit.admit('192.0.2.2'), 'another address has its own count');
  a1.release();
  a1.release();
  assert.equal(limit.countOf('192.0.2.1'), 1, 'a second release of the same slot changes nothing');
  const a3 = limit.admit('192.0.2.1');
  assert.ok(a3);
  assert.equal(limit.admit('192.0.2.1'), null);
  a2.release();
  a3.release();
  assert.equal(limit.countOf('192.0.2.1'), 0);
});
