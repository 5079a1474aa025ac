// Prints a parsed IMAP command back in RFC 3501 §9 syntax (with the extensions the parser reads),
// so the random-input test can require parse(print(ast)) to equal ast. Exhaustive over the
// command union: a command added to ast.ts without a case here fails type-checking.
import type { FetchAttribute, ImapCommand, ImapDate, ImapDateTime, SearchKey, Section } from '../../../../mailbox-server/imap/wire/ast.ts';
import { isAstringChar, isListChar } from '../../../../mailbox-server/imap/wire/cursor.ts';
import { formatSequenceSet } from '../../../../mailbox-server/imap/sequence-set.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The bytes of one command: text, and literals sent as `{n}` CRLF data (RFC 3501 §4.3). */
class CommandBytes {
  private readonly parts: Buffer[] = [];
  text(text: string): this {
    this.parts.push(Buffer.from(text, 'latin1'));
    return this;
  }
  literal(bytes: Buffer): this {
    this.parts.push(Buffer.from(`{${bytes.length}}\r\n`, 'latin1'), bytes);
    return this;
  }
  /** literal8 = "~{" number64 "}" CRLF *OCTET (RFC 3516 §4.4) */
  literal8(bytes: Buffer): this {
    this.parts.push(Buffer.from(`~{${bytes.length}}\r\n`, 'latin1'), bytes);
    return this;
  }
  /** string = quoted / literal: quoted unless the bytes hold CR, LF or NUL (not QUOTED-CHAR). */
  string(value: string | Buffer): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (bytes.includes(0x0d) || bytes.includes(0x0a) || bytes.includes(0x00)) return this.literal(bytes);
    const escaped: number[] = [0x22];
    for (const b of bytes) {
      if (b === 0x22 || b === 0x5c) escaped.push(0x5c);
      escaped.push(b);
    }
    escaped.push(0x22);
    this.parts.push(Buffer.from(escaped));
    return this;
  }
  /** astring = 1*ASTRING-CHAR / string */
  astring(value: string): this {
    return isAll(value, isAstringChar) ? this.text(value) : this.string(value);
  }
  /** list-mailbox = 1*list-char / string */
  listMailbox(value: string): this {
    return isAll(value, isListChar) ? this.text(value) : this.string(value);
  }
  /** flag-list = "(" [flag *(SP flag)] ")" */
  flagList(flags: readonly string[]): this {
    return this.text('(').each(flags, (f) => this.text(f)).text(')');
  }
  /** Items separated by SP, each written by `write`. */
  each<T>(items: readonly T[], write: (item: T) => void): this {
    items.forEach((item, i) => {
      if (i > 0) this.text(' ');
      write(item);
    });
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat([...this.parts, Buffer.from('\r\n')]);
  }
}

const isAll = (value: string, test: (b: number) => boolean) => value.length > 0 && [...Buffer.from(value, 'utf8')].every(test) && Buffer.from(value, 'utf8').toString('latin1') === value;

// date-text = date-day "-" date-month "-" date-year
const dateText = (d: ImapDate) => `${d.day}-${MONTHS[d.month - 1]}-${pad(d.year, 4)}`;

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE, the
// wall-clock time of the zone the client wrote.
function dateTime({ instant, zoneMinutes }: ImapDateTime): string {
  const local = new Date(instant.getTime() + zoneMinutes * 60_000);
  const negative = zoneMinutes < 0 || Object.is(zoneMinutes, -0);
  const zone = Math.abs(zoneMinutes);
  return `${pad(local.getUTCDate(), 2)}-${MONTHS[local.getUTCMonth()]}-${pad(local.getUTCFullYear(), 4)} ${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)} ${negative ? '-' : '+'}${pad(Math.floor(zone / 60), 2)}${pad(zone % 60, 2)}`;
}

const FLAG_KEYS: Record<string, readonly [present: string, absent: string]> = {
  '\\Answered': ['ANSWERED', 'UNANSWERED'],
  '\\Deleted': ['DELETED', 'UNDELETED'],
  '\\Draft': ['DRAFT', 'UNDRAFT'],
  '\\Flagged': ['FLAGGED', 'UNFLAGGED'],
  '\\Seen': ['SEEN', 'UNSEEN'],
  '\\Recent': ['RECENT', 'OLD'],
};
const DATE_KEYS = { internal: '', sent: 'SENT', saved: 'SAVED' } as const;

