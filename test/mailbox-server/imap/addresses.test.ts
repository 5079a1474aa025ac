// Addresses as clients see them: ENVELOPE keeps an old-style display name written as a comment
// (RFC 3501 §7.4.2, RFC 822 §6.1), and SEARCH FROM/TO/CC/BCC (RFC 3501 §6.4.4) finds an address
// written with comments between its parts, as the parsed address and as the raw header text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap } from './helpers/imap-world.ts';

describe('IMAP addresses written with comments', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.deliver(
        ALICE.user,
        'From: user@example.com (Real Name)\r\nTo: <user-from (comment)@ (comment) domain.org>\r\nCc: plain@example.net\r\nBcc: Bee <bee@example.net>\r\nSubject: comments\r\n\r\nbody\r\n',
      );
      await w.deliver(ALICE.user, 'From: Other <other@example.com>\r\nTo: someone@domain.org\r\nSubject: other\r\n\r\nbody\r\n');
    },
    select: 'INBOX',
  });

  test('ENVELOPE: From: user@domain (Real Name) gives (("Real Name" NIL "user" "domain"))', async () => {
    const lines = await c.command('FETCH 1 ENVELOPE', 'e1');
    assert.match(lines[0]!, /^\* 1 FETCH \(ENVELOPE \(NIL "comments" \(\("Real Name" NIL "user" "example\.com"\)\) /);
    assert.match(lines[0]!, / \(\(NIL NIL "user-from" "domain\.org"\)\) \(\(NIL NIL "plain" "example\.net"\)\)/);
  });

  test('SEARCH FROM/TO with a full address matches the parsed address and the raw text', async () => {
    assert.deepEqual(await c.command('SEARCH TO user-from@domain.org', 's1'), ['* SEARCH 1', 's1 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH FROM user@example.com', 's2'), ['* SEARCH 1', 's2 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH FROM "Real Name"', 's3'), ['* SEARCH 1', 's3 OK SEARCH completed']);
    // The raw header text still counts: the comment as written.
    assert.deepEqual(await c.command('SEARCH TO "(comment)@"', 's4'), ['* SEARCH 1', 's4 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH TO domain.org', 's5'), ['* SEARCH 1 2', 's5 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH BCC "bee@example.net"', 's6'), ['* SEARCH 1', 's6 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH CC "nobody@example.net"', 's7'), ['* SEARCH', 's7 OK SEARCH completed']);
  });
});
