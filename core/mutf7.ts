// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): on the IMAP wire, and in the folder names
// of Maildir++ trees as Dovecot and Courier write them. Encodes for responses and files, decodes
// strictly so a malformed or ambiguous name is refused instead of aliasing another.

/** A mailbox name that is not valid modified UTF-7; the session answers BAD or NO with `message`. */
export class Mutf7Error extends Error {}

// RFC 3501 §5.1.3: modified BASE64 of RFC 2152, with "," instead of "/".
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const alphabetIndex = new Map([...alphabet].map((c, i) => [c, i] as const));

const isPrintableAscii = (code: number) => code >= 0x20 && code <= 0x7e;

function encodeRun(units: number[]): string {
  const bytes: number[] = [];
  for (const u of units) bytes.push(u >> 8, u & 0xff);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += alphabet[b0 >> 2];
    out += alphabet[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)];
    if (b1 !== undefined) out += alphabet[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)];
    if (b2 !== undefined) out += alphabet[b2 & 63];
  }
  return out;
}

/** Encodes a Unicode mailbox name for the wire: printable ASCII as itself, "&" as "&-", the rest base64 UTF-16. */
export function encodeMailboxName(name: string): string {
  // Most names are printable ASCII without "&": they are their own encoding (LIST encodes thousands).
  if (/^[\x20-\x25\x27-\x7e]*$/.test(name)) return name;
  let out = '';
  let run: number[] = [];
  const flush = () => {
    if (run.length > 0) out += `&${encodeRun(run)}-`;
    run = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isPrintableAscii(code)) {
      flush();
      out += code === 0x26 ? '&-' : name[i];
    } else {
      run.push(code);
    }
  }
  flush();
  return out;
}

/**
 * Decodes a wire mailbox name. Refuses (RFC 3501 §5.1.3 "MUST"s): 8-bit or control octets,
 * an unterminated "&", characters outside modified BASE64, non-zero or excess padding bits,
 * printable ASCII inside a shift, two adjacent shifts (non-minimal), and broken UTF-16.
 */
export function decodeMailboxName(wire: string): string {
  let out = '';
  let i = 0;
  let lastShiftEnd = -1;
  while (i < wire.length) {
    const code = wire.charCodeAt(i);
    if (!isPrintableAscii(code)) throw new Mutf7Error('Mailbox name has a character that must be encoded');
    if (code !== 0x26) {
      out += wire[i];
      i++;
      continue;
    }
    const close = wire.indexOf('-', i + 1);
    if (close === -1) throw new Mutf7Error('Mailbox name has an unterminated "&"');
    if (close === i + 1) {
      out += '&';
      i = close + 1;
      continue;
    }
    if (lastShiftEnd === i) throw new Mutf7Error('Mailbox name has two adjacent encoded runs');
    out += decodeRun(wire.slice(i + 1, close));
    i = close + 1;
    lastShiftEnd = i;
  }
  return out;
}

function decodeRun(run: string): string {
  let bits = 0;
  let bitCount = 0;
  const units: number[] = [];
  let pendingByte = -1;
  for (const ch of run) {
    const v = alphabetIndex.get(ch);
    if (v === undefined) throw new Mutf7Error(`Mailbox name has an invalid character "${ch}" in an encoded run`);
    bits = (bits << 6) | v;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      const byte = (bits >> bitCount) & 0xff;
      bits &= (1 << bitCount) - 1;
      if (pendingByte === -1) pendingByte = byte;
      else {
        units.push((pendingByte << 8) | byte);
        pendingByte = -1;
      }
    }
  }
  // A minimal encoding leaves fewer than 6 zero bits and no half UTF-16 unit.
  if (pendingByte !== -1 || bitCount >= 6 || bits !== 0) throw new Mutf7Error('Mailbox name has a badly padded encoded run');
  let text = '';
  for (let k = 0; k < units.length; k++) {
    const u = units[k]!;
    if (u >= 0xd800 && u <= 0xdbff) {
      const low = units[k + 1];
      if (low === undefined || low < 0xdc00 || low > 0xdfff) throw new Mutf7Error('Mailbox name has a broken UTF-16 surrogate');
      text += String.fromCharCode(u, low);
      k++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      throw new Mutf7Error('Mailbox name has a broken UTF-16 surrogate');
    } else if (isPrintableAscii(u)) {
      throw new Mutf7Error('Mailbox name encodes a printable ASCII character');
    } else {
      text += String.fromCharCode(u);
    }
  }
  return text;
}