// RFC 3501 §9 search-key; an `and` inside another key is a parenthesised list.
function searchKey(out: CommandBytes, key: SearchKey): void {
  switch (key.kind) {
    case 'all':
      out.text('ALL');
      return;
    case 'flag': {
      const system = Object.hasOwn(FLAG_KEYS, key.flag) ? FLAG_KEYS[key.flag] : undefined;
      if (system) out.text(system[key.present ? 0 : 1]);
      else out.text(`${key.present ? 'KEYWORD' : 'UNKEYWORD'} ${key.flag}`);
      return;
    }
    case 'header':
      out.text('HEADER ').astring(key.field).text(' ').astring(key.value);
      return;
    case 'body':
    case 'text':
      out.text(key.kind === 'body' ? 'BODY ' : 'TEXT ').astring(key.value);
      return;
    case 'date':
      out.text(`${DATE_KEYS[key.of]}${key.op.toUpperCase()} ${dateText(key.date)}`);
      return;
    case 'size':
      out.text(`${key.op.toUpperCase()} ${key.octets}`);
      return;
    case 'sequence':
      out.text(formatSequenceSet(key.set));
      return;
    case 'uid':
      out.text(`UID ${formatSequenceSet(key.set)}`);
      return;
    case 'modseq':
      // The entry name always as a string: an atom of digits would read as the mod-sequence.
      out.text('MODSEQ ');
      if (key.entry) out.string(key.entry.name).text(` ${key.entry.type} `);
      out.text(String(key.modseq));
      return;
    case 'objectid':
      out.text(`${key.of === 'email' ? 'EMAILID' : 'THREADID'} ${key.id}`);
      return;
    case 'within':
      out.text(`${key.op.toUpperCase()} ${key.seconds}`);
      return;
    case 'not':
      out.text('NOT ');
      searchKey(out, key.key);
      return;
    case 'or':
      out.text('OR ');
      searchKey(out, key.left);
      out.text(' ');
      searchKey(out, key.right);
      return;
    case 'and':
      out.text('(').each(key.keys, (k) => searchKey(out, k)).text(')');
      return;
    default:
      unprintable(key);
  }
}

/** 1*(SP search-key): several keys at the top are all of them, without parentheses. */
function searchCriteria(out: CommandBytes, criteria: SearchKey): void {
  out.text(' ');
  if (criteria.kind === 'and' && criteria.keys.length > 1) out.each(criteria.keys, (k) => searchKey(out, k));
  else searchKey(out, criteria);
}

function section(out: CommandBytes, s: Section): void {
  out.text(`[${s.part.join('.')}`);
  if (s.text) {
    if (s.part.length > 0) out.text('.');
    if (s.text.kind === 'HEADER.FIELDS') out.text(s.text.not ? 'HEADER.FIELDS.NOT (' : 'HEADER.FIELDS (').each(s.text.fields, (f) => out.astring(f)).text(')');
    else out.text(s.text.kind);
  }
  out.text(']');
}

function fetchAttribute(out: CommandBytes, attribute: FetchAttribute): void {
  switch (attribute.kind) {
    case 'PREVIEW':
      out.text(attribute.lazy ? 'PREVIEW (LAZY)' : 'PREVIEW');
      return;
    case 'BODY[]':
      out.text(attribute.peek ? 'BODY.PEEK' : 'BODY');
      section(out, attribute.section);
      if (attribute.partial) out.text(`<${attribute.partial.offset}.${attribute.partial.length}>`);
      return;
    case 'BINARY[]':
      out.text(`${attribute.peek ? 'BINARY.PEEK' : 'BINARY'}[${attribute.part.join('.')}]`);
      if (attribute.partial) out.text(`<${attribute.partial.offset}.${attribute.partial.length}>`);
      return;
    case 'BINARY.SIZE':
      out.text(`BINARY.SIZE[${attribute.part.join('.')}]`);
      return;
    case 'ENVELOPE':
    case 'FLAGS':
    case 'INTERNALDATE':
    case 'RFC822':
    case 'RFC822.HEADER':
    case 'RFC822.SIZE':
    case 'RFC822.TEXT':
    case 'BODY':
    case 'BODYSTRUCTURE':
    case 'UID':
    case 'MODSEQ':
    case 'SAVEDATE':
    case 'EMAILID':
    case 'THREADID':
      out.text(attribute.kind);
      return;
    default:
      unprintable(attribute);
  }
}

const uid = (command: { readonly uid: boolean }) => (command.uid ? 'UID ' : '');

