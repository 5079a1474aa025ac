// Serialises IMAP responses (RFC 3501 §7 and §9 response grammar): strings as quoted or literal,
// NIL, lists, tagged/untagged/continuation lines, and ENVELOPE / BODY / BODYSTRUCTURE (§7.4.2).
import type { BodyPart, Envelope, EnvelopeAddress, SinglePart } from '../../../core/mime/types.ts';

/** Written verbatim: keywords, flags, response codes. The caller guarantees atom syntax. */
export class Atom {
  constructor(readonly text: string) {}
}

/** Bytes already in wire form, written verbatim (e.g. a list whose items have no separator). */
export class Raw {
  constructor(readonly bytes: Buffer) {}
}

/** A string always sent as a literal (message bodies). */
export class Literal {
  constructor(readonly bytes: Buffer) {}
}

/** RFC 6855 §3 UTF8-quoted: with UTF8=ACCEPT enabled a quoted string may hold UTF-8 (mailbox names). */
export class Utf8String {
  constructor(readonly text: string) {}
}

/** A response value: null is NIL, numbers are numbers, strings/Buffers are quoted or literal, arrays are parenthesised lists. */
export type ImapValue = null | number | bigint | string | Buffer | Atom | Raw | Literal | Utf8String | readonly ImapValue[];

export const atom = (text: string) => new Atom(text);

/** Longer strings go as literals: clients handle them better than huge quoted strings. */
const maxQuotedOctets = 1024;

/** RFC 3501 §4.3: a quoted string may hold only 7-bit TEXT-CHARs; `"` and `\` are sent as literals too, never escaped. */
function isQuotable(bytes: Buffer): boolean {
  if (bytes.length > maxQuotedOctets) return false;
  for (const b of bytes) {
    if (b === 0 || b === 0x0a || b === 0x0d || b === 0x22 || b === 0x5c || b >= 0x80) return false;
  }
  return true;
}

/**
 * Literal data without NUL. RFC 3501 §9 (and RFC 9051 §9): a literal is `*CHAR8`, and CHAR8 is
 * any octet except NUL; only BINARY's literal8 (RFC 3516) may carry NUL, and we do not offer it.
 * APPEND refuses NUL at input, but mail from the MX may contain it (RFC 5321 does not stop a
 * sender). Such data is served with each NUL replaced by 0x80, as Dovecot does: the replacement
 * keeps the octet count, which is announced (from the part map, RFC822.SIZE) before a byte is read.
 */
export function withoutNul(bytes: Buffer): Buffer {
  let at = bytes.indexOf(0);
  if (at === -1) return bytes;
  const copy = Buffer.from(bytes);
  for (; at !== -1; at = copy.indexOf(0, at + 1)) copy[at] = 0x80;
  return copy;
}

