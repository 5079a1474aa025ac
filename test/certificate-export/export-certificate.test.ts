// The certificate export function against ACM and Secrets Manager as their API references describe
// them: ExportCertificate returns the certificate, its chain and the private key as an encrypted
// PKCS #8 PEM under the caller's passphrase (the stub below encrypts with whatever passphrase it is
// given, so a key decrypted with any other fails); Secrets Manager is a real SDK client answered by a
// middleware (test/helpers/secrets-stub.ts), so every read and write is recorded.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSelfSignedCertificate, type TlsCredentials } from '../../core/tls.ts';
import { CertificateExportError, exportCertificateToSecret, type ExportCertificate, type ExportCertificateInput } from '../../functions/certificate-export/export-certificate.ts';
import { SecretsStub } from '../helpers/secrets-stub.ts';

const ARN = 'arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012';
const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mail-tls-AbCdEf';
const HOST = 'mail.example.com';
const DAY = 86_400_000;

const issue = (name: string, fromDays: number, toDays: number): TlsCredentials =>
  createSelfSignedCertificate(name, [name], new Date(Date.now() + fromDays * DAY), new Date(Date.now() + toDays * DAY));
const intermediate = issue('Example Intermediate CA', -30, 300).cert;

/** ACM's ExportCertificate for one issued certificate: what it returns, and the passphrases it was given. */
function acm(issued: () => { cert: string; key: string }) {
  const calls: ExportCertificateInput[] = [];
  const exportCertificate: ExportCertificate = async (input) => {
    calls.push(input);
    assert.equal(input.CertificateArn, ARN);
    const passphrase = Buffer.from(input.Passphrase).toString('latin1');
    const { cert, key } = issued();
    return {
      Certificate: cert,
      CertificateChain: intermediate,
      PrivateKey: createPrivateKey(key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString(),
    };
  };
  return { exportCertificate, calls };
}

describe('exportCertificateToSecret', () => {
  it('writes the decrypted key and the chain, leaf first, as a new secret version; the same pair again writes nothing', async () => {
    const secrets = new SecretsStub();
    // A new secret holds CloudFormation's random string until the first export.
    secrets.create(SECRET, 'x0Yrandomgeneratedvalue');
    let current = issue(HOST, -1, 198);
    const { exportCertificate, calls } = acm(() => current);
    const deps = { exportCertificate, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST };

    const first = await exportCertificateToSecret(deps);
    assert.equal(first.outcome, 'written');
    const stored = JSON.parse(secrets.current(SECRET)!.value) as { key: string; chain: string };
    assert.match(stored.key, /^-----BEGIN PRIVATE KEY-----/, 'the key is stored decrypted (PKCS #8)');
    assert.ok(new X509Certificate(stored.chain).checkPrivateKey(createPrivateKey(stored.key)), 'the key belongs to the leaf');
    assert.equal(new X509Certificate(stored.chain).fingerprint256, new X509Certificate(current.cert).fingerprint256, 'the leaf comes first');
    assert.ok(stored.chain.includes(intermediate.trim()), 'the intermediates follow');
    assert.equal(first.versionId, secrets.current(SECRET)!.versionId);

    const again = await exportCertificateToSecret(deps);
    assert.equal(again.outcome, 'unchanged');
    assert.deepEqual(secrets.requests.map((r) => r.command), ['GetSecretValue', 'PutSecretValue', 'GetSecretValue'], 'no second write');
    assert.ok(secrets.requests.every((r) => r.input.SecretId === SECRET), 'only the TLS secret');

    // ACM renewed: a new key and certificate make one new version.
    const before = secrets.current(SECRET)!.versionId;
    current = issue(HOST, 0, 198);
    assert.equal((await exportCertificateToSecret(deps)).outcome, 'written');
    assert.notEqual(secrets.current(SECRET)!.versionId, before);
    assert.equal(new X509Certificate(JSON.parse(secrets.current(SECRET)!.value).chain).fingerprint256, new X509Certificate(current.cert).fingerprint256);

    // Each export has its own passphrase, ASCII without # $ % (ACM API reference, ExportCertificate).
    const passphrases = calls.map((c) => Buffer.from(c.Passphrase).toString('latin1'));
    assert.equal(new Set(passphrases).size, passphrases.length);
    for (const p of passphrases) assert.match(p, /^[\x21-\x7e]{32,}$/), assert.doesNotMatch(p, /[#$%]/);
  });

  it('two exports of the same pair racing write one version (the token names the pair)', async () => {
    const secrets = new SecretsStub();
    secrets.create(SECRET, 'random');
    const cert = issue(HOST, -1, 198);
    const deps = { exportCertificate: acm(() => cert).exportCertificate, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST };
    const [a, b] = await Promise.all([exportCertificateToSecret(deps), exportCertificateToSecret(deps)]);
    assert.equal(a.versionId, b.versionId);
  });

  const refused: [string, () => { cert: string; key: string }, RegExp][] = [
    ['a key that is not the certificate\'s', () => ({ cert: issue(HOST, -1, 198).cert, key: issue(HOST, -1, 198).key }), /does not belong/],
    ['an expired certificate', () => issue(HOST, -200, -1), /not valid now/],
    ['a certificate for another host', () => issue('other.example.net', -1, 198), /does not name mail\.example\.com/],
  ];
  for (const [what, issued, error] of refused) {
    it(`refuses ${what} and leaves the secret as it is`, async () => {
      const secrets = new SecretsStub();
      secrets.create(SECRET, 'random');
      const deps = { exportCertificate: acm(issued).exportCertificate, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST };
      await assert.rejects(exportCertificateToSecret(deps), (err: Error) => err instanceof CertificateExportError && error.test(err.message));
      assert.equal(secrets.requests.filter((r) => r.command === 'PutSecretValue').length, 0);
      assert.equal(secrets.current(SECRET)!.value, 'random');
    });
  }

  it('refuses a key it cannot decrypt with its passphrase', async () => {
    const secrets = new SecretsStub();
    secrets.create(SECRET, 'random');
    const cert = issue(HOST, -1, 198);
    const wrong: ExportCertificate = async () => ({ Certificate: cert.cert, PrivateKey: createPrivateKey(cert.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'not-the-one-given' }).toString() });
    await assert.rejects(exportCertificateToSecret({ exportCertificate: wrong, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST }), CertificateExportError);
    assert.equal(secrets.requests.length, 0);
  });
});