/** The command as a client would send it, CRLF included. */
export function printCommand(command: ImapCommand): Buffer {
  const out = new CommandBytes().text(`${command.tag} `);
  switch (command.name) {
    case 'CAPABILITY':
    case 'NOOP':
    case 'LOGOUT':
    case 'STARTTLS':
    case 'CHECK':
    case 'CLOSE':
    case 'UNSELECT':
    case 'IDLE':
    case 'NAMESPACE':
    case 'UNAUTHENTICATE':
      out.text(command.name);
      break;
    case 'AUTHENTICATE':
      out.text(`AUTHENTICATE ${command.mechanism}${command.initialResponse === null ? '' : ` ${command.initialResponse}`}`);
      break;
    case 'LOGIN':
      out.text('LOGIN ').astring(command.username).text(' ').astring(command.password);
      break;
    case 'SELECT':
    case 'EXAMINE': {
      out.text(`${command.name} `).astring(command.mailbox);
      const { condstore, qresync } = command;
      // RFC 7162 §3.2.5: the seq-match-data is not kept (ast.ts), so it is not printed.
      const qresyncText = qresync && `QRESYNC (${qresync.uidValidity} ${qresync.modSeq}${qresync.knownUids ? ` ${formatSequenceSet(qresync.knownUids)}` : ''})`;
      const params = [condstore && 'CONDSTORE', qresyncText].filter(Boolean);
      if (params.length > 0) out.text(` (${params.join(' ')})`);
      break;
    }
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'GETQUOTAROOT':
      out.text(`${command.name} `).astring(command.mailbox);
      break;
    case 'CREATE':
      out.text('CREATE ').astring(command.mailbox);
      if (command.use.length > 0) out.text(' (USE ').flagList(command.use).text(')');
      break;
    case 'RENAME':
      out.text('RENAME ').astring(command.mailbox).text(' ').astring(command.newName);
      break;
    case 'LIST': {
      out.text('LIST ');
      if (command.selectOptions.length > 0) out.text(`(${command.selectOptions.join(' ')}) `);
      out.astring(command.reference).text(' ');
      if (command.patterns.length === 1) out.listMailbox(command.patterns[0]!);
      else out.text('(').each(command.patterns, (p) => out.listMailbox(p)).text(')');
      const { subscribed, children, specialUse, status } = command.returnOptions;
      const options = [subscribed && 'SUBSCRIBED', children && 'CHILDREN', specialUse && 'SPECIAL-USE', status && `STATUS (${status.join(' ')})`].filter(Boolean);
      if (options.length > 0) out.text(` RETURN (${options.join(' ')})`);
      break;
    }
    case 'LSUB':
      out.text('LSUB ').astring(command.reference).text(' ').listMailbox(command.pattern);
      break;
    case 'STATUS':
      out.text('STATUS ').astring(command.mailbox).text(` (${command.items.join(' ')})`);
      break;
    case 'APPEND':
      // RFC 3502 §6.3.11: one or more messages, each with its own flags and date.
      out.text('APPEND ').astring(command.mailbox);
      for (const message of command.messages) {
        out.text(' ');
        if (message.flags.length > 0) out.flagList(message.flags).text(' ');
        if (message.date) out.text(`"${dateTime(message.date)}" `);
        // RFC 6855 §4: UTF8 (literal8)
        if (message.utf8) out.text('UTF8 (').literal8(message.message).text(')');
        else out.literal(message.message);
      }
      break;
    case 'ENABLE':
      out.text(`ENABLE ${command.capabilities.join(' ')}`);
      break;
    case 'COMPRESS':
      out.text(`COMPRESS ${command.mechanism}`);
      break;
    case 'ID':
      out.text('ID ');
      if (command.parameters === null) out.text('NIL');
      else out.text('(').each(command.parameters, ([field, value]) => (value === null ? out.string(field).text(' NIL') : out.string(field).text(' ').string(value))).text(')');
      break;
    case 'EXPUNGE':
      out.text(command.uidSet ? `UID EXPUNGE ${formatSequenceSet(command.uidSet)}` : 'EXPUNGE');
      break;
    case 'SEARCH': {
      out.text(`${uid(command)}SEARCH`);
      const r = command.returnOptions;
      if (r) out.text(` RETURN (${[r.min && 'MIN', r.max && 'MAX', r.all && 'ALL', r.count && 'COUNT', r.save && 'SAVE'].filter(Boolean).join(' ')})`);
      if (command.charset !== null) out.text(' CHARSET ').astring(command.charset);
      searchCriteria(out, command.criteria);
      break;
    }
    case 'SORT':
      out.text(`${uid(command)}SORT (${command.sortCriteria.map((c) => `${c.reverse ? 'REVERSE ' : ''}${c.key}`).join(' ')}) `).astring(command.charset);
      searchCriteria(out, command.criteria);
      break;
    case 'THREAD':
      out.text(`${uid(command)}THREAD ${command.algorithm} `).astring(command.charset);
      searchCriteria(out, command.criteria);
      break;
    case 'FETCH': {
      out.text(`${uid(command)}FETCH ${formatSequenceSet(command.sequence)} (`).each(command.attributes, (a) => fetchAttribute(out, a)).text(')');
      const modifiers = [command.changedSince !== null && `CHANGEDSINCE ${command.changedSince}`, command.vanished && 'VANISHED'].filter(Boolean);
      if (modifiers.length > 0) out.text(` (${modifiers.join(' ')})`);
      break;
    }
    case 'STORE':
      out.text(`${uid(command)}STORE ${formatSequenceSet(command.sequence)} `);
      if (command.unchangedSince !== null) out.text(`(UNCHANGEDSINCE ${command.unchangedSince}) `);
      out.text(`${{ replace: '', add: '+', remove: '-' }[command.action]}FLAGS${command.silent ? '.SILENT' : ''} `).flagList(command.flags);
      break;
    case 'GETQUOTA':
      out.text('GETQUOTA ').astring(command.root);
      break;
    case 'SETQUOTA':
      // The limits are not kept in the AST (ast.ts): an empty setquota-list is the same command.
      out.text('SETQUOTA ').astring(command.root).text(' ()');
      break;
    case 'COPY':
    case 'MOVE':
      out.text(`${uid(command)}${command.name} ${formatSequenceSet(command.sequence)} `).astring(command.mailbox);
      break;
    default:
      unprintable(command);
  }
  return out.bytes();
}

function unprintable(value: never): never {
  throw new Error(`no printer for ${JSON.stringify(value)}`);
}
