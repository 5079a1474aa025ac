// A stand-in for AWS Certificate Manager's ExportCertificate (the emulators have no ACM): a real
// ACMClient whose signed HTTP request a middleware answers after the SDK serialised it, so the
// SDK's own serialiser (awsJson1_1, the passphrase as base64) and deserialiser (the output, and
// an error's `__type` turned into the SDK's exception) run as against AWS. The answer is what the
// ACM API reference documents: `Certificate`, `CertificateChain` (without the certificate) and
// `PrivateKey`, the key as an encrypted PKCS #8 PEM under the passphrase of the request. Every
// request is recorded, decoded from the wire.
import { createPrivateKey, randomUUID } from 'node:crypto';
import { ACMClient } from '@aws-sdk/client-acm';

/** One ExportCertificate as ACM received it. */
export interface AcmRequest {
  /** The X-Amz-Target header: `CertificateManager.ExportCertificate`. */
  readonly target: string;
  readonly certificateArn: string;
  /** The passphrase bytes, decoded from the request body's base64, as latin1 text. */
  readonly passphrase: string;
  /** Whether the request carried a SigV4 signature for the acm service. */
  readonly signed: boolean;
}

/**
 * What ACM answers one request: the issued pair (the stub encrypts `key` under the request's
 * passphrase, or under `encryptWith` to model a key the caller cannot read), or an error.
 */
export type AcmAnswer =
  | { readonly certificate: string; readonly chain?: string; readonly key: string; readonly encryptWith?: string }
  | { readonly error: string; readonly status: number; readonly message: string };

/** ACM's refusals of ExportCertificate (ACM API reference, ExportCertificate, Errors). */
export const ACM_ERRORS = {
  requestInProgress: () => ({ error: 'RequestInProgressException', status: 400, message: 'Certificate arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012 is pending validation.' }),
  resourceNotFound: () => ({ error: 'ResourceNotFoundException', status: 400, message: 'Could not find certificate arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012.' }),
  notExportable: () => ({ error: 'ValidationException', status: 400, message: 'Certificate is not exportable.' }),
  throttled: () => ({ error: 'ThrottlingException', status: 400, message: 'Rate exceeded' }),
} satisfies Record<string, () => AcmAnswer>;

interface HttpRequestLike { readonly headers: Record<string, string>; readonly body?: unknown }

export class AcmStub {
  readonly requests: AcmRequest[] = [];
  /** A client with static credentials and no retries, answered in-process. */
  readonly client: ACMClient;

  constructor(public answer: (request: AcmRequest) => AcmAnswer, region = 'us-east-1') {
    this.client = new ACMClient({ region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
    // In the deserialize step after the SDK's deserializer: it receives the serialised, signed
    // request and hands back an HTTP response for the deserializer to read.
    this.client.middlewareStack.add(((_next: unknown) => async (args: { request: HttpRequestLike }) => ({
      response: this.respond(args.request),
    })) as never, { step: 'deserialize', name: 'acmStub', priority: 'low' });
  }

  private respond(request: HttpRequestLike) {
    const header = (name: string) => Object.entries(request.headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
    const bytes = request.body as Uint8Array | string | undefined;
    // The view's own bytes: Buffer.from(view) would call the SDK's string adapter (valueOf).
    const body = typeof bytes === 'string' ? bytes : bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '{}';
    const input = JSON.parse(body) as { CertificateArn?: unknown; Passphrase?: unknown };
    const recorded: AcmRequest = {
      target: header('x-amz-target'),
      certificateArn: String(input.CertificateArn),
      passphrase: Buffer.from(String(input.Passphrase ?? ''), 'base64').toString('latin1'),
      signed: /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/acm\/aws4_request/.test(header('authorization')),
    };
    this.requests.push(recorded);
    const json = (status: number, value: unknown) => ({
      statusCode: status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
      body: Buffer.from(JSON.stringify(value)),
    });
    if (recorded.target !== 'CertificateManager.ExportCertificate') return json(400, { __type: 'UnknownOperationException' });
    const answer = this.answer(recorded);
    if ('error' in answer) return json(answer.status, { __type: answer.error, message: answer.message });
    const passphrase = answer.encryptWith ?? recorded.passphrase;
    return json(200, {
      Certificate: answer.certificate,
      ...(answer.chain ? { CertificateChain: answer.chain } : {}),
      PrivateKey: createPrivateKey(answer.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString(),
    });
  }
}
