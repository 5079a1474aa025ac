// The certificate export Lambda: the composition root. Invoked by EventBridge when ACM issues or
// renews the certificate, once a day by a schedule (a missed event, a secret changed by hand), and
// once at deploy (infra/constructs/tls-certificate.ts), before the services first read the secret.
// A failure throws: the deploy stops with the reason, EventBridge's invocation is retried, and the
// function's error alarm fires.
//   MAIL_TLS_CERTIFICATE_ARN: the ACM certificate; MAIL_TLS_SECRET_ARN: the secret the services read;
//   MAIL_HOSTNAME: the host name the certificate must name; MAIL_REGION (or AWS_REGION).
import { Logger } from '@aws-lambda-powertools/logger';
import { ACMClient } from '@aws-sdk/client-acm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { parseConfig } from '../../core/config.ts';
import { exportCertificateToSecret } from './export-certificate.ts';
import { awsOnlyClientOptions } from '../../core/aws/client-options.ts';

const envSchema = z.object({
  MAIL_TLS_CERTIFICATE_ARN: z.string().startsWith('arn:'),
  MAIL_TLS_SECRET_ARN: z.string().min(1),
  MAIL_HOSTNAME: z.string().min(1),
  MAIL_REGION: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
});

let runtime: { logger: Logger; run: () => ReturnType<typeof exportCertificateToSecret> } | undefined;

export async function handler(event: { source?: string; 'detail-type'?: string } = {}): Promise<{ outcome: string; notAfter: string }> {
  runtime ??= (() => {
    const env = parseConfig(envSchema, process.env, 'certificate export environment');
    const region = env.MAIL_REGION ?? env.AWS_REGION ?? 'us-east-1';
    // ACM and Secrets Manager have no emulator: no endpoint override, the timeouts of every client.
    const acm = new ACMClient(awsOnlyClientOptions(region));
    const secrets = new SecretsManagerClient(awsOnlyClientOptions(region));
    return {
      logger: new Logger({ serviceName: 'mail-certificate-export' }),
      run: () => exportCertificateToSecret({
        acm, secrets, hostname: env.MAIL_HOSTNAME,
        certificateArn: env.MAIL_TLS_CERTIFICATE_ARN, secretId: env.MAIL_TLS_SECRET_ARN,
      }),
    };
  })();
  const result = await runtime.run();
  runtime.logger.info('certificate exported', { trigger: event['detail-type'] ?? event.source ?? 'deploy', ...result });
  return { outcome: result.outcome, notAfter: result.notAfter };
}
