// The certificate export function against ACM and Secrets Manager as their API references describe
// them, both real SDK clients answered by a middleware: ExportCertificate returns the certificate,
// its chain and the private key as an encrypted PKCS #8 PEM under the passphrase that came over the
// wire (test/helpers/acm-stub.ts, so a key decrypted with any other fails), and Secrets Manager
// records every read and write (test/helpers/secrets-stub.ts).
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSelfSignedCertificate, type TlsCredentials } from '../../../core/tls.ts';
import { CertificateExportError, exportCertificateToSecret } from '../../../functions/certificate-export/export-certificate.ts';
import { ACM_ERRORS, AcmStub, type AcmAnswer } from '../../helpers/acm-stub.ts';
import { SecretsStub } from '../../helpers/secrets-stub.ts';

const ARN = 'arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012';
const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mail-tls-AbCdEf';
const HOST = 'mail.example.com';
const DAY = 86_400_000;

const issue = (name: string, fromDays: number, toDays: number): TlsCredentials =>
  createSelfSignedCertificate(name, [name], new Date(Date.now() + fromDays * DAY), new Date(Date.now() + toDays * DAY));
const intermediate = issue('Example Intermediate CA', -30, 300).cert;

/** ACM holding one issued certificate (and the intermediate it returns as the chain). */
const acm = (issued: () => { cert: string; key: string }) => new AcmStub(() => {
  const { cert, key } = issued();
  return { certificate: cert, chain: intermediate, key };
});

describe('exportCertificateToSecret', () => {
  it('writes the decrypted key and the chain, leaf first, as a new secret version; the same pair again writes nothing', async () => {
    const secrets = new SecretsStub();
    // A new secret holds CloudFormation's random string until the first export.
    secrets.create(SECRET, 'x0Yrandomgeneratedvalue');
    let current = issue(HOST, -1, 198);
    const exported = acm(() => current);
    const deps = { acm: exported.client, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST };

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

    // Each export is a signed ExportCertificate of this certificate, with its own passphrase, ASCII
    // without # $ % (ACM API reference, ExportCertificate).
    assert.ok(exported.requests.every((r) => r.target === 'CertificateManager.ExportCertificate' && r.certificateArn === ARN && r.signed));
    const passphrases = exported.requests.map((r) => r.passphrase);
    assert.equal(new Set(passphrases).size, passphrases.length);
    for (const p of passphrases) assert.match(p, /^[\x21-\x7e]{32,}$/), assert.doesNotMatch(p, /[#$%]/);
  });

  it('two exports of the same pair racing write one version (the token names the pair)', async () => {
    const secrets = new SecretsStub();
    secrets.create(SECRET, 'random');
    const cert = issue(HOST, -1, 198);
    const deps = { acm: acm(() => cert).client, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST };
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
      const deps = { acm: acm(issued).client, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST };
      await assert.rejects(exportCertificateToSecret(deps), (err: Error) => err instanceof CertificateExportError && error.test(err.message));
      assert.equal(secrets.requests.filter((r) => r.command === 'PutSecretValue').length, 0);
      assert.equal(secrets.current(SECRET)!.value, 'random');
    });
  }

  it('refuses a key it cannot decrypt with its passphrase', async () => {
    const secrets = new SecretsStub();
    secrets.create(SECRET, 'random');
    const cert = issue(HOST, -1, 198);
    const wrong = new AcmStub(() => ({ certificate: cert.cert, key: cert.key, encryptWith: 'not-the-one-given' }));
    await assert.rejects(exportCertificateToSecret({ acm: wrong.client, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST }), (err: Error) => err instanceof CertificateExportError && /cannot be read/.test(err.message));
    assert.equal(secrets.requests.length, 0);
  });

  it('refuses an answer without a private key', async () => {
    const secrets = new SecretsStub();
    secrets.create(SECRET, 'random');
    const cert = issue(HOST, -1, 198);
    const stub = new AcmStub(() => ({ certificate: cert.cert, key: cert.key }));
    // The answer as the SDK deserialised it, less the key.
    stub.client.middlewareStack.add(((next: (a: unknown) => Promise<{ output: Record<string, unknown> }>) => async (args: unknown) => {
      const { output } = await next(args);
      return { output: { ...output, PrivateKey: undefined }, response: {} };
    }) as never, { step: 'initialize', name: 'dropKey' });
    await assert.rejects(exportCertificateToSecret({ acm: stub.client, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST }), /no certificate or no private key/);
    assert.equal(secrets.requests.length, 0);
  });

  const acmRefusals: [string, () => Extract<AcmAnswer, { error: string }>, RegExp][] = [
    ['a certificate not issued yet', ACM_ERRORS.requestInProgress, /RequestInProgressException: Certificate .* is pending validation/],
    ['a certificate that is gone', ACM_ERRORS.resourceNotFound, /ResourceNotFoundException/],
    ['a certificate not marked exportable', ACM_ERRORS.notExportable, /ValidationException: Certificate is not exportable/],
    ['a throttled request', ACM_ERRORS.throttled, /ThrottlingException/],
  ];
  for (const [what, answer, error] of acmRefusals) {
    it(`fails with ACM's reason for ${what}, and leaves the secret as it is`, async () => {
      const secrets = new SecretsStub();
      secrets.create(SECRET, 'random');
      const stub = new AcmStub(answer);
      await assert.rejects(exportCertificateToSecret({ acm: stub.client, secrets: secrets.client, certificateArn: ARN, secretId: SECRET, hostname: HOST }), (err: Error) => {
        assert.ok(err instanceof CertificateExportError, `a CertificateExportError, not ${err.name}`);
        assert.match(err.message, new RegExp(`ACM refused to export ${ARN.replace(/[/.]/g, '\\$&')}`));
        assert.match(err.message, error);
        assert.equal((err.cause as Error).name, answer().error, 'the SDK\'s exception, deserialised from the answer, is the cause');
        return true;
      });
      assert.equal(stub.requests.length, 1);
      assert.equal(secrets.requests.length, 0);
      assert.equal(secrets.current(SECRET)!.value, 'random');
    });
  }
});
