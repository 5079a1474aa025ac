// mailctl's commands as data: name, usage, options and what each does to the store.
// Parsing and error reporting live in cli/mailctl.ts; this file only says what a command means.
import { effectiveInboundPolicy, INBOUND_ACTIONS, type InboundAction, type InboundPolicy } from '../core/authentication/policy.ts';
import { StoreError, type MessageItem } from '../core/store/types.ts';
import type { EnvelopeAddress } from '../core/mime/types.ts';
import { displayDate as date } from './output.ts';
import { readNewPassword } from './password.ts';
import { OUTBOUND_COMMANDS } from './outbound-commands.ts';
import { IMPORT_COMMANDS } from './import-commands.ts';
import { UsageError, type Command, type OptionValues } from './command.ts';


function positiveInteger(value: OptionValues[string], option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`--${option} wants a positive whole number, got '${String(value)}'`);
  }
  return n;
}

/** RFC 2047 decoding (libmime), loaded by the commands that show headers: it brings every charset table. */
type DecodeWords = (text: string) => string;
const loadDecodeWords = async (): Promise<DecodeWords> => {
  const { default: libmime } = await import('libmime');
  return (text) => libmime.decodeWords(text);
};

/** Display form of an ENVELOPE address (raw header text): RFC 2047 words decoded. */
function displayAddress(a: EnvelopeAddress, decodeWords: DecodeWords): string {
  const address = a.mailbox !== null && a.host !== null ? `${a.mailbox}@${a.host}` : (a.mailbox ?? '');
  const name = a.name ? decodeWords(a.name).trim() : '';
  return name ? `${name} <${address}>` : address;
}

function fromOf(message: MessageItem, decodeWords: DecodeWords): string {
  // Group syntax (RFC 3501 §7.4.2: host null) marks group start/end, not a sender.
  const from = (message.index.envelope.from ?? []).filter((a) => a.host !== null);
  return from.map((a) => displayAddress(a, decodeWords)).join(', ');
}

const subjectOf = (message: MessageItem, decodeWords: DecodeWords) => {
  const raw = message.index.envelope.subject;
  return raw === null ? '' : decodeWords(raw);
};

