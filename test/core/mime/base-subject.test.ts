// RFC 5256 §2.1 base subject: each decoration the ABNF names, alone and combined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseSubject } from '../../../core/mime/base-subject.ts';

const cases: Array<[raw: string | null, base: string, replyOrForward: boolean]> = [
  ['Project plan', 'Project plan', false],
  ['Re: Project plan', 'Project plan', true],
  ['RE:Project plan', 'Project plan', true],
  ['Fw: Project plan', 'Project plan', true],
  ['FWD: Project plan', 'Project plan', true],
  // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
  ['Re : Project plan', 'Project plan', true],
  ['Re[2]: Project plan', 'Project plan', true],
  ['Fw [x] : Project plan', 'Project plan', true],
  // subj-leader = (*subj-blob subj-refwd): blobs before a Re: go with it
  ['[dev] Re: Project plan', 'Project plan', true],
  ['Re: [dev] Re: [ops] Fwd: Project plan', 'Project plan', true],
  // step (4): a leading blob goes only when something is left
  ['[announce] Release 1.0', 'Release 1.0', false],
  ['[only a blob]', '[only a blob]', false],
  ['[a] [b]', '[b]', false],
  // step (2): subj-trailer = "(fwd)" / WSP, repeatedly
  ['Project plan (fwd)', 'Project plan', true],
  ['Project plan (FWD) (fwd)  ', 'Project plan', true],
  ['Project plan   ', 'Project plan', false],
  // step (6): "[fwd:" subject "]", then again from (2)
  ['[fwd: Project plan]', 'Project plan', true],
  ['[Fwd: Re: Project plan (fwd)]', 'Project plan', true],
  ['Re: [fwd: [fwd: Project plan]]', 'Project plan', true],
  // step (1): encoded words decoded first, white space runs collapsed
  ['=?utf-8?Q?Re=3A_caf=C3=A9?=', 'café', true],
  ['=?iso-8859-1?B?UmU6IEdy/N9l?=', 'Grüße', true],
  ['Project\t  plan', 'Project plan', false],
  ['Re: =?utf-8?B?5pel5pys6Kqe?=', '日本語', true],
  // not decorations
  ['Read: Project plan', 'Read: Project plan', false],
  ['Fwdx: Project plan', 'Fwdx: Project plan', false],
  ['Re: ', '', true],
  ['', '', false],
  [null, '', false],
];

test('base subject extraction (RFC 5256 §2.1)', () => {
  for (const [raw, base, replyOrForward] of cases) {
    assert.deepEqual(baseSubject(raw), { text: base, isReplyOrForward: replyOrForward }, JSON.stringify(raw));
  }
});
