// Files as an import source: an mbox file or a tree of them (RFC 4155), a Maildir++ tree, or a
// folder of .eml files. Each folder's messages get UIDs 1..n in file order; its UIDVALIDITY is
// a digest of what it holds, so an unchanged source reruns as nothing new, and a changed one is
// matched by Message-ID, size and date like an IMAP folder whose UIDVALIDITY changed.
import { createHash } from 'node:crypto';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { SourceFolder } from './folders.ts';
import { flagsOfMaildirName, maildirFolders, readMaildirKeywords } from './maildir.ts';
import { dateOfFromLine, scanMbox, takeFlagHeaders, unescapeMboxrd } from './mbox.ts';
import { SourceError, type MessageFingerprint, type MessageSource, type SourceMessage } from './source.ts';

/** One message of a file folder: where it is and how to read it. */
interface Located {
  /** Stable within the source: an offset, a file name. */
  readonly id: string;
  readonly size: number;
  read(): Promise<SourceMessage & { readonly uid: 0 }>;
}

interface FileFolder {
  readonly name: string;
  list(): Promise<Located[]>;
}

/**
 * Bytes as stored here: lines end in CRLF (docs/decisions/0006-bare-line-endings.md). A message
 * with no CR at all (a Unix mbox or Maildir) has its LFs widened; one that has CRs is kept as is.
 */
export function storedForm(raw: Buffer): Buffer {
  return raw.includes(0x0d) ? raw : Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
}

