// The ACM certificate of the mail host name, brought into the TLS secret the services read: export
// it (ACM ExportCertificate, with a passphrase made for this call), decrypt the private key, check
// that it belongs to the certificate, that the certificate names the host and is valid now, and
// write `{"key","chain"}` as a new version of the secret only when the pair differs from the
// current one. See docs/decisions/0012-acm-exportable-certificate.md.
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { ACMServiceException, ExportCertificateCommand, type ACMClient } from '@aws-sdk/client-acm';
import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface CertificateExportDeps {
  readonly acm: Pick<ACMClient, 'send'>;
  readonly secrets: Pick<SecretsManagerClient, 'send'>;
  readonly certificateArn: string;
  readonly secretId: string;
  /** The mail host name: the certificate must be valid for it (RFC 6125 §6.4, as X509Certificate#checkHost). */
  readonly hostname: string;
  readonly now?: () => Date;
}

export interface CertificateExportResult {
  readonly outcome: 'written' | 'unchanged';
  readonly serialNumber: string;
  readonly notAfter: string;
  /** The secret version holding this pair. */
  readonly versionId: string | undefined;
}

export class CertificateExportError extends Error {}

/**
 * A passphrase for one export: 32 random bytes as base64url, ASCII without the `#`, `$` and `%`
 * ExportCertificate does not accept (ACM API reference, ExportCertificate, Passphrase).
 */
const newPassphrase = () => randomBytes(32).toString('base64url');

const pemBlock = (pem: string) => `${pem.trim()}\n`;

export async function exportCertificateToSecret(deps: CertificateExportDeps): Promise<CertificateExportResult> {
  const now = deps.now?.() ?? new Date();
  const passphrase = newPassphrase();
  const out = await deps.acm.send(new ExportCertificateCommand({ CertificateArn: deps.certificateArn, Passphrase: Buffer.from(passphrase, 'ascii') })).catch((err: unknown) => {
    // ACM's refusals (RequestInProgressException before issue, ResourceNotFoundException,
    // ValidationException for a certificate not marked exportable; ACM API reference,
    // ExportCertificate, Errors) name the certificate in the deploy's or the alarm's reason.
    if (err instanceof ACMServiceException) throw new CertificateExportError(`ACM refused to export ${deps.certificateArn}: ${err.name}: ${err.message}`, { cause: err });
    throw err;
  });
  if (!out.Certificate || !out.PrivateKey) throw new CertificateExportError(`ExportCertificate returned no certificate or no private key for ${deps.certificateArn}`);

  // ACM gives the key as an encrypted PKCS #8 PEM (RFC 5958 EncryptedPrivateKeyInfo) under the passphrase.
  let key: string;
  let leaf: X509Certificate;
  try {
    const privateKey = createPrivateKey({ key: out.PrivateKey, format: 'pem', passphrase });
    key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    leaf = new X509Certificate(out.Certificate);
    if (!leaf.checkPrivateKey(privateKey)) throw new CertificateExportError('the exported private key does not belong to the exported certificate');
  } catch (err) {
    if (err instanceof CertificateExportError) throw err;
    throw new CertificateExportError(`the exported key or certificate cannot be read: ${(err as Error).message}`);
  }
  const validFrom = new Date(leaf.validFrom);
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() <= now.getTime() || validFrom.getTime() > now.getTime()) {
    throw new CertificateExportError(`the exported certificate is not valid now: ${leaf.validFrom} to ${leaf.validTo}`);
  }
  if (leaf.checkHost(deps.hostname) === undefined) throw new CertificateExportError(`the exported certificate does not name ${deps.hostname} (${leaf.subjectAltName ?? leaf.subject})`);

  // The leaf first, then the intermediates ACM returns (the chain a TLS server sends, RFC 8446 §4.4.2).
  const chain = pemBlock(out.Certificate) + (out.CertificateChain ? pemBlock(out.CertificateChain) : '');
  const value = JSON.stringify({ key: key.trimEnd(), chain: chain.trimEnd() });

  const current = await deps.secrets.send(new GetSecretValueCommand({ SecretId: deps.secretId }));
  const result = { serialNumber: leaf.serialNumber, notAfter: validTo.toISOString() };
  if (samePair(current.SecretString, key, chain)) return { outcome: 'unchanged', versionId: current.VersionId, ...result };
  // The token names the pair: two exports racing (the ACM event and the daily schedule) write one
  // version, not two; Secrets Manager ignores a repeated token with the same value.
  const token = createHash('sha256').update(value).digest('hex');
  const put = await deps.secrets.send(new PutSecretValueCommand({ SecretId: deps.secretId, SecretString: value, ClientRequestToken: token }));
  return { outcome: 'written', versionId: put.VersionId, ...result };
}

/** Whether the secret already holds this key and chain (the key compared as a key, the chain as text). */
function samePair(secretString: string | undefined, key: string, chain: string): boolean {
  try {
    const current = JSON.parse(secretString ?? '') as { key?: unknown; chain?: unknown };
    if (typeof current.key !== 'string' || typeof current.chain !== 'string') return false;
    if (pemBlock(current.chain) !== pemBlock(chain)) return false;
    const der = (pem: string) => createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
    return der(current.key).equals(der(key));
  } catch {
    // Not JSON yet (the random value CloudFormation gives a new secret), or not a key.
    return false;
  }
}
