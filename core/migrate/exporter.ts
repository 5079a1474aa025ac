// Everything out again: an account's mailboxes as mbox files (RFC 4155, mboxrd, one file per
// mailbox, `A/B.mbox` for A/B) or as a Maildir++ tree, with flags, keywords and dates, so that
// `import mbox|maildir` of the result gives the same mailboxes back.
import { mkdir, readdir, stat, utimes, writeFile, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { copyBytes } from '../header-prefix.ts';
import type { Mailbox, MessageItem } from '../store/types.ts';
import { maildirDirName, maildirInfo, writeMaildirKeywords } from './maildir.ts';
import { escapeMboxrd, flagHeaders, mboxFromLine } from './mbox.ts';
import { SourceError } from './source.ts';

export type ExportFormat = 'mbox' | 'maildir';

export interface ExportSource {
  readonly mailStore: {
    listMailboxes(account: string): Promise<Mailbox[]>;
    listMessages(account: string, mailbox: string, options?: { fromUid?: number; limit?: number }): Promise<MessageItem[]>;
  };
  readonly blobs: { getBuffer(key: string): Promise<Buffer> };
}

export interface ExportedFolder {
  readonly name: string;
  readonly path: string;
  readonly messages: number;
  readonly bytes: number;
}

/** Messages read from the store at once: the index of each comes along, so not all of a large mailbox. */
const PAGE = 200;

async function* messagesOf(source: ExportSource, account: string, mailbox: string): AsyncGenerator<MessageItem> {
  for (let from = 1; ; ) {
    const page = await source.mailStore.listMessages(account, mailbox, { fromUid: from, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    from = page[page.length - 1]!.uid + 1;
  }
}

/** A target that exists and holds anything is refused: an export never overwrites. */
async function requireEmpty(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isDirectory() || (await readdir(path)).length > 0) throw new SourceError(`${path} exists and is not an empty folder; export into a new one`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path, { recursive: true });
}

const senderOf = (m: MessageItem) => {
  const from = m.index.envelope.from?.find((a) => a.mailbox && a.host);
  return from ? `${from.mailbox}@${from.host}` : 'MAILER-DAEMON';
};

export async function exportAccount(source: ExportSource, account: string, format: ExportFormat, path: string, onFolder: (folder: ExportedFolder) => void = () => {}): Promise<ExportedFolder[]> {
  await requireEmpty(path);
  const done: ExportedFolder[] = [];
  for (const mailbox of await source.mailStore.listMailboxes(account)) {
    const folder = format === 'mbox' ? await exportMbox(source, account, mailbox.name, path) : await exportMaildir(source, account, mailbox.name, path);
    done.push(folder);
    onFolder(folder);
  }
  return done;
}

async function exportMbox(source: ExportSource, account: string, name: string, root: string): Promise<ExportedFolder> {
  const file = join(root, ...name.split('/')) + '.mbox';
  await mkdir(dirname(file), { recursive: true });
  const out = await open(file, 'wx');
  let messages = 0;
  let bytes = 0;
  try {
    for await (const m of messagesOf(source, account, name)) {
      const raw = copyBytes(m, await source.blobs.getBuffer(m.blobKey));
      const eol = raw.includes(0x0d) || raw.length === 0 ? '\r\n' : '\n';
      const body = escapeMboxrd(raw);
      const ending = body.length === 0 || body[body.length - 1] === 0x0a ? '' : eol;
      await out.write(Buffer.concat([Buffer.from(`${mboxFromLine(senderOf(m), new Date(m.internalDate))}${eol}${flagHeaders(m.flags, eol)}`, 'latin1'), body, Buffer.from(`${ending}${eol}`)]));
      messages++;
      bytes += raw.length;
    }
  } finally {
    await out.close();
  }
  return { name, path: file, messages, bytes };
}

async function exportMaildir(source: ExportSource, account: string, name: string, root: string): Promise<ExportedFolder> {
  const dir = join(root, maildirDirName(name));
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
  const keywordIndex = new Map<string, number>();
  let messages = 0;
  let bytes = 0;
  for await (const m of messagesOf(source, account, name)) {
    for (const f of m.flags) if (!f.startsWith('\\') && f !== '$Forwarded' && !keywordIndex.has(f)) keywordIndex.set(f, keywordIndex.size);
    const raw = copyBytes(m, await source.blobs.getBuffer(m.blobKey));
    const date = new Date(m.internalDate);
    // Names sort in UID order (import reads them so); maildir(5) asks only that they be unique.
    const file = join(dir, 'cur', `${String(m.uid).padStart(10, '0')}.M${Math.floor(date.getTime() / 1000)}.mailctl,S=${raw.length}${maildirInfo(m.flags, keywordIndex)}`);
    await writeFile(file, raw, { flag: 'wx' });
    // INTERNALDATE is the file's mtime, as Dovecot reads it.
    await utimes(file, date, date);
    messages++;
    bytes += raw.length;
  }
  if (keywordIndex.size > 0) await writeFile(join(dir, 'dovecot-keywords'), writeMaildirKeywords([...keywordIndex.keys()]));
  return { name, path: dir, messages, bytes };
}