/** The date a message was received: its first Received: field's date (RFC 5321 §4.4), else Date:, else null. */
export function dateFromHeaders(raw: Buffer): Date | null {
  const end = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
  const header = raw.subarray(0, end >= 0 ? end : Math.min(raw.length, 65536)).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const received = /^Received:[^\r\n]*;\s*([^\r\n]+)/im.exec(header)?.[1];
  const dated = /^Date:\s*([^\r\n]+)/im.exec(header)?.[1];
  for (const candidate of [received, dated]) {
    if (!candidate) continue;
    const date = new Date(candidate.replace(/\([^)]*\)/g, '').trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  return null;
}

const messageIdOf = (raw: Buffer) => {
  const end = raw.indexOf('\r\n\r\n');
  return /^Message-ID:\s*(<[^>\r\n]*>)/im.exec(raw.subarray(0, end >= 0 ? end : 65536).toString('latin1'))?.[1] ?? null;
};

function fileSource(id: string, folders: FileFolder[]): MessageSource {
  const byName = new Map(folders.map((f) => [f.name, f]));
  return {
    id,
    async folders() {
      return folders.map((f): SourceFolder => ({ path: f.name, delimiter: '/', attributes: new Set() }));
    },
    async open(folder) {
      const located = await byName.get(folder.path)!.list();
      const uidValidity = createHash('sha256')
        .update(located.map((l) => `${l.id}:${l.size}`).join('\n'))
        .digest('hex')
        .slice(0, 16);
      const at = (uid: number) => located[uid - 1];
      return {
        uidValidity,
        async sizes(after, also) {
          const uids = [...new Set([...also, ...located.map((_, i) => i + 1).filter((uid) => uid > after)])].sort((a, b) => a - b);
          return uids.filter((uid) => at(uid)).map((uid) => ({ uid, size: at(uid)!.size }));
        },
        async fingerprints() {
          const out: MessageFingerprint[] = [];
          for (const [i, l] of located.entries()) {
            const m = await l.read();
            out.push({ uid: i + 1, size: m.raw.length, internalDate: m.internalDate, messageId: messageIdOf(m.raw) });
          }
          return out;
        },
        async *fetch(uids) {
          for (const uid of uids) {
            const l = at(uid);
            if (l) yield { ...(await l.read()), uid };
          }
        },
        async close() {},
      };
    },
    async close() {},
  };
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    await file.read(buffer, 0, buffer.length, start);
    return buffer;
  } finally {
    await file.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    throw new SourceError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

function mboxFolder(name: string, path: string): FileFolder {
  return {
    name,
    async list() {
      const entries = await scanMbox(path);
      // Sizes are of the text in the file; the stored form may differ a little (escapes, CRs).
      return entries.map((e): Located => ({
        id: String(e.start),
        size: e.end - e.start,
        async read() {
          let raw = await readRange(path, e.start, e.end);
          if (e.escaped) raw = unescapeMboxrd(raw);
          const taken = takeFlagHeaders(storedForm(raw));
          return { uid: 0, raw: taken.raw, flags: taken.flags, internalDate: dateOfFromLine(e.fromLine) ?? dateFromHeaders(taken.raw) ?? new Date(0) };
        },
      }));
    },
  };
}

/** `import mbox`: one mbox file into `folder` (INBOX by default), or a tree of `*.mbox` files, one folder each (as `export mbox` writes them). */
export async function openMboxSource(path: string, folder: string | undefined): Promise<MessageSource> {
  if (!(await isDirectory(path))) return fileSource(`mbox:${path}`, [mboxFolder(folder ?? 'INBOX', path)]);
  const files = (await filesUnder(path)).filter((f) => f.endsWith('.mbox'));
  if (files.length === 0) throw new SourceError(`no .mbox files under ${path}`);
  const name = (file: string) => relative(path, file).slice(0, -'.mbox'.length).split(sep).join('/');
  return fileSource(`mbox:${path}`, files.map((f) => mboxFolder(folder ? `${folder}/${name(f)}` : name(f), f)));
}

/** `import maildir`: a Maildir++ tree (INBOX at the root, `.A.B` for A/B); with `folder`, the root goes there and the rest below it. */
export async function openMaildirSource(path: string, folder: string | undefined): Promise<MessageSource> {
  if (!(await isDirectory(path))) throw new SourceError(`${path} is not a Maildir folder`);
  const found = await maildirFolders(path);
  if (found.length === 0) throw new SourceError(`${path} holds no Maildir (no cur/ or new/)`);
  return fileSource(
    `maildir:${path}`,
    found.map(({ name, dir }) => ({
      name: folder ? (name === 'INBOX' ? folder : `${folder}/${name}`) : name,
      async list() {
        const keywords = await readMaildirKeywords(dir);
        const files: Array<{ file: string; sub: string }> = [];
        for (const sub of ['cur', 'new']) {
          const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
          files.push(...names.filter((n) => !n.startsWith('.')).map((file) => ({ file, sub })));
        }
        // Unique names start with the delivery time (maildir(5)): their order is the arrival order.
        files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
        return Promise.all(
          files.map(async ({ file, sub }): Promise<Located> => {
            const full = join(dir, sub, file);
            const info = await stat(full);
            return {
              id: file.split(':')[0]!,
              size: info.size,
              async read() {
                return { uid: 0, raw: storedForm(await readFile(full)), flags: sub === 'cur' ? flagsOfMaildirName(file, keywords) : [], internalDate: info.mtime };
              },
            };
          }),
        );
      },
    })),
  );
}

/** `import eml`: every `.eml` file of a folder (and below), in name order, into one mailbox. */
export async function openEmlSource(path: string, folder: string | undefined): Promise<MessageSource> {
  if (!(await isDirectory(path))) throw new SourceError(`${path} is not a folder of .eml files`);
  const files = (await filesUnder(path)).filter((f) => f.toLowerCase().endsWith('.eml'));
  return fileSource(`eml:${path}`, [
    {
      name: folder ?? 'INBOX',
      async list() {
        return Promise.all(
          files.map(async (file): Promise<Located> => {
            const info = await stat(file);
            return {
              id: relative(path, file),
              size: info.size,
              async read() {
                const raw = storedForm(await readFile(file));
                return { uid: 0, raw, flags: [], internalDate: dateFromHeaders(raw) ?? info.mtime };
              },
            };
          }),
        );
      },
    },
  ]);
}

