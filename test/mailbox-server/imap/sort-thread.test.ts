// SORT and THREAD (RFC 5256) with Python imaplib's sort() and thread(), and the REFERENCES edge
// cases the Dovecot comparison does not reach: a parent that is not in the mailbox (a dummy root),
// a References loop, a duplicate Message-ID, ties broken by message number.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, runPython } from './helpers/imap-world.ts';

interface Spec {
  readonly subject: string;
  readonly id: string;
  readonly refs?: string;
  readonly date: string;
  readonly from: string;
  readonly arrival: string;
  readonly pad?: number;
}

// Message numbers 1..7 in this order.
const SPECS: Spec[] = [
  { subject: 'Root', id: 'r@x', date: '1 Mar 2024 10:00:00 +0000', from: 'c@x.test', arrival: '2024-03-05T00:00:00Z', pad: 300 },
  // Two replies to a message we never got: a dummy root with two children.
  { subject: 'Re: Lost', id: 'a@x', refs: '<lost@x>', date: '2 Mar 2024 10:00:00 +0000', from: 'b@x.test', arrival: '2024-03-04T00:00:00Z' },
  { subject: 'Re: Lost', id: 'b@x', refs: '<lost@x>', date: '2 Mar 2024 09:00:00 +0000', from: 'a@x.test', arrival: '2024-03-03T00:00:00Z', pad: 100 },
  // A loop: each names the other.
  { subject: 'Loop one', id: 'l1@x', refs: '<l2@x>', date: '3 Mar 2024 10:00:00 +0000', from: 'a@x.test', arrival: '2024-03-02T00:00:00Z' },
  { subject: 'Loop two', id: 'l2@x', refs: '<l1@x>', date: '3 Mar 2024 11:00:00 +0000', from: 'a@x.test', arrival: '2024-03-01T00:00:00Z' },
  // The same Message-ID twice: the second is threaded as if it had none.
  { subject: 'Re: Root', id: 'r@x', refs: '<r@x>', date: '4 Mar 2024 10:00:00 +0000', from: 'c@x.test', arrival: '2024-03-01T00:00:00Z' },
  { subject: 'Re: Root', id: 'c@x', refs: '<r@x>', date: '4 Mar 2024 10:00:00 +0000', from: 'c@x.test', arrival: '2024-03-01T00:00:00Z' },
];

const raw = (s: Spec) =>
  `From: ${s.from}\r\nTo: alice@example.test\r\nSubject: ${s.subject}\r\nDate: ${s.date}\r\nMessage-ID: <${s.id}>\r\n${s.refs ? `References: ${s.refs}\r\n` : ''}\r\n${'x'.repeat(s.pad ?? 10)}\r\n`;

describe('SORT and THREAD', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.store.mailStore.createMailbox(ALICE.user, 'Talk');
      for (const s of SPECS) await w.deliver(ALICE.user, raw(s), { mailbox: 'Talk', internalDate: s.arrival });
    },
    select: 'Talk',
  });

  test('SORT keys, REVERSE, ties in message order', async () => {
    assert.deepEqual(await c.command('SORT (ARRIVAL) UTF-8 ALL', 's1'), ['* SORT 5 6 7 4 3 2 1', 's1 OK SORT completed']);
    assert.deepEqual(await c.command('SORT (REVERSE ARRIVAL) UTF-8 ALL', 's2'), ['* SORT 1 2 3 4 5 6 7', 's2 OK SORT completed']);
    // Equal dates (6, 7) stay in message order under REVERSE too.
    assert.deepEqual(await c.command('SORT (REVERSE DATE) UTF-8 ALL', 's3'), ['* SORT 6 7 5 4 2 3 1', 's3 OK SORT completed']);
    assert.deepEqual(await c.command('SORT (FROM REVERSE SIZE) UTF-8 ALL', 's4'), ['* SORT 3 4 5 2 1 6 7', 's4 OK SORT completed']);
    assert.deepEqual(await c.command('SORT (SUBJECT) UTF-8 NOT SUBJECT Loop', 's5'), ['* SORT 2 3 1 6 7', 's5 OK SORT completed']);
    assert.match((await c.command('SORT (SUBJECT) KOI8-R ALL', 's6'))[0]!, /^s6 NO \[BADCHARSET/);
    assert.match((await c.command('SORT SUBJECT UTF-8 ALL', 's7'))[0]!, /^s7 BAD /);
    const caps = (await c.command('CAPABILITY', 's8'))[0]!;
    assert.match(caps, / SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES( |$)/);
  });

  test('THREAD REFERENCES: dummy root, loop, duplicate Message-ID', async () => {
    // 1 is the root of 6 and 7 (6 lost its id, it still names <r@x>); 2 and 3 hang under the
    // dummy for <lost@x>, 3 first by date; 4 and 5 do not loop: 4 (filed first) made 5's id its
    // parent, so 5's own reference to 4 would close a loop and is dropped (step 1B).
    assert.deepEqual(await c.command('THREAD REFERENCES UTF-8 ALL', 't1'), ['* THREAD (1 (6)(7))((3)(2))(5 4)', 't1 OK THREAD completed']);
    assert.deepEqual(await c.command('THREAD ORDEREDSUBJECT UTF-8 ALL', 't2'), ['* THREAD (1 (6)(7))(3 2)(4)(5)', 't2 OK THREAD completed']);
    // Only the matches are threaded; SEARCHRES "$" works as a criterion.
    await c.command('SEARCH RETURN (SAVE) SUBJECT Root');
    assert.deepEqual(await c.command('UID THREAD REFERENCES UTF-8 $', 't3'), ['* THREAD (1 (6)(7))', 't3 OK UID THREAD completed']);
  });

  test('Python imaplib sort() and thread()', async () => {
    const out = await runPython(
      `
import imaplib, os
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
m.login(os.environ['USER'], os.environ['PASS'])
m.select('Talk')
print(m.sort('(REVERSE SIZE)', 'UTF-8', 'ALL')[1][0].decode())
print(m.uid('SORT', '(DATE)', 'UTF-8', 'ALL')[1][0].decode())
print(m.thread('REFERENCES', 'UTF-8', 'ALL')[1][0].decode())
m.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    assert.deepEqual(out.trim().split('\n'), ['1 3 2 4 5 6 7', '1 3 2 4 5 6 7', '(1 (6)(7))((3)(2))(5 4)']);
  });
});