// The command table: data, one entry per command (name, usage, summary, options, run), so
// entries read alike on purpose; what they share (arity, help, errors) is cli/mailctl.ts's.
export const COMMANDS: readonly Command[] = [
  {
    name: 'domain add',
    args: '<domain>',
    summary: 'Accept mail for a domain.',
    async run({ services, out }, [name]) {
      const domain = await services.directory.addDomain(name!);
      out.done(`added domain ${domain.name}`, domain);
    },
  },
  {
    name: 'domain list',
    args: '',
    summary: 'List the local domains.',
    async run({ services, out }) {
      const domains = await services.directory.listDomains();
      out.list(
        domains,
        [{ header: 'DOMAIN', value: (d) => d.name }, { header: 'CREATED', value: (d) => date(d.createdAt) }, { header: 'POSTMASTER', value: (d) => d.postmaster ?? '-' }],
        (d) => d,
        '(no domains)',
      );
    },
  },
  {
    name: 'domain remove',
    args: '<domain>',
    summary: 'Stop accepting mail for a domain (it must have no accounts or aliases left).',
    async run({ services, out }, [name]) {
      await services.directory.removeDomain(name!);
      out.done(`removed domain ${name}`, { name, removed: true });
    },
  },
  {
    name: 'domain postmaster',
    args: '<domain> <address|none>',
    summary: 'Deliver postmaster@domain (RFC 5321 §4.5.1) to this address when no account or alias has that name. Without it the first account made in the domain gets it (the oldest remaining one once that goes); none hands it back to the oldest account.',
    async run({ services, out }, [name, address]) {
      if (!services.directory.setPostmaster) throw new StoreError('invalid', 'this store cannot change the postmaster');
      const domain = await services.directory.setPostmaster(name!, address === 'none' ? null : address!);
      out.done(domain.postmaster ? `postmaster@${domain.name} goes to ${domain.postmaster}` : `postmaster@${domain.name} goes to its catch-all, if any (no accounts)`, domain);
    },
  },
  {
    name: 'domain inbound-policy',
    args: '<domain>',
    summary: 'Show or change what the MX does with mail to this domain that fails authentication (docs/decisions/0014-inbound-authentication.md): reject (550 5.7.1 at the end of DATA), quarantine (into the recipient\'s Junk) or accept. Defaults: --dmarc-reject reject, --dmarc-quarantine quarantine, --own-domain-forgery reject.',
    options: {
      'dmarc-reject': { type: 'string', help: 'the From: domain publishes p=reject and the message fails DMARC', valueName: 'reject|quarantine|accept' },
      'dmarc-quarantine': { type: 'string', help: 'the From: domain publishes p=quarantine and the message fails DMARC', valueName: 'reject|quarantine|accept' },
      'own-domain-forgery': { type: 'string', help: 'From: names one of our domains and the message does not authenticate as it', valueName: 'reject|quarantine|accept' },
    },
    async run({ services, out }, [name], values) {
      const changes: Partial<Record<keyof InboundPolicy, InboundAction>> = {};
      for (const [option, key] of [['dmarc-reject', 'dmarcReject'], ['dmarc-quarantine', 'dmarcQuarantine'], ['own-domain-forgery', 'ownDomainForgery']] as const) {
        const value = values[option];
        if (value === undefined) continue;
        if (typeof value !== 'string' || !(INBOUND_ACTIONS as readonly string[]).includes(value)) throw new UsageError(`--${option} wants one of ${INBOUND_ACTIONS.join(', ')}`);
        changes[key] = value as InboundAction;
      }
      if (!services.directory.setInboundPolicy) throw new StoreError('invalid', 'this store cannot change inbound policies');
      const domain = await services.directory.setInboundPolicy(name!, changes);
      const policy = effectiveInboundPolicy(domain.inboundPolicy);
      out.done(
        `${domain.name}: p=reject failing DMARC → ${policy.dmarcReject}; p=quarantine failing DMARC → ${policy.dmarcQuarantine}; forged From: of our domains → ${policy.ownDomainForgery}`,
        { name: domain.name, inboundPolicy: policy },
      );
    },
  },
  {
    name: 'account add',
    args: '<address>',
    summary: 'Create an account with its INBOX and special-use mailboxes. Without --password, asks for one (or reads the first line of piped stdin).',
    options: {
      password: { type: 'string', help: 'the password (visible to other local users in the process list; prefer the prompt)', valueName: 'secret' },
      quota: { type: 'string', help: 'storage quota in bytes', valueName: 'bytes' },
    },
    async run({ services, out, stdin, stderr }, [address], values) {
      const quotaBytes = positiveInteger(values.quota, 'quota') ?? null;
      const password = await readNewPassword(values.password as string | undefined, stdin, stderr);
      const account = await services.directory.addAccount(address!, password, { quotaBytes });
      out.done(`added account ${account.address}`, account);
    },
  },
  {
    name: 'account passwd',
    args: '<address>',
    summary: 'Set the password of an account. Without --password, asks for one (or reads the first line of piped stdin).',
    options: { password: { type: 'string', help: 'the new password (prefer the prompt)', valueName: 'secret' } },
    async run({ services, out, stdin, stderr }, [address], values) {
      const password = await readNewPassword(values.password as string | undefined, stdin, stderr);
      await services.directory.setPassword(address!, password);
      out.done(`password of ${address} changed`, { address, passwordChanged: true });
    },
  },
  {
    name: 'account list',
    args: '[domain]',
    summary: 'List accounts, of one domain or all.',
    async run({ services, out }, [domain]) {
      const accounts = await services.directory.listAccounts(domain);
      // One usage read per account, all at once (the SDK's socket pool bounds them).
      const rows = await Promise.all(
        accounts.map(async (a) => ({ ...a, usedBytes: await services.mailStore.getUsage(a.address) })),
      );
      out.list(
        rows,
        [
          { header: 'ACCOUNT', value: (a) => a.address },
          { header: 'USED', value: (a) => (a.usedBytes === null ? '-' : a.usedBytes), align: 'right' },
          { header: 'QUOTA', value: (a) => (a.quotaBytes === null ? '-' : a.quotaBytes), align: 'right' },
          { header: 'CREATED', value: (a) => date(a.createdAt) },
        ],
        (a) => a,
        '(no accounts)',
      );
    },
  },
  {
    name: 'account quota',
    args: '<address> <bytes|none>',
    summary: 'Set the storage quota of an account in bytes, or lift it with none. Mail over quota is refused at RCPT (452 4.2.2) and APPEND (NO [OVERQUOTA]).',
    async run({ services, out }, [address, limit]) {
      const quotaBytes = limit === 'none' ? null : positiveInteger(limit, 'quota');
      if (quotaBytes === undefined) throw new UsageError("quota wants a positive whole number of bytes or 'none'");
      if (!services.directory.setQuota) throw new StoreError('invalid', 'this store cannot change quotas');
      const account = await services.directory.setQuota(address!, quotaBytes);
      out.done(quotaBytes === null ? `quota of ${account.address} lifted` : `quota of ${account.address} set to ${quotaBytes} bytes`, account);
    },
  },
  {
    name: 'account send-as',
    args: '<address> <domain|none>...',
    summary: 'Let an account send as any address of these domains (From:, Sender:, MAIL FROM), besides its own address and the aliases that reach it; replaces the list, none clears it. Submission refuses other senders with 553 5.7.1.',
    async run({ services, out }, [address, ...domains]) {
      const none = domains.length === 1 && domains[0] === 'none';
      if (!none && domains.includes('none')) throw new UsageError("'none' stands alone");
      if (!services.directory.setSendAsDomains) throw new StoreError('invalid', 'this store cannot change sending rights');
      const account = await services.directory.setSendAsDomains(address!, none ? [] : domains);
      out.done(
        account.sendAsDomains.length ? `${account.address} may send as ${account.sendAsDomains.map((d) => `*@${d}`).join(', ')}` : `${account.address} may send as its own address and aliases only`,
        account,
      );
    },
  },
  {
    name: 'account remove',
    args: '<address>',
    summary: 'Remove an account and all its mailboxes and messages.',
    async run({ services, out }, [address]) {
      await services.directory.removeAccount(address!);
      out.done(`removed account ${address}`, { address, removed: true });
    },
  },
  {
    name: 'alias add',
    args: '<address|@domain> <target>...',
    summary: 'Deliver mail for an address (or, as @domain, for every unknown address of the domain) to the targets.',
    async run({ services, out }, [address, ...targets]) {
      const alias = await services.directory.addAlias(address!, targets);
      out.done(`added alias ${alias.address} → ${alias.targets.join(', ')}`, alias);
    },
  },
  {
    name: 'alias list',
    args: '[domain]',
    summary: 'List aliases, of one domain or all.',
    async run({ services, out }, [domain]) {
      const aliases = await services.directory.listAliases(domain);
      out.list(aliases, [{ header: 'ALIAS', value: (a) => a.address }, { header: 'TARGETS', value: (a) => a.targets.join(', ') }], (a) => a, '(no aliases)');
    },
  },
  {
    name: 'alias remove',
    args: '<address|@domain>',
    summary: 'Remove an alias or a catch-all.',
    async run({ services, out }, [address]) {
      await services.directory.removeAlias(address!);
      out.done(`removed alias ${address}`, { address, removed: true });
    },
  },
  {
    name: 'mailbox list',
    args: '<account>',
    summary: "List an account's mailboxes with UIDVALIDITY and UIDNEXT.",
    async run({ services, out }, [account]) {
      if (!(await services.directory.getAccount(account!))) throw new StoreError('not-found', `no account ${account}`);
      const mailboxes = await services.mailStore.listMailboxes(account!);
      out.list(
        mailboxes,
        [
          { header: 'MAILBOX', value: (m) => m.name },
          { header: 'UIDVALIDITY', value: (m) => m.uidValidity, align: 'right' },
          { header: 'UIDNEXT', value: (m) => m.uidNext, align: 'right' },
          { header: 'SPECIAL-USE', value: (m) => m.specialUse ?? '-' },
        ],
        (m) => m,
        '(no mailboxes)',
      );
    },
  },
  {
    name: 'message list',
    args: '<account> [mailbox]',
    summary: 'List the messages of a mailbox (INBOX by default): UID, date, from, subject, size.',
    options: { limit: { type: 'string', help: 'show at most this many, from the lowest UID', valueName: 'n' } },
    async run({ services, out }, [account, mailbox = 'INBOX'], values) {
      const limit = positiveInteger(values.limit, 'limit');
      if (!(await services.directory.getAccount(account!))) throw new StoreError('not-found', `no account ${account}`);
      if (!(await services.mailStore.getMailbox(account!, mailbox))) throw new StoreError('not-found', `no mailbox ${mailbox} in ${account}`);
      const messages = await services.mailStore.listMessages(account!, mailbox, limit === undefined ? {} : { limit });
      const decodeWords = await loadDecodeWords();
      out.list(
        messages,
        [
          { header: 'UID', value: (m) => m.uid, align: 'right' },
          { header: 'DATE', value: (m) => date(m.internalDate) },
          { header: 'FROM', value: (m) => fromOf(m, decodeWords) },
          { header: 'SIZE', value: (m) => m.size, align: 'right' },
          { header: 'SUBJECT', value: (m) => subjectOf(m, decodeWords) },
        ],
        (m) => ({ uid: m.uid, internalDate: m.internalDate, from: fromOf(m, decodeWords), subject: subjectOf(m, decodeWords), size: m.size, flags: m.flags }),
        '(no messages)',
      );
    },
  },
  ...OUTBOUND_COMMANDS,
  ...IMPORT_COMMANDS,
];

/** The `group action` names, grouped, for help and for telling a typo from an unknown group. */
export const GROUPS: ReadonlyMap<string, Command[]> = COMMANDS.reduce((groups, command) => {
  const group = command.name.split(' ')[0]!;
  groups.set(group, [...(groups.get(group) ?? []), command]);
  return groups;
}, new Map<string, Command[]>());
