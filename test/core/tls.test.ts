// core/tls.ts builds certificates with its own DER writer: every one must parse and serve TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSelfSignedCertificate } from '../../core/tls.ts';

test('500 fresh self-signed certificates all parse, with a positive minimal serial and the names asked for', () => {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  for (let i = 0; i < 500; i++) {
    const { cert, key } = createSelfSignedCertificate('mx.test', ['mx.test', '127.0.0.1'], notBefore, notAfter);
    const x509 = new X509Certificate(cert); // throws on an illegal DER INTEGER (a 0x00 padding byte)
    assert.match(x509.serialNumber, /^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/, `16 bytes, first 0x01..0x7f: ${x509.serialNumber}`);
    assert.ok(x509.checkPrivateKey(createPrivateKey(key)));
    assert.match(x509.subjectAltName ?? '', /DNS:mx\.test/);
  }
});
