// The header lines a copy filed as junk is served with (core/header-prefix.ts), in the form
// SpamAssassin made common: `X-Spam-Flag: YES`, which mail clients' "trust SpamAssassin
// headers" settings and user filters read, and the score with its reasons, naming our host so
// a reader can tell our verdict from one a sender wrote (docs/decisions/0015-junk-filter.md).
import { headerPrefix } from '../header-prefix.ts';
import type { JunkVerdict } from './filter.ts';

/**
 * The verdict fields of SpamAssassin's family, lowercased. Ours are two of them; the MX removes
 * all of them from mail arriving from outside (smtp-edge/foreign-results.ts), so every one a
 * reader sees is ours.
 */
export const SPAM_VERDICT_FIELDS: ReadonlySet<string> = new Set(['x-spam-flag', 'x-spam-score', 'x-spam-status', 'x-spam-level']);

/** The longest reasons list kept in X-Spam-Score; the rest is in the `junk verdict` log. */
const MAX_REASONS_OCTETS = 300;

/** `X-Spam-Flag: YES` and `X-Spam-Score: 0.970 (mx.example.com; classifier; dmarc=fail, …)`. */
export function spamHeaderPrefix(verdict: Pick<JunkVerdict, 'score' | 'source' | 'reasons'>, ourHost: string): string {
  // A comment (RFC 5322 §3.2.2) may not hold unbalanced parentheses or backslashes: they are dropped.
  const comment = (text: string) => text.replace(/[()\\]/g, '');
  let reasons = verdict.reasons.map(comment).join(', ');
  if (reasons.length > MAX_REASONS_OCTETS) reasons = `${reasons.slice(0, MAX_REASONS_OCTETS - 3)}...`;
  const score = Math.min(1, Math.max(0, verdict.score)).toFixed(3);
  return headerPrefix([
    ['X-Spam-Flag', 'YES'],
    ['X-Spam-Score', `${score} (${[comment(ourHost), verdict.source, reasons].filter(Boolean).join('; ')})`],
  ]);
}
