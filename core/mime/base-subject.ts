// The base subject of RFC 5256 §2.1, which SORT SUBJECT and THREAD compare: the subject with
// encoded words decoded and the reply/forward decorations ("Re:", "Fwd:", "[list]" blobs, "(fwd)"
// trailers, "[fwd: ...]" wrappers) removed. Pure; used by the IMAP server and anything grouping
// conversations.
import libmime from 'libmime';

export interface BaseSubject {
  /** The base subject, case kept (compare it with `collationKey`). */
  readonly text: string;
  /** Whether a reply or forward decoration was removed (RFC 5256 §2.1 and §3 REFERENCES step 5). */
  readonly isReplyOrForward: boolean;
}

// subj-trailer = "(fwd)" / WSP
const TRAILER = /(?:\(fwd\)|[ \t])$/i;
// subj-blob = "[" *BLOBCHAR "]" *WSP; BLOBCHAR excludes "[" and "]".
const BLOB = /^\[[^[\]]*\][ \t]*/;
// subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
const REFWD = /^(?:\[[^[\]]*\][ \t]*)*(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:/i;
const LEADING_WSP = /^[ \t]/;

/** RFC 5256 §2.1 steps (1) to (7). `raw` is the Subject header value as stored (encoded words intact). */
export function baseSubject(raw: string | null): BaseSubject {
  // (1) Encoded words to UTF-8; tabs and continuations to a space; runs of spaces to one.
  let text = decodeWords(raw ?? '')
    .replace(/\r?\n[ \t]*/g, ' ')
    .replace(/[ \t]+/g, ' ');
  let isReplyOrForward = false;
  for (;;) {
    // (2) Trailing "(fwd)" and white space, repeatedly.
    for (let m = TRAILER.exec(text); m; m = TRAILER.exec(text)) {
      if (m[0] !== ' ' && m[0] !== '\t') isReplyOrForward = true;
      text = text.slice(0, text.length - m[0].length);
    }
    // (3) and (4), repeated (5) until neither applies.
    for (let changed = true; changed; ) {
      changed = false;
      for (let m = REFWD.exec(text) ?? LEADING_WSP.exec(text); m; m = REFWD.exec(text) ?? LEADING_WSP.exec(text)) {
        if (m[0] !== ' ' && m[0] !== '\t') isReplyOrForward = true;
        text = text.slice(m[0].length);
        changed = true;
      }
      const blob = BLOB.exec(text);
      if (blob && text.length > blob[0].length) {
        text = text.slice(blob[0].length);
        changed = true;
      }
    }
    // (6) "[fwd:" subject "]": unwrap and go again from (2).
    if (text.length >= 6 && text.slice(0, 5).toLowerCase() === '[fwd:' && text.endsWith(']')) {
      text = text.slice(5, -1);
      isReplyOrForward = true;
      continue;
    }
    return { text, isReplyOrForward };
  }
}

/** What base subjects (and the address keys of SORT) are compared by: i;unicode-casemap, simplified to a case fold. */
export const collationKey = (text: string) => text.normalize('NFKC').toUpperCase();

function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}
