// What a message says about itself before any training: the Authentication-Results our own edge
// prepended (RFC 8601) and a few known-bad patterns. The only verdict an untrained account gets.

/** RFC 8601 §2.7 results of the mechanisms the edge checks, as our host recorded them. */
export interface AuthenticationSignals {
  readonly spf?: string;
  readonly dkim?: string;
  readonly dmarc?: string;
  readonly arc?: string;
}

export interface RuleVerdict {
  /** 0 (clean) to 1 (certainly junk). */
  readonly score: number;
  /** Why, for the log: `dmarc=fail`, `executable attachment`. */
  readonly reasons: string[];
}

/** Score at and above which the rules alone file into Junk. */
export const RULE_JUNK_SCORE = 0.9;

/**
 * The results of the first `Authentication-Results:` fields whose authserv-id is `ourHost`
 * (RFC 8601 §5: only those of our own host are trusted; the edge removes claims of our name that
 * came from outside). Looks at the header of `raw` only, and at most 64 KiB of it.
 */
export function authenticationSignals(raw: Buffer, ourHost: string): AuthenticationSignals {
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const header = end < 0 ? head : head.slice(0, end);
  const host = ourHost.toLowerCase();
  const found: Record<string, string> = {};
  for (const field of header.split(/\r?\n(?![ \t])/)) {
    const m = /^authentication-results:\s*([^;\s]+)[^;]*;([\s\S]*)$/i.exec(field);
    if (!m || m[1]!.toLowerCase() !== host) continue;
    // Comments out (RFC 8601 §2.2 CFWS), then `method=result` pairs; the first of each method wins.
    const body = m[2]!.replace(/\([^()]*\)/g, ' ');
    for (const r of body.matchAll(/(?:^|[;\s])(spf|dkim|dmarc|arc)\s*=\s*([a-z]+)/gi)) {
      const method = r[1]!.toLowerCase();
      found[method] ??= r[2]!.toLowerCase();
    }
  }
  return found;
}

/** Tokens of the authentication results, so a trained classifier learns what they are worth for this account. */
export function authenticationTokens(signals: AuthenticationSignals): string[] {
  return Object.entries(signals).map(([method, result]) => `auth:${method}=${result}`);
}

/** Attachment names no correspondent needs to send: executables and scripts (as mail filters commonly block). */
const EXECUTABLE_NAME = /name\s*\*?=\s*"?[^";\r\n]*\.(exe|scr|pif|com|bat|cmd|vbs|vbe|js|jse|wsf|hta|msi|cpl|jar|lnk)"?\s*(;|\r?\n|$)/im;

/**
 * The score of the rules alone: a DMARC failure, an SPF failure without a passing DKIM signature,
 * an executable attachment. Never a deletion: the worst is Junk. (A quarantine the edge asked for
 * is not a rule of the message but the sender's domain's policy: functions/inbound/junk-filing.ts.)
 */
export function ruleVerdict(raw: Buffer, signals: AuthenticationSignals): RuleVerdict {
  const reasons: string[] = [];
  let score = 0;
  const add = (points: number, reason: string) => {
    score = Math.max(score, points);
    reasons.push(reason);
  };
  if (signals.dmarc === 'fail') add(0.95, 'dmarc=fail');
  if (signals.spf === 'fail' && signals.dkim !== 'pass') add(0.9, 'spf=fail without dkim=pass');
  if (signals.spf === 'softfail' && signals.dkim !== 'pass') add(0.6, 'spf=softfail without dkim=pass');
  if (EXECUTABLE_NAME.test(raw.subarray(0, 256 * 1024).toString('latin1'))) add(0.9, 'executable attachment');
  return { score, reasons };
}
