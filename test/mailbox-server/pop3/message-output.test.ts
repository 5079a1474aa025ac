// RETR/TOP output (mailbox-server/pop3/message-output.ts): dot-stuffed, terminated, and TOP cut
// after exactly n body lines whatever the chunking of the blob stream (RFC 1939 §7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { streamMessage } from '../../../mailbox-server/pop3/message-output.ts';

async function output(raw: Buffer, chunk: number, options: { headerOctets?: number; bodyLines?: number } = {}): Promise<string> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < raw.length; i += chunk) pieces.push(raw.subarray(i, i + chunk));
  const source = Readable.from(pieces);
  const out: Buffer[] = [];
  await streamMessage(source, async (b) => void out.push(b), options);
  assert.ok(source.destroyed, 'the blob stream is released');
  return Buffer.concat(out).toString('latin1');
}

/** What RFC 1939 §7 says TOP sends, computed the slow obvious way. */
function expectedTop(text: string, headerOctets: number, lines: number): string {
  const body = text.slice(headerOctets).split(/(?<=\n)/);
  const cut = text.slice(0, headerOctets) + body.slice(0, lines).join('');
  const stuffed = cut.replace(/(^|\n)\./g, '$1..');
  return stuffed + (stuffed === '' || stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n';
}

test('TOP cuts after n body lines for every chunk size, dot-stuffed and terminated', async () => {
  const text = 'Subject: t\r\n.X: y\r\n\r\n.one\r\ntwo\r\n\r\n..four\r\nfive';
  const headerOctets = text.indexOf('\r\n\r\n') + 4;
  const raw = Buffer.from(text, 'latin1');
  for (const chunk of [1, 2, 3, 5, 8, 13, raw.length]) {
    for (const lines of [0, 1, 2, 3, 4, 5, 6, 100]) {
      assert.equal(await output(raw, chunk, { headerOctets, bodyLines: lines }), expectedTop(text, headerOctets, lines), `chunk ${chunk}, ${lines} lines`);
    }
    assert.equal(await output(raw, chunk), expectedTop(text, headerOctets, Infinity), `RETR, chunk ${chunk}`);
  }
});

test('an empty message is just the terminator; a source error propagates', async () => {
  assert.equal(await output(Buffer.alloc(0), 1), '.\r\n');
  const failing = new Readable({
    read() {
      this.destroy(new Error('S3 reset'));
    },
  });
  await assert.rejects(streamMessage(failing, async () => undefined), /S3 reset/);
});

