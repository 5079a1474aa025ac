// LIST/LSUB patterns (RFC 3501 §6.3.8): the automaton matcher agrees with a regular-expression
// reference on small random patterns, and a hostile pattern of 1,000 wildcards against a few
// thousand mailboxes answers at once without holding up another session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mailbox, MessageStore } from '../../../core/store/types.ts';
import { MailboxPattern } from '../../../mailbox-server/imap/list-pattern.ts';
import { ALICE, BOB, RawImap, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

/** The former implementation: correct, but it backtracks exponentially in the number of wildcards. */
function referenceRegExp(reference: string, pattern: string): RegExp {
  let full = pattern.startsWith('/') && reference.endsWith('/') ? reference + pattern.slice(1) : reference + pattern;
  if (/^inbox(\/|$)/i.test(full)) full = 'INBOX' + full.slice(5);
  const source = [...full].map((c) => (c === '*' ? '.*' : c === '%' ? '[^/]*' : c.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 's');
}

/** A small deterministic generator, so a failure names a reproducible case. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const pick = (next: () => number, alphabet: string, max: number) =>
  Array.from({ length: Math.floor(next() * (max + 1)) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');

describe('MailboxPattern', () => {
  test('RFC 3501 §6.3.8 examples: "*" crosses levels, "%" does not; reference joins the pattern', () => {
    const m = (ref: string, pattern: string, name: string) => MailboxPattern.compile(ref, pattern).matches(name);
    assert.ok(m('', '*', 'Work/Projects/2024'));
    assert.ok(m('', '%', 'Work'));
    assert.ok(!m('', '%', 'Work/Projects'));
    assert.ok(m('', 'Work/%', 'Work/Projects'));
    assert.ok(!m('', 'Work/%', 'Work/Projects/2024'));
    assert.ok(m('Work/', '*', 'Work/Projects/2024'));
    assert.ok(m('Work/', '/Projects', 'Work/Projects'), 'reference ending and pattern starting with the delimiter');
    assert.ok(m('', 'inbox', 'INBOX'));
    assert.ok(m('', 'inbox/%', 'INBOX/Sub'));
    assert.ok(!m('', 'a', 'A'), 'other names are case-sensitive');
    assert.ok(m('', '%%**%%X', 'a/b/cX'));
    assert.ok(!m('', '%%%%%%X', 'a/b/cX'), 'a run of only "%" still stops at the delimiter');
    assert.ok(m('', '', ''));
    assert.ok(!m('', '', 'a'));
  });

  test('agrees with the regular-expression reference on 20,000 random patterns and names', () => {
    const next = random(15);
    for (let i = 0; i < 20_000; i++) {
      const reference = next() < 0.2 ? pick(next, 'ab/', 3) : '';
      const pattern = pick(next, 'ab/*%', 8);
      const name = pick(next, 'ab/', 8);
      const expected = referenceRegExp(reference, pattern).test(name);
      assert.equal(MailboxPattern.compile(reference, pattern).matches(name), expected, `reference ${JSON.stringify(reference)} pattern ${JSON.stringify(pattern)} name ${JSON.stringify(name)}`);
    }
  });

  test('wildcard runs collapse: 10,000 wildcards against a 512-character name cost what a literal pattern of that length does', () => {
    const next = random(7);
    const wildcards = Array.from({ length: 10_000 }, () => (next() < 0.5 ? '*' : '%')).join('');
    const name = 'a/'.repeat(255) + 'bX';
    const hostile = () => {
      assert.ok(MailboxPattern.compile('', `${wildcards}X`).matches(name));
      assert.ok(!MailboxPattern.compile('', `${wildcards}Y`).matches(name));
      // Literals between the wildcards cannot be collapsed; the automaton stays linear per character.
      assert.ok(MailboxPattern.compile('', `${'*a'.repeat(255)}*`).matches(name));
      assert.ok(!MailboxPattern.compile('', `${'%a'.repeat(255)}%`).matches(name));
    };
    // The same amount of pattern and name with no wildcard at all: linear work by construction.
    const literal = () => {
      for (const pattern of [`${'b'.repeat(10_000)}X`, `${'b'.repeat(10_000)}Y`, 'a'.repeat(511), 'a'.repeat(511)]) {
        assert.ok(!MailboxPattern.compile('', pattern).matches(name));
      }
    };
    // Best of five of each, interleaved, so a descheduled moment on a shared machine hits both; a
    // backtracking matcher would be thousands of times slower, not a few.
    let hostileMs = Infinity;
    let literalMs = Infinity;
    for (let i = 0; i < 5; i++) {
      for (const [run, keep] of [[hostile, (ms: number) => (hostileMs = Math.min(hostileMs, ms))], [literal, (ms: number) => (literalMs = Math.min(literalMs, ms))]] as const) {
        const started = performance.now();
        run();
        keep(performance.now() - started);
      }
    }
    assert.ok(hostileMs < 20 * literalMs + 20, `hostile patterns ${hostileMs.toFixed(1)} ms, literal ones ${literalMs.toFixed(1)} ms`);
  });
});

describe('LIST with a hostile pattern', () => {
  const MAILBOXES = 3000;
  let w: ImapWorld;
  let port: number;

  before(async () => {
    w = await startImapWorld();
    // A few thousand mailboxes as the store returns them; creating them one by one in the
    // emulator would take minutes and test the store, not the matcher.
    const now = new Date().toISOString();
    const many: Mailbox[] = Array.from({ length: MAILBOXES }, (_, i) => ({
      id: `m${i}`,
      account: ALICE.user,
      name: `Folder${i % 50}/Project${i}/Notes${i % 7}`,
      uidValidity: 1,
      uidNext: 1,
      highestModSeq: 1,
      subscribed: i % 2 === 0,
      specialUse: null,
      createdAt: now,
    } as unknown as Mailbox));
    const inner = w.store.mailStore;
    const store = Object.create(inner) as MessageStore;
    store.listMailboxes = async (account) => (account === ALICE.user ? many : inner.listMailboxes(account));
    port = (await w.startServer({ store })).ports.imap!;
  });
  after(async () => {
    await w?.close();
  });

  /** Round trips of NOOP on `other` until `busy` settles: the slowest one. */
  async function slowestNoopWhile(other: RawImap, busy: Promise<unknown>): Promise<{ slowest: number; count: number }> {
    let done = false;
    void busy.finally(() => (done = true));
    let slowest = 0;
    let count = 0;
    do {
      const started = performance.now();
      await other.command('NOOP');
      slowest = Math.max(slowest, performance.now() - started);
      count += 1;
    } while (!done);
    return { slowest, count };
  }

  test('1,000 mixed "*"/"%" against 3,000 mailboxes cost about what LIST "*" does, and another session is not held up', async (t) => {
    const a = await RawImap.connect(port);
    const b = await RawImap.connect(port);
    t.after(() => {
      a.close();
      b.close();
    });
    await a.line();
    await b.line();
    await a.login(ALICE.user, ALICE.password);
    await b.login(BOB.user, BOB.password);
    // Warm up both paths, then take the other session's usual round trip and the plainest LIST of
    // all 3,000 mailboxes as the baselines: the same machine, the same moment.
    await a.command('LIST "" "*"');
    const baseline = await slowestNoopWhile(b, Promise.resolve());
    let plainList = Infinity;
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = performance.now();
      await a.command('LIST "" "*"');
      plainList = Math.min(plainList, performance.now() - started);
    }
    const next = random(1000);
    const wildcards = Array.from({ length: 1000 }, () => (next() < 0.5 ? '*' : '%')).join('');

    const leaves = (keep: (i: number) => boolean) => [...Array(MAILBOXES).keys()].filter(keep).length;
    for (const [pattern, expected] of [
      [`${wildcards}X`, 0],
      [`Folder1${wildcards}Notes3`, leaves((i) => String(i % 50).startsWith('1') && i % 7 === 3)],
      // "*" crosses levels: each FolderN/Project12… superior (\Noselect) and the mailbox below it.
      [`%${'*%'.repeat(250)}/Project12${'%*'.repeat(250)}`, 2 * leaves((i) => String(i).startsWith('12'))],
    ] as const) {
      // The best of three, for the LIST and for the other session: the machine is shared and any
      // one round trip may be descheduled, but a backtracking matcher takes seconds every time.
      let fastest = Infinity;
      let leastHeldUp = Infinity;
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = performance.now();
        const listing = a.command(`LIST "" "${pattern}"`);
        const { slowest, count } = await slowestNoopWhile(b, listing);
        const lines = await listing;
        const ms = performance.now() - started;
        fastest = Math.min(fastest, ms);
        t.diagnostic(`pattern of ${pattern.length}: LIST ${ms.toFixed(1)} ms; meanwhile ${count} NOOPs on another session, slowest ${slowest.toFixed(1)} ms (baseline ${baseline.slowest.toFixed(1)} ms)`);
        assert.match(lines.at(-1)!, /^t\d+ OK LIST completed$/);
        assert.equal(lines.length - 1, expected);
        leastHeldUp = Math.min(leastHeldUp, slowest);
      }
      // A backtracking matcher takes seconds here; a linear one costs a few times the plain LIST,
      // which answers with all 3,000 names.
      assert.ok(fastest < 5 * plainList + 100, `LIST took ${fastest.toFixed(1)} ms, LIST "*" ${plainList.toFixed(1)} ms`);
      assert.ok(leastHeldUp < baseline.slowest + Math.max(100, plainList), `the other session waited ${leastHeldUp.toFixed(1)} ms for NOOP`);
    }
    const lsub = await a.command(`LSUB "" "${wildcards}X"`);
    assert.deepEqual(lsub.slice(0, -1), []);
    assert.match(lsub.at(-1)!, /OK LSUB completed/);
  });
});