function literalBytes(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${bytes.length}}\r\n`), withoutNul(bytes)]);
}

/** string = quoted / literal, chosen by content. */
export function encodeString(value: string | Buffer): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  return isQuotable(bytes) ? Buffer.from(`"${bytes.toString('latin1')}"`, 'latin1') : literalBytes(bytes);
}

function collect(value: ImapValue, out: Buffer[]): void {
  if (value === null) out.push(Buffer.from('NIL'));
  else if (typeof value === 'number' || typeof value === 'bigint') out.push(Buffer.from(String(value)));
  else if (typeof value === 'string' || Buffer.isBuffer(value)) out.push(encodeString(value));
  else if (value instanceof Atom) out.push(Buffer.from(value.text, 'latin1'));
  else if (value instanceof Raw) out.push(value.bytes);
  else if (value instanceof Literal) out.push(literalBytes(value.bytes));
  else if (value instanceof Utf8String) {
    const bytes = Buffer.from(value.text, 'utf8');
    // 8-bit is fine in UTF8-quoted; what a quoted string can never hold still goes as a literal.
    out.push(isQuotable(Buffer.from(value.text.replace(/[^\x00-\x7f]/g, 'x'), 'latin1')) ? Buffer.concat([Buffer.from('"'), bytes, Buffer.from('"')]) : literalBytes(bytes));
  } else {
    out.push(Buffer.from('('));
    value.forEach((item, i) => {
      if (i > 0) out.push(Buffer.from(' '));
      collect(item, out);
    });
    out.push(Buffer.from(')'));
  }
}

export function serialize(value: ImapValue): Buffer {
  const out: Buffer[] = [];
  collect(value, out);
  return Buffer.concat(out);
}

/** Human text of a response line: CR and LF would end the line early (response injection). */
const safeText = (text: string) => text.replace(/[\r\n\0]+/g, ' ');

/** "* " values CRLF, e.g. untagged(5, atom('EXISTS')) → "* 5 EXISTS\r\n". */
export function untagged(...values: ImapValue[]): Buffer {
  const out: Buffer[] = [Buffer.from('* ')];
  values.forEach((v, i) => {
    if (i > 0) out.push(Buffer.from(' '));
    collect(v, out);
  });
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** tag SP ("OK" / "NO" / "BAD") SP ["[" resp-text-code "]" SP] text CRLF; tag null gives the untagged form. */
export function statusLine(tag: string | null, status: 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH', text: string, code: string | null = null): Buffer {
  return Buffer.from(`${tag ?? '*'} ${status} ${code ? `[${safeText(code)}] ` : ''}${safeText(text)}\r\n`, 'utf8');
}

/** continue-req = "+" SP (resp-text / base64) CRLF */
export function continuation(text = 'Ready for literal data'): Buffer {
  return Buffer.from(`+ ${safeText(text)}\r\n`, 'utf8');
}

// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
function addressValue(a: EnvelopeAddress): ImapValue {
  return [a.name, a.adl, a.mailbox, a.host];
}

// env-from etc. = "(" 1*address ")" / nil: addresses follow each other without a space.
function addressListValue(list: readonly EnvelopeAddress[] | null): ImapValue {
  if (!list || list.length === 0) return null;
  return new Raw(Buffer.concat([Buffer.from('('), ...list.map((a) => serialize(addressValue(a))), Buffer.from(')')]));
}

/**
 * envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")".
 * RFC 3501 §7.4.2: a missing or empty Sender or Reply-To is given the value of From.
 */
export function envelopeValue(envelope: Envelope): ImapValue {
  const from = envelope.from && envelope.from.length > 0 ? envelope.from : null;
  const sender = envelope.sender && envelope.sender.length > 0 ? envelope.sender : from;
  const replyTo = envelope.replyTo && envelope.replyTo.length > 0 ? envelope.replyTo : from;
  return [
    envelope.date,
    envelope.subject,
    addressListValue(from),
    addressListValue(sender),
    addressListValue(replyTo),
    addressListValue(envelope.to),
    addressListValue(envelope.cc),
    addressListValue(envelope.bcc),
    envelope.inReplyTo,
    envelope.messageId,
  ];
}

// RFC 2231 §4 attribute-char: CHAR except SPACE, CTLs, "*", "'", "%" and tspecials (RFC 2045 §5.1).
const isAttributeChar = (b: number) => b > 0x20 && b < 0x7f && !`*'%()<>@,;:\\"/[]?=`.includes(String.fromCharCode(b));

/**
 * One parameter as a name/value pair. The index decodes RFC 2231 values to text; one that is not
 * ASCII goes back out in the RFC 2231 §4 form `name*` = utf-8''%XX…, because body-fld-param is the
 * parameter list "as defined in [MIME-IMB]" (RFC 3501 §7.4.2), whose values are 7-bit, and raw
 * 8-bit octets in a string would leave the client guessing their charset.
 */
