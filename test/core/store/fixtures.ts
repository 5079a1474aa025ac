// Shared fixtures for the store tests: a minimal MessageIndex (the real indexer lives in core/mime/).
import type { MessageIndex } from '../../../core/mime/types.ts';
import type { FileRequest } from '../../../core/store/types.ts';

export function fakeIndex(subject: string, size = 100): MessageIndex {
  return {
    indexVersion: 1,
    envelope: {
      date: 'Mon, 2 Nov 2026 10:00:00 +0000',
      subject,
      from: [{ name: null, adl: null, mailbox: 'alice', host: 'remote.test' }],
      sender: null,
      replyTo: null,
      to: [{ name: 'Demo', adl: null, mailbox: 'demo', host: 'example.test' }],
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: `<${subject.replace(/\W/g, '')}@remote.test>`,
    },
    body: {
      kind: 'single',
      offsets: { headerStart: 0, bodyStart: 40, end: size },
      type: 'text',
      subtype: 'plain',
      params: [['charset', 'utf-8']],
      disposition: null,
      language: null,
      location: null,
      id: null,
      description: null,
      encoding: '7BIT',
      size: size - 40,
      lines: 2,
      md5: null,
    },
    size,
    fallback: false,
  };
}

export function fileRequest(account: string, deliveryKey: string, overrides: Partial<FileRequest> = {}): FileRequest {
  return {
    account,
    mailbox: 'INBOX',
    deliveryKey,
    blobKey: `raw/2026/11/02/${deliveryKey}.eml`,
    size: 100,
    internalDate: '2026-11-02T10:00:00.000Z',
    flags: [],
    index: fakeIndex(`message ${deliveryKey}`),
    ...overrides,
  };
}
