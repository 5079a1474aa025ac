// Any-state commands (RFC 3501 §6.1): the greeting and CAPABILITY (with the extensions it names),
// NOOP and LOGOUT, over a raw socket.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ImapWorld, imapWorldSuite, RawImap } from './helpers/imap-world.ts';

describe('IMAP CAPABILITY, NOOP, LOGOUT', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

  test('greeting, CAPABILITY, NOOP, LOGOUT', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    const greeting = await c.line();
    assert.match(greeting!, /^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS.*AUTH=PLAIN/);
    assert.doesNotMatch(greeting!, /COMPRESS/);
    const caps = await c.command('CAPABILITY', 'a1');
    assert.match(caps[0]!, /^\* CAPABILITY IMAP4rev1 .*IDLE.*UIDPLUS.*MOVE.*CONDSTORE.*APPENDLIMIT=\d+/);
    assert.equal(caps[1], 'a1 OK CAPABILITY completed');
    assert.deepEqual(await c.command('NOOP', 'a2'), ['a2 OK NOOP completed']);
    assert.deepEqual(await c.command('LOGOUT', 'a3'), ['* BYE Logging out', 'a3 OK LOGOUT completed']);
    assert.equal(await c.line(), null);
  });

  test('CAPABILITY advertises MULTIAPPEND and UNAUTHENTICATE', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    const caps = (await c.command('CAPABILITY', 'c1'))[0]!.split(' ');
    assert.ok(caps.includes('MULTIAPPEND') && caps.includes('UNAUTHENTICATE'), caps.join(' '));
  });
});
