// RFC 8601 §5: an Authentication-Results field that claims our authserv-id but came from outside
// is a forgery (or a leak from a hop we never were): it is removed before the message is stored,
// so readers that trust our host name see only what the edge itself found. The junk filter's
// X-Spam-* fields are removed too: they are ours alone (docs/decisions/0015-junk-filter.md).
import { SPAM_VERDICT_FIELDS } from '../core/junk/spam-header.ts';
import { splitFields, unfold } from './submitted-header.ts';

/** The authserv-id of an Authentication-Results value: its first token, after any comments. */
export function authservIdOf(value: string): string {
  let rest = value;
  for (;;) {
    rest = rest.replace(/^[ \t]+/, '');
    if (!rest.startsWith('(')) break;
    let depth = 0;
    let i = 0;
    for (; i < rest.length; i++) {
      if (rest[i] === '\\') i++;
      else if (rest[i] === '(') depth++;
      else if (rest[i] === ')' && --depth === 0) break;
    }
    rest = rest.slice(i + 1);
  }
  const token = /^"?([^\s;"()]*)/.exec(rest)?.[1] ?? '';
  return token.toLowerCase().replace(/\.$/, '');
}

/**
 * The message head with every Authentication-Results field naming `authservId` taken out, and
 * every X-Spam-Flag/-Score/-Status/-Level (our junk verdict's names: clients that trust them
 * cannot tell who wrote one, docs/decisions/0015-junk-filter.md), the rest byte for byte.
 * `removed` counts the first kind, `spamVerdicts` the second. Null when the header section does
 * not end within `head` and more of the message follows (`whole` false): the caller cannot vouch
 * for fields it has not seen.
 */
export function removeForeignResults(head: Buffer, authservId: string, whole: boolean): { bytes: Buffer; removed: number; spamVerdicts: number } | null {
  let end: number;
  if (head.length >= 2 && head[0] === 0x0d && head[1] === 0x0a) end = 0;
  else {
    const blank = head.indexOf('\r\n\r\n');
    if (blank >= 0) end = blank + 2;
    else if (whole) end = head.length;
    else return null;
  }
  const ours = authservId.toLowerCase().replace(/\.$/, '');
  const fields = splitFields(head.subarray(0, end));
  const claimsOurs = (f: (typeof fields)[number]) => f.name === 'authentication-results' && authservIdOf(unfold(f.raw).slice(unfold(f.raw).indexOf(':') + 1)) === ours;
  const spamVerdict = (f: (typeof fields)[number]) => f.name !== null && SPAM_VERDICT_FIELDS.has(f.name);
  const kept = fields.filter((f) => !claimsOurs(f) && !spamVerdict(f));
  const removed = fields.filter(claimsOurs).length;
  const spamVerdicts = fields.filter(spamVerdict).length;
  if (removed + spamVerdicts === 0) return { bytes: head, removed, spamVerdicts };
  return { bytes: Buffer.concat([...kept.map((f) => f.raw), head.subarray(end)]), removed, spamVerdicts };
}
