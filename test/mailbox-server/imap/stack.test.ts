// The mailbox server as a component of the local stack (mailbox-server/main.ts): it reports its
// ports in the ready line, and curl reaches IMAP over imap:// and imaps:// with the demo account.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, type TestStack } from '../../helpers/stack.ts';
import { runCurl } from './helpers/imap-world.ts';

describe('mailbox-server in the local stack', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ components: ['mailbox-server'] });
  });
  after(async () => {
    await stack?.close();
  });

  test('IMAP and IMAPS answer with the demo account; POP3 ports are reported', async () => {
    assert.ok(stack.listening.has('imap') && stack.listening.has('imaps') && stack.listening.has('pop3') && stack.listening.has('pop3s'), [...stack.listening].join());
    const user = `${stack.demo.address}:${stack.demoPassword}`;
    const list = await runCurl(['--user', user, `imap://127.0.0.1:${stack.ports.imap}/`]);
    assert.match(list, /\* LIST \(\\HasNoChildren\) "\/" "?INBOX"?/);
    const status = await runCurl(['-k', '--user', user, `imaps://127.0.0.1:${stack.ports.imaps}/`, '-X', 'STATUS INBOX (MESSAGES)']);
    assert.match(status, /\* STATUS "INBOX" \(MESSAGES 0\)/);
  });
});
