// Maildir (maildir(5), Maildir++ folders as Courier and Dovecot lay them out): INBOX at the
// root, folder A/B in `.A.B` with names in modified UTF-7 (RFC 3501 §5.1.3), messages in cur/ with flags after `:2,`, keywords as letters
// a–z named by the folder's `dovecot-keywords` file, INTERNALDATE as the file's mtime.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeMailboxName, encodeMailboxName, Mutf7Error } from '../mutf7.ts';

/** maildir(5) info letters, in the ASCII order the `:2,` suffix must list them. */
const LETTERS: ReadonlyArray<readonly [string, string]> = [
  ['D', '\\Draft'],
  ['F', '\\Flagged'],
  ['P', '$Forwarded'],
  ['R', '\\Answered'],
  ['S', '\\Seen'],
  ['T', '\\Deleted'],
];

const KEYWORDS_FILE = 'dovecot-keywords';
/** Dovecot names at most 26 keywords per folder, a to z. */
export const MAX_MAILDIR_KEYWORDS = 26;

async function isMaildir(dir: string): Promise<boolean> {
  for (const sub of ['cur', 'new']) {
    try {
      if ((await stat(join(dir, sub))).isDirectory()) return true;
    } catch {
      // not this one
    }
  }
  return false;
}

/** The folders of a Maildir++ tree: the root is INBOX, `.A.B` is A/B. */
export async function maildirFolders(root: string): Promise<Array<{ name: string; dir: string }>> {
  const folders: Array<{ name: string; dir: string }> = [];
  if (await isMaildir(root)) folders.push({ name: 'INBOX', dir: root });
  for (const entry of (await readdir(root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory() || !entry.name.startsWith('.') || entry.name === '.' || entry.name === '..') continue;
    const dir = join(root, entry.name);
    if (await isMaildir(dir)) folders.push({ name: entry.name.slice(1).split('.').map(levelName).join('/'), dir });
  }
  return folders;
}

/** A level of a Maildir++ folder name: modified UTF-7 as Dovecot writes it, or UTF-8 as some tools do. */
function levelName(level: string): string {
  try {
    return decodeMailboxName(level);
  } catch (err) {
    if (err instanceof Mutf7Error) return level;
    throw err;
  }
}

/** The folder's directory name in a Maildir++ tree (`.` in a name cannot be told from the delimiter: it becomes `_`). */
export function maildirDirName(name: string): string {
  return name === 'INBOX' ? '' : `.${name.split('/').map((level) => encodeMailboxName(level.replaceAll('.', '_'))).join('.')}`;
}

/** Keyword index → name from `dovecot-keywords` (lines `<n> <keyword>`); empty when there is none. */
export async function readMaildirKeywords(dir: string): Promise<Map<number, string>> {
  const text = await readFile(join(dir, KEYWORDS_FILE), 'utf8').catch(() => '');
  const keywords = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line.trim());
    if (m) keywords.set(Number(m[1]), m[2]!);
  }
  return keywords;
}

export function writeMaildirKeywords(keywords: readonly string[]): string {
  return keywords.map((k, i) => `${i} ${k}\n`).join('');
}

/** Flags from a cur/ file name's `:2,` info (maildir(5)); lowercase letters are keywords. */
export function flagsOfMaildirName(file: string, keywords: ReadonlyMap<number, string>): string[] {
  const info = /:2,([A-Za-z]*)$/.exec(file)?.[1] ?? '';
  const flags: string[] = [];
  for (const ch of info) {
    const system = LETTERS.find(([letter]) => letter === ch);
    if (system) flags.push(system[1]);
    else if (ch >= 'a' && ch <= 'z') {
      const keyword = keywords.get(ch.charCodeAt(0) - 0x61);
      if (keyword) flags.push(keyword);
    }
  }
  return flags;
}

/** The `:2,` info for flags; keywords take their letter from `keywordIndex` (those past z are left out). */
export function maildirInfo(flags: readonly string[], keywordIndex: ReadonlyMap<string, number>): string {
  const lower = flags.map((f) => f.toLowerCase());
  const system = LETTERS.filter(([, flag]) => lower.includes(flag.toLowerCase())).map(([letter]) => letter);
  const keywords = flags
    .filter((f) => !f.startsWith('\\') && f !== '$Forwarded')
    .map((f) => keywordIndex.get(f))
    .filter((i): i is number => i !== undefined && i < MAX_MAILDIR_KEYWORDS)
    .sort((a, b) => a - b)
    .map((i) => String.fromCharCode(0x61 + i));
  return `:2,${system.join('')}${keywords.join('')}`;
}