function paramPair([name, value]: readonly [string, string]): [string, string] {
  if (/^[\x20-\x7e]*$/.test(value)) return [name, value];
  let encoded = '';
  for (const b of Buffer.from(value, 'utf8')) encoded += isAttributeChar(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return [`${name}*`, `utf-8''${encoded}`];
}

// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
function paramsValue(params: ReadonlyArray<readonly [string, string]>): ImapValue {
  return params.length === 0 ? null : params.flatMap(paramPair);
}

// body-fld-dsp = "(" string SP body-fld-param ")" / nil
function dispositionValue(part: BodyPart): ImapValue {
  return part.disposition ? [part.disposition.type, paramsValue(part.disposition.params)] : null;
}

// body-fld-lang = nstring / "(" string *(SP string) ")"
function languageValue(part: BodyPart): ImapValue {
  if (!part.language || part.language.length === 0) return null;
  return part.language.length === 1 ? part.language[0]! : part.language;
}

// Case-insensitive: the index lowercases media types, but nothing here should depend on it.
const isEncapsulatedMessage = (part: SinglePart) =>
  part.type.toLowerCase() === 'message' && ['rfc822', 'global'].includes(part.subtype.toLowerCase());

/** The envelope of an encapsulated message that could not be read (e.g. a base64-encoded message/rfc822). */
const EMPTY_ENVELOPE: Envelope = {
  date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
};

// body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
function singlePartValue(part: SinglePart, extensible: boolean): ImapValue[] {
  // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
  const fields: ImapValue[] = [part.type, part.subtype, paramsValue(part.params), part.id, part.description, part.encoding.toUpperCase(), part.size];
  if (isEncapsulatedMessage(part)) {
    // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines.
    // RFC 3501 §7.4.2: a MESSAGE/RFC822 body always carries them, and clients parse them by the
    // type alone; when the index could not read the message (RFC 2046 §5.2.1 forbids encoding it,
    // yet some senders do), show an empty envelope and an empty text part rather than omit them.
    const message = part.message ?? { envelope: EMPTY_ENVELOPE, body: emptyTextPart(part) };
    fields.push(envelopeValue(message.envelope), bodyValue(message.body, extensible), part.lines ?? 0);
  } else if (part.type.toLowerCase() === 'text') {
    // body-type-text = media-text SP body-fields SP body-fld-lines
    fields.push(part.lines ?? 0);
  }
  // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
  if (extensible) fields.push(part.md5, dispositionValue(part), languageValue(part), part.location);
  return fields;
}

function bodyValue(part: BodyPart, extensible: boolean): ImapValue {
  if (part.kind === 'single') return singlePartValue(part, extensible);
  // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]: the bodies have no separator.
  // A multipart without parts cannot be written in this grammar; like other servers, show one empty text part.
  const children = part.parts.length > 0 ? part.parts : [emptyTextPart(part)];
  const bodies = new Raw(Buffer.concat(children.map((child) => serialize(bodyValue(child, extensible)))));
  const items: ImapValue[] = [bodies, part.subtype];
  // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
  if (extensible) items.push(paramsValue(part.params), dispositionValue(part), languageValue(part), part.location);
  return new Raw(Buffer.concat([Buffer.from('('), ...items.map((item) => serialize(item)).flatMap((b, i) => (i > 0 ? [Buffer.from(' '), b] : [b])), Buffer.from(')')]));
}

function emptyTextPart(parent: BodyPart): SinglePart {
  return {
    kind: 'single', offsets: parent.offsets, type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']], disposition: null,
    language: null, location: null, id: null, description: null, encoding: '7BIT', size: 0, lines: 0, md5: null,
  };
}

/** FETCH BODYSTRUCTURE (extension data included). */
export const bodyStructureValue = (body: BodyPart): ImapValue => bodyValue(body, true);

/** FETCH BODY: the non-extensible form. */
export const bodyNonExtensibleValue = (body: BodyPart): ImapValue => bodyValue(body, false);
