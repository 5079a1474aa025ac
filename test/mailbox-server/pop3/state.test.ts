// The POP3 state table (mailbox-server/pop3/state.ts): which command each state accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS_BY_STATE, statesAccepting } from '../../../mailbox-server/pop3/state.ts';

test('the state table is RFC 1939 §4-§6 with CAPA (RFC 2449), STLS (RFC 2595) and AUTH (RFC 5034)', () => {
  assert.deepEqual(statesAccepting('STAT'), ['transaction']);
  assert.deepEqual(statesAccepting('USER'), ['authorization']);
  assert.deepEqual(statesAccepting('QUIT'), ['authorization', 'transaction']);
  assert.deepEqual(statesAccepting('CAPA'), ['authorization', 'transaction']);
  assert.deepEqual(statesAccepting('APOP'), [], 'APOP is not offered');
  assert.deepEqual(COMMANDS_BY_STATE.update, []);
});
