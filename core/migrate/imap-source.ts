// An IMAP server as an import source, read with imapflow: LIST for the folders (RFC 3501 §6.3.8,
// names decoded from modified UTF-7 by imapflow), EXAMINE so nothing changes at the source
// (RFC 3501 §6.3.2: no \Seen, no \Recent taken), UID FETCH of BODY.PEEK[] for the bytes.
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import type { SourceFolder } from './folders.ts';
import { SourceError, type MessageFingerprint, type MessageSize, type MessageSource, type OpenFolder, type SourceMessage } from './source.ts';

export interface ImapSourceOptions {
  /** `imaps://user@host[:port]` (TLS, port 993) or `imap://user@host[:port]` (STARTTLS required, port 143). */
  readonly url: string;
  readonly password: string;
  /** Accept plaintext (no STARTTLS) and certificates that do not verify: test and lab servers only. */
  readonly insecure?: boolean;
}

interface ImapAddress {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

/** Parses the source URL (RFC 5092 form, user percent-encoded); throws SourceError with what is wrong. */
export function parseImapUrl(text: string): ImapAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SourceError(`'${text}' is not a URL like imaps://user@imap.example.com`);
  }
  const secure = url.protocol === 'imaps:';
  if (!secure && url.protocol !== 'imap:') throw new SourceError(`the source must be an imap:// or imaps:// URL, not ${url.protocol}//`);
  if (url.password) throw new SourceError('do not put the password in the URL (it shows in the process list); use the prompt, --password-file or --password-env');
  if (!url.username) throw new SourceError(`the source URL names no user: imaps://user@${url.hostname || 'host'}`);
  if (url.pathname && url.pathname !== '/') throw new SourceError('the source URL takes no folder; use --include');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new SourceError('the source URL names no host');
  return { secure, host, port: url.port ? Number(url.port) : secure ? 993 : 143, user: decodeURIComponent(url.username) };
}

/** A compact UID set (RFC 3501 §9 sequence-set) for an ascending list. */
export function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < uids.length; ) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(i === j ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** imapflow's errors as one line: the server's own text when it gave one. */
function sourceError(err: unknown, doing: string): SourceError {
  if (err instanceof SourceError) return err;
  const e = err as { authenticationFailed?: boolean; responseStatus?: string; responseText?: string; code?: string; message?: string };
  if (e.authenticationFailed) return new SourceError(`the source refused the login${e.responseText ? `: ${e.responseText}` : ''}`);
  const reason = e.responseText ?? (e.code && !e.message?.includes(e.code) ? `${e.message} (${e.code})` : e.message) ?? String(err);
  return new SourceError(`${doing}: ${reason}`.replace(/\s*\n\s*/g, ' '), e.responseStatus === 'NO' || e.responseStatus === 'BAD');
}

export async function openImapSource(options: ImapSourceOptions): Promise<MessageSource> {
  const address = parseImapUrl(options.url);
  const client = new ImapFlow({
    host: address.host,
    port: address.port,
    secure: address.secure,
    ...(address.secure || options.insecure ? {} : { doSTARTTLS: true }),
    ...(options.insecure ? { tls: { rejectUnauthorized: false } } : {}),
    auth: { user: address.user, pass: options.password },
    logger: false,
    disableAutoIdle: true,
  });
  // A dropped connection is reported by the command that was running; this keeps it from being an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw sourceError(err, `cannot connect to ${address.host}:${address.port}`);
  }
  return {
    id: `imap:${address.user.toLowerCase()}@${address.host.toLowerCase()}`,
    async folders() {
      try {
        const listed = await client.list();
        return listed.map((entry): SourceFolder => ({ path: entry.path, delimiter: entry.delimiter || null, attributes: new Set(entry.flags) }));
      } catch (err) {
        throw sourceError(err, 'LIST failed');
      }
    },
    async open(folder) {
      let lock;
      try {
        lock = await client.getMailboxLock(folder.path, { readOnly: true });
      } catch (err) {
        throw sourceError(err, `cannot open ${folder.path}`);
      }
      const mailbox = client.mailbox;
      if (!mailbox) throw new SourceError(`cannot open ${folder.path}`);
      return imapFolder(client, folder.path, String(mailbox.uidValidity), mailbox.exists, () => lock.release());
    },
    fork: () => openImapSource(options),
    async close() {
      await client.logout().catch(() => client.close());
    },
  };
}

function imapFolder(client: ImapFlow, path: string, uidValidity: string, exists: number, release: () => void): OpenFolder {
  const fetchAll = async (range: string, query: Parameters<ImapFlow['fetch']>[1]): Promise<FetchMessageObject[]> => {
    const out: FetchMessageObject[] = [];
    try {
      for await (const message of client.fetch(range, query, { uid: true })) out.push(message);
    } catch (err) {
      throw sourceError(err, `FETCH in ${path} failed`);
    }
    return out;
  };
  return {
    uidValidity,
    async sizes(after, also) {
      if (exists === 0) return [];
      // RFC 3501 §6.4.8: `n:*` includes the highest UID even when it is below n.
      const newer = (await fetchAll(`${after + 1}:*`, { uid: true, size: true })).filter((m) => m.uid > after);
      const retried = also.length > 0 ? await fetchAll(uidSet([...also].sort((a, b) => a - b)), { uid: true, size: true }) : [];
      const byUid = new Map<number, MessageSize>();
      for (const m of [...retried, ...newer]) byUid.set(m.uid, { uid: m.uid, size: m.size ?? 0 });
      return [...byUid.values()].sort((a, b) => a.uid - b.uid);
    },
    async fingerprints() {
      if (exists === 0) return [];
      const all = await fetchAll('1:*', { uid: true, size: true, internalDate: true, envelope: true });
      return all
        .map((m): MessageFingerprint => ({ uid: m.uid, size: m.size ?? 0, internalDate: new Date(m.internalDate ?? 0), messageId: m.envelope?.messageId ?? null }))
        .sort((a, b) => a.uid - b.uid);
    },
    async *fetch(uids) {
      if (uids.length === 0) return;
      try {
        for await (const m of client.fetch(uidSet(uids), { uid: true, flags: true, internalDate: true, source: true }, { uid: true })) {
          if (!m.source) continue;
          const message: SourceMessage = {
            uid: m.uid,
            raw: m.source,
            flags: [...(m.flags ?? [])].filter((f) => f.toLowerCase() !== '\\recent'),
            internalDate: new Date(m.internalDate ?? 0),
          };
          yield message;
        }
      } catch (err) {
        throw sourceError(err, `FETCH in ${path} failed`);
      }
    },
    async close() {
      release();
    },
  };
}
