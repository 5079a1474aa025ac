// Dovecot as the benchmarks' anchor for IMAP and POP3: Debian's dovecot 2.3, a private instance
// on loopback (test/helpers/dovecot.ts, as the differential tests start it), with passwords
// hashed as Debian's doveadm hashes them (SHA512-CRYPT) and mail written straight into its
// maildirs, so it serves the same messages as ours. With `lmtp`, it also takes deliveries over
// LMTP (from the Postfix anchor) for the 250→visible figure.
//
//   const dovecot = await startDovecotAnchor({ user, password, lmtp: true });
//   dovecot.fill('INBOX', bodies, ['\\Seen']);   dovecot.ports.imap / .pop3 / .lmtp
//   await dovecot.stop();
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDovecot } from '../../test/helpers/dovecot.ts';
import { freePort } from '../../test/helpers/free-port.ts';

export interface DovecotAnchor {
  readonly ports: { readonly imap: number; readonly pop3: number; readonly lmtp: number | null };
  /** Writes messages into a folder's maildir (`cur/`, the flags in the name); call before any client reads it. */
  fill(folder: string, bodies: readonly Buffer[], flags: (i: number) => readonly string[]): void;
  logs(): string;
  stop(): Promise<void>;
}


/** Maildir info letters of the system flags (the Maildir spec: sorted, after `:2,`). */
const MAILDIR_FLAG: Record<string, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' };

/** `moreUsers` have the same password as `user` (mail for many mailboxes). */
export async function startDovecotAnchor(options: { user: string; password: string; lmtp?: boolean; moreUsers?: readonly string[] }): Promise<DovecotAnchor> {
  const lmtp = options.lmtp ? await freePort() : null;
  const dovecot = await startDovecot({
    users: Object.fromEntries([options.user, ...(options.moreUsers ?? [])].map((user) => [user, options.password])),
    passwordScheme: 'SHA512-CRYPT',
    // Dovecot's default of 10 connections per user and address would refuse the load's clients.
    extraConfig: [
      ...(lmtp === null ? [] : ['protocols = imap pop3 lmtp', 'service lmtp {', '  inet_listener lmtp {', '    address = 127.0.0.1', `    port = ${lmtp}`, '  }', '}']),
      'protocol imap {', '  mail_max_userip_connections = 10000', '}',
      'protocol pop3 {', '  mail_max_userip_connections = 10000', '}',
      '',
    ].join('\n'),
  });
  const maildir = join(dovecot.dir, 'home', options.user, 'Maildir');
  const own = (path: string) => chownSync(path, dovecot.mailUser.uid, dovecot.mailUser.gid);
  let serial = 0;
  return {
    ports: { imap: dovecot.ports.imap, pop3: dovecot.ports.pop3, lmtp },
    fill(folder, bodies, flags) {
      const made: string[] = [];
      const ensure = (path: string) => {
        mkdirSync(path, { recursive: true, mode: 0o700 });
        made.push(path);
      };
      ensure(maildir);
      const base = folder === 'INBOX' ? maildir : join(maildir, `.${folder}`);
      ensure(base);
      for (const sub of ['cur', 'new', 'tmp']) ensure(join(base, sub));
      if (folder !== 'INBOX') writeFileSync(join(base, 'maildirfolder'), '');
      const now = Math.floor(Date.now() / 1000);
      bodies.forEach((body, i) => {
        const info = flags(i).map((f) => MAILDIR_FLAG[f] ?? '').sort().join('');
        const file = join(base, 'cur', `${now}.M${String(serial++).padStart(8, "0")}P${process.pid}.bench:2,${info}`);
        writeFileSync(file, body);
        own(file);
      });
      for (const path of [join(dovecot.dir, 'home', options.user), ...made, ...(folder === 'INBOX' ? [] : [join(base, 'maildirfolder')])]) own(path);
    },
    logs: () => dovecot.logs(),
    stop: () => dovecot.stop(),
  };
}
