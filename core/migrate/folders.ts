// Which source folder goes to which of our mailboxes: the source's hierarchy delimiter becomes
// ours (RFC 3501 §5.1.1, `/` here), special-use folders land on ours by their RFC 6154 attribute
// or a common name, INBOX stays INBOX (RFC 3501 §5.1), and the user's include/exclude/map rules apply.
import { DELIMITER, normaliseMailboxName } from '../store/mailbox-names.ts';
import type { SpecialUse } from '../store/types.ts';

export interface SourceFolder {
  /** The name in Unicode (modified UTF-7 of RFC 3501 §5.1.3 already decoded) with the source's delimiter. */
  readonly path: string;
  /** The source's hierarchy delimiter, or null for a flat namespace. */
  readonly delimiter: string | null;
  /** LIST attributes (RFC 3501 §7.2.2, RFC 6154 §2), as the server spelled them. */
  readonly attributes: ReadonlySet<string>;
}

export interface FolderRules {
  /** Globs over the source name written with `/`: `*` matches anything, `%` anything but `/`. Empty: every folder. */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Source name (with `/`) → our name; the folder's children move with it. */
  readonly map: ReadonlyMap<string, string>;
}

export type FolderPlan =
  | { readonly kind: 'copy'; readonly source: SourceFolder; readonly name: string; readonly target: string; readonly specialUse: SpecialUse | null }
  | { readonly kind: 'skip'; readonly source: SourceFolder; readonly name: string; readonly reason: string };

const SPECIAL_USES: readonly SpecialUse[] = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'];

/**
 * Names other servers and clients give special-use folders that lack the RFC 6154 attribute
 * (Exchange/WorkMail, Outlook, Apple Mail, Thunderbird, German, French, Spanish), lowercased.
 */
const COMMON_NAMES: ReadonlyMap<string, SpecialUse> = new Map([
  ...['sent', 'sent items', 'sent messages', 'sent mail', 'gesendet', 'gesendete elemente', 'gesendete objekte', 'envoyés', 'éléments envoyés', 'enviados', 'elementos enviados'].map((n) => [n, '\\Sent'] as const),
  ...['drafts', 'draft', 'entwürfe', 'brouillons', 'borradores'].map((n) => [n, '\\Drafts'] as const),
  ...['trash', 'deleted items', 'deleted messages', 'bin', 'papierkorb', 'gelöschte elemente', 'corbeille', 'éléments supprimés', 'papelera'].map((n) => [n, '\\Trash'] as const),
  ...['junk', 'junk e-mail', 'junk email', 'junk mail', 'spam', 'bulk mail', 'spamverdacht', 'junk-e-mail', 'courrier indésirable', 'correo no deseado'].map((n) => [n, '\\Junk'] as const),
  ...['archive', 'archives', 'archiv'].map((n) => [n, '\\Archive'] as const),
]);

/** RFC 6154 §2 virtual folders hold copies of mail kept elsewhere: copying them would duplicate it. */
const VIRTUAL = ['\\All', '\\Flagged'];
/** RFC 3501 §7.2.2 / RFC 5258 §3: no messages to copy; children are still listed on their own. */
const NOT_SELECTABLE = ['\\Noselect', '\\NonExistent'];

const hasAttribute = (folder: SourceFolder, attribute: string) => [...folder.attributes].some((a) => a.toLowerCase() === attribute.toLowerCase());

/** The source name split into levels; a `/` inside a level (a `.`-delimited source) becomes `_`, since `/` is our delimiter. */
function levelsOf(folder: SourceFolder): string[] {
  const levels = folder.delimiter ? folder.path.split(folder.delimiter) : [folder.path];
  if (/^inbox$/i.test(levels[0]!)) levels[0] = 'INBOX';
  return levels.map((level) => (folder.delimiter === DELIMITER ? level : level.replaceAll(DELIMITER, '_')));
}

export function globMatches(glob: string, name: string): boolean {
  const pattern = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('%', '[^/]*');
  return new RegExp(`^${pattern}$`, 'u').test(name);
}

/**
 * Plans every source folder. `existing` is our account's special-use mailboxes (their names
 * may differ from the defaults); a source special-use folder and its children land there.
 */
export function planFolders(folders: readonly SourceFolder[], rules: FolderRules, existing: ReadonlyMap<SpecialUse, string>): FolderPlan[] {
  const named = folders.map((folder) => ({ folder, levels: levelsOf(folder) }));
  // The attribute decides first; a common name only for a use no folder claims by attribute.
  const useOf = new Map<SourceFolder, SpecialUse>();
  for (const use of SPECIAL_USES) {
    const byAttribute = named.find(({ folder }) => hasAttribute(folder, use));
    const byName = named.find(({ levels }) => {
      const top = levels.length === 1 ? levels[0] : levels.length === 2 && levels[0] === 'INBOX' ? levels[1] : undefined;
      return top !== undefined && COMMON_NAMES.get(top.toLowerCase()) === use;
    });
    const chosen = byAttribute ?? byName;
    if (chosen) useOf.set(chosen.folder, use);
  }
  const specialPrefixes = named
    .filter(({ folder }) => useOf.has(folder))
    .map(({ folder, levels }) => ({ levels, target: existing.get(useOf.get(folder)!) ?? useOf.get(folder)!.slice(1) }));

  return named.map(({ folder, levels }): FolderPlan => {
    const name = levels.join(DELIMITER);
    if (rules.include.length > 0 && !rules.include.some((g) => globMatches(g, name))) return { kind: 'skip', source: folder, name, reason: 'not included' };
    if (rules.exclude.some((g) => globMatches(g, name))) return { kind: 'skip', source: folder, name, reason: 'excluded' };
    const virtual = VIRTUAL.find((a) => hasAttribute(folder, a));
    if (virtual) return { kind: 'skip', source: folder, name, reason: `virtual folder (${virtual})` };
    if (NOT_SELECTABLE.some((a) => hasAttribute(folder, a))) return { kind: 'skip', source: folder, name, reason: 'holds no messages (\\Noselect)' };

    let target = name;
    const mapped = [...rules.map].filter(([from]) => name === from || name.startsWith(from + DELIMITER)).sort((a, b) => b[0].length - a[0].length)[0];
    if (mapped) target = mapped[1] + name.slice(mapped[0].length);
    else {
      const special = specialPrefixes
        .filter((p) => p.levels.length <= levels.length && p.levels.every((l, i) => l === levels[i]))
        .sort((a, b) => b.levels.length - a.levels.length)[0];
      if (special) target = [special.target, ...levels.slice(special.levels.length)].join(DELIMITER);
    }
    try {
      target = normaliseMailboxName(target);
    } catch {
      return { kind: 'skip', source: folder, name, reason: `cannot be named '${target}' here` };
    }
    const specialUse = useOf.get(folder) ?? null;
    return { kind: 'copy', source: folder, name, target, specialUse: target === existing.get(specialUse!) || !existing.has(specialUse!) ? specialUse : null };
  });
}
