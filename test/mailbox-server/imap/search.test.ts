// SEARCH correctness (RFC 3501 §6.4.4) on a mailbox of a few hundred messages: every answer is
// compared with a model computed from how the messages were made. Flag/size/date/UID keys come
// from the message state; HEADER/BODY/TEXT read the blob of undecided messages only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap } from './helpers/imap-world.ts';

interface Spec {
  uid: number;
  i: number;
  flags: string[];
  subject: string;
  from: string;
  body: string;
  day: number; // internal date: 1..28 Feb 2024
  size: number;
}

const COUNT = 200;

describe('IMAP SEARCH', () => {
  let w: ImapWorld;
  let c: RawImap;
  const specs: Spec[] = [];
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      const make = async (i: number) => {
        const flags = [...(i % 3 === 0 ? ['\\Flagged'] : []), ...(i % 4 === 0 ? ['\\Seen'] : []), ...(i % 10 === 0 ? ['$Important'] : [])];
        const subject = i % 6 === 0 ? `=?utf-8?B?${Buffer.from(`Grüße topic-${i % 5}`).toString('base64')}?=` : `topic-${i % 5} report ${i}`;
        const from = i % 2 === 0 ? 'Dana <dana@one.test>' : 'Eve <eve@two.test>';
        const body = `${i % 7 === 0 ? 'the needle is here' : 'only hay'}\r\n${'x'.repeat((i * 37) % 500)}\r\n`;
        const raw = `From: ${from}\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: ${1 + (i % 28)} Mar 2024 12:00:00 +0000\r\n\r\n${body}`;
        const day = 1 + (i % 28);
        const uid = await w.deliver(ALICE.user, raw, { flags, internalDate: new Date(Date.UTC(2024, 1, day, 12)).toISOString() });
        specs.push({ uid, i, flags, subject: i % 6 === 0 ? `Grüße topic-${i % 5}` : subject, from, body, day, size: Buffer.byteLength(raw) });
      };
      for (let i = 0; i < COUNT; i += 8) await Promise.all(Array.from({ length: Math.min(8, COUNT - i) }, (_, k) => make(i + k)));
      specs.sort((a, b) => a.uid - b.uid);
    },
    select: 'INBOX',
  });

  const expectSearch = async (criteria: string, model: (s: Spec, msn: number) => boolean, uid = false) => {
    const lines = await c.command(`${uid ? 'UID ' : ''}SEARCH ${criteria}`);
    assert.match(lines[lines.length - 1]!, /OK/, `${criteria}: ${lines[lines.length - 1]}`);
    const got = lines[0]!.replace(/^\* SEARCH ?/, '').split(' ').filter(Boolean).map(Number);
    const want = specs.map((s, k) => (model(s, k + 1) ? (uid ? s.uid : k + 1) : 0)).filter((n) => n > 0);
    assert.deepEqual(got, want, criteria);
  };

  test('flag, keyword, NOT and OR keys', async () => {
    await expectSearch('FLAGGED', (s) => s.flags.includes('\\Flagged'));
    await expectSearch('UNSEEN', (s) => !s.flags.includes('\\Seen'));
    await expectSearch('KEYWORD $Important', (s) => s.flags.includes('$Important'));
    await expectSearch('NOT FLAGGED SEEN', (s) => !s.flags.includes('\\Flagged') && s.flags.includes('\\Seen'));
    await expectSearch('OR FLAGGED KEYWORD $Important', (s) => s.flags.includes('\\Flagged') || s.flags.includes('$Important'));
    await expectSearch('(OR SEEN FLAGGED) UNKEYWORD $Important', (s) => (s.flags.includes('\\Seen') || s.flags.includes('\\Flagged')) && !s.flags.includes('$Important'));
  });

  test('sequence sets, UID sets, sizes, internal and sent dates', async () => {
    await expectSearch('1:10,200:*', (_s, msn) => msn <= 10 || msn >= 200);
    await expectSearch('UID 5:20', (s) => s.uid >= 5 && s.uid <= 20, true);
    await expectSearch('LARGER 400', (s) => s.size > 400);
    await expectSearch('SMALLER 300 FLAGGED', (s) => s.size < 300 && s.flags.includes('\\Flagged'));
    await expectSearch('SINCE 10-Feb-2024 BEFORE 15-Feb-2024', (s) => s.day >= 10 && s.day < 15);
    await expectSearch('ON 3-Feb-2024', (s) => s.day === 3);
    await expectSearch('SENTON 3-Mar-2024', (s) => s.day === 3);
    await expectSearch('SENTBEFORE 5-Mar-2024', (s) => s.day < 5);
  });

  test('header, body and text keys (RFC 2047 decoded, case-insensitive substrings)', async () => {
    await expectSearch('FROM dana', (s) => s.from.includes('dana'));
    await expectSearch('SUBJECT "TOPIC-3"', (s) => s.subject.toLowerCase().includes('topic-3'));
    await expectSearch('CHARSET UTF-8 SUBJECT {7+}\r\ngrüße', (s) => s.subject.includes('Grüße'));
    await expectSearch('HEADER Date "Mar 2024"', () => true);
    await expectSearch('BODY needle', (s) => s.body.includes('needle'));
    await expectSearch('TEXT eve@two FLAGGED', (s) => s.from.includes('eve@two') && s.flags.includes('\\Flagged'));
    await expectSearch('NOT BODY hay', (s) => !s.body.includes('hay'));
    await expectSearch('OR BODY needle SUBJECT "report 1"', (s) => s.body.includes('needle') || s.subject.includes('report 1'), true);
    assert.match((await c.command('SEARCH CHARSET KOI8-R ALL', 'bc'))[0]!, /^bc NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
  });
});
