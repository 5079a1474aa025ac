// A stand-in for AWS Secrets Manager (the emulators have none): a real SecretsManagerClient whose
// requests a middleware answers before they are serialised, with the versions and the AWSCURRENT
// label as the Secrets Manager API reference describes GetSecretValue and PutSecretValue (a
// ClientRequestToken already used with the same value makes no new version). Every request is
// recorded, so a test can say what was read and written.
import { randomUUID } from 'node:crypto';
import { SecretsManagerClient, ResourceNotFoundException, InvalidRequestException } from '@aws-sdk/client-secrets-manager';

export interface SecretsRequest { readonly command: string; readonly input: Record<string, unknown> }

interface Version { readonly id: string; readonly value: string }

export class SecretsStub {
  readonly requests: SecretsRequest[] = [];
  /** Secret id (name or ARN) -> its versions, the last one AWSCURRENT. */
  private readonly secrets = new Map<string, Version[]>();
  /** Set to make the next requests fail as Secrets Manager would when unreachable. */
  failing: Error | null = null;
  readonly client: SecretsManagerClient;

  constructor() {
    this.client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 });
    this.client.middlewareStack.add(((_next: unknown, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
      const command = String(context.commandName).replace(/Command$/, '');
      this.requests.push({ command, input: args.input });
      if (this.failing) throw this.failing;
      return { output: { $metadata: { httpStatusCode: 200 }, ...this.answer(command, args.input) }, response: {} };
    }) as never, { step: 'initialize', name: 'secretsStub' });
  }

  /** Makes a secret with one version (as CloudFormation does for a secret it creates). */
  create(id: string, value: string): string {
    const version = { id: randomUUID(), value };
    this.secrets.set(id, [version]);
    return version.id;
  }

  current(id: string): { versionId: string; value: string } | undefined {
    const v = this.secrets.get(id)?.at(-1);
    return v && { versionId: v.id, value: v.value };
  }

  /** Writes a new version directly, as an operator or another process would. */
  put(id: string, value: string): string {
    const version = { id: randomUUID(), value };
    this.secrets.set(id, [...(this.secrets.get(id) ?? []), version]);
    return version.id;
  }

  private answer(command: string, input: Record<string, unknown>): Record<string, unknown> {
    const id = String(input.SecretId);
    const versions = this.secrets.get(id);
    if (!versions) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
    if (command === 'GetSecretValue') {
      const v = versions.at(-1)!;
      return { ARN: id, Name: id, VersionId: v.id, SecretString: v.value, VersionStages: ['AWSCURRENT'] };
    }
    if (command === 'PutSecretValue') {
      const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
      const value = String(input.SecretString);
      const existing = versions.find((v) => v.id === token);
      if (existing && existing.value !== value) throw new InvalidRequestException({ message: 'You can\'t modify an existing version, you can only create a new version.', $metadata: {} });
      if (!existing) versions.push({ id: token, value });
      return { ARN: id, Name: id, VersionId: token, VersionStages: ['AWSCURRENT'] };
    }
    throw new Error(`the Secrets Manager stub does not answer ${command}`);
  }
}
