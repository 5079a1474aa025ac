// FETCH attributes (RFC 3501 §6.4.5 and §9 fetch-att, section, partial; RFC 7162 MODSEQ; RFC 8514 SAVEDATE;
// RFC 8474 EMAILID, THREADID).
import type { FetchAttribute, Section, SectionText } from './ast.ts';
import type { Cursor } from './cursor.ts';

const simpleAttributes = new Set(['ENVELOPE', 'FLAGS', 'INTERNALDATE', 'RFC822', 'RFC822.HEADER', 'RFC822.SIZE', 'RFC822.TEXT', 'BODY', 'BODYSTRUCTURE', 'UID', 'MODSEQ', 'SAVEDATE', 'EMAILID', 'THREADID']);

// RFC 3501 §6.4.5 macros.
const macros: Record<string, FetchAttribute[]> = {
  FAST: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }],
  ALL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }],
  FULL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }],
};

const isNameChar = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2e;

/** ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") */
export function parseFetchAttributes(cursor: Cursor): FetchAttribute[] {
  if (cursor.accept(0x28)) {
    const attributes = [parseFetchAttribute(cursor)];
    while (!cursor.accept(0x29)) {
      cursor.sp();
      attributes.push(parseFetchAttribute(cursor));
    }
    return attributes;
  }
  const start = cursor.takeWhile(isNameChar).toUpperCase();
  const macro = macros[start];
  if (macro && cursor.peek() !== 0x5b) return macro;
  return [finishFetchAttribute(cursor, start)];
}

function parseFetchAttribute(cursor: Cursor): FetchAttribute {
  return finishFetchAttribute(cursor, cursor.takeWhile(isNameChar).toUpperCase());
}

// fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
//   "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial]
function finishFetchAttribute(cursor: Cursor, name: string): FetchAttribute {
  if (cursor.peek() === 0x5b && (name === 'BODY' || name === 'BODY.PEEK')) {
    const section = parseSection(cursor);
    return { kind: 'BODY[]', peek: name === 'BODY.PEEK', section, partial: parsePartial(cursor) };
  }
  if (name === 'PREVIEW') return { kind: 'PREVIEW', lazy: parsePreviewModifiers(cursor) };
  // RFC 3516 §5: "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary
  if (cursor.peek() === 0x5b && (name === 'BINARY' || name === 'BINARY.PEEK')) {
    const part = parseSectionBinary(cursor);
    return { kind: 'BINARY[]', peek: name === 'BINARY.PEEK', part, partial: parsePartial(cursor) };
  }
  if (cursor.peek() === 0x5b && name === 'BINARY.SIZE') return { kind: 'BINARY.SIZE', part: parseSectionBinary(cursor) };
  if (simpleAttributes.has(name)) return { kind: name } as FetchAttribute;
  return cursor.fail(name === '' ? 'Expected a FETCH attribute' : `Unknown FETCH attribute ${name.slice(0, 40)}`);
}

// RFC 8970 §7: fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]; preview-mod = "LAZY"
function parsePreviewModifiers(cursor: Cursor): boolean {
  const before = cursor.mark();
  if (!(cursor.accept(0x20) && cursor.accept(0x28))) {
    cursor.restore(before);
    return false;
  }
  do if (cursor.keyword('a PREVIEW modifier') !== 'LAZY') cursor.fail('Unknown PREVIEW modifier');
  while (cursor.accept(0x20));
  cursor.expect(0x29, '")"');
  return true;
}

// section = "[" [section-spec] "]"
// section-spec = section-msgtext / (section-part ["." section-text])
// section-part = nz-number *("." nz-number); section-text = section-msgtext / "MIME"
// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
function parseSection(cursor: Cursor): Section {
  cursor.expect(0x5b, '"["');
  const spec = cursor.takeWhile(isNameChar);
  const pieces = spec === '' ? [] : spec.split('.');
  const part: number[] = [];
  while (pieces.length > 0 && /^[0-9]+$/.test(pieces[0]!)) {
    const n = pieces.shift()!;
    if (n.startsWith('0') || n.length > 9) cursor.fail('Invalid section part number');
    part.push(Number(n));
  }
  const textName = pieces.join('.').toUpperCase();
  let text: SectionText | null = null;
  if (textName === 'HEADER' || textName === 'TEXT') text = { kind: textName };
  else if (textName === 'MIME' && part.length > 0) text = { kind: 'MIME' };
  else if (textName === 'HEADER.FIELDS' || textName === 'HEADER.FIELDS.NOT') {
    cursor.sp();
    text = { kind: 'HEADER.FIELDS', fields: parseHeaderList(cursor), not: textName.endsWith('.NOT') };
  } else if (textName !== '' || (spec !== '' && spec.endsWith('.'))) cursor.fail('Invalid section');
  cursor.expect(0x5d, '"]"');
  return { part, text };
}

// RFC 3516 §5: section-binary = "[" [section-part] "]"
function parseSectionBinary(cursor: Cursor): number[] {
  cursor.expect(0x5b, '"["');
  const spec = cursor.takeWhile((b) => (b >= 0x30 && b <= 0x39) || b === 0x2e);
  const part: number[] = [];
  if (spec !== '') {
    for (const n of spec.split('.')) {
      if (!/^[1-9][0-9]{0,8}$/.test(n)) cursor.fail('Invalid section part number');
      part.push(Number(n));
    }
  }
  cursor.expect(0x5d, '"]"');
  return part;
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")"; header-fld-name = astring
function parseHeaderList(cursor: Cursor): string[] {
  cursor.expect(0x28, '"("');
  const fields = [cursor.astring('a header field name')];
  while (!cursor.accept(0x29)) {
    cursor.sp();
    fields.push(cursor.astring('a header field name'));
  }
  if (fields.some((f) => !/^[\x21-\x39\x3b-\x7e]+$/.test(f))) cursor.fail('Invalid header field name');
  return fields;
}

// partial = "<" number "." nz-number ">"
function parsePartial(cursor: Cursor): { offset: number; length: number } | null {
  if (!cursor.accept(0x3c)) return null;
  const offset = cursor.number('a partial offset');
  cursor.expect(0x2e, '"."');
  const length = cursor.nzNumber('a partial length');
  cursor.expect(0x3e, '">"');
  return { offset, length };
}
