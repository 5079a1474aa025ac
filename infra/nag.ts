// cdk-nag AwsSolutions acknowledgements. Each one is attached to the narrowest construct it covers
// (a role, a security group), names the exact finding and says why the design accepts it, so a
// new finding anywhere else still fails `cdk synth` and the tests.
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { MailStack } from './mail-stack.ts';

/** `<LogicalId.Arn>` as cdk-nag writes it in IAM5 finding ids. */
function arnRef(resource: IConstruct): string {
  const cfn = resource.node.defaultChild as CfnResource;
  const stack = Stack.of(resource);
  return `<${stack.resolve(stack.getLogicalId(cfn)) as string}.Arn>`;
}

export function acknowledgeNagFindings(stack: MailStack): void {
  const rawObjects = {
    id: `AwsSolutions-IAM5[Resource::${arnRef(stack.storage.bucket)}/raw/*]`,
    reason: 'S3 object ARNs need a wildcard for the object key. The grant is limited to the raw/ prefix of the one mail bucket and to the listed actions (never s3:DeleteObject).',
  };
  // Every function's role: the certificate export's and the queue consumers'.
  const lambdaBasicExecution = {
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'AWSLambdaBasicExecutionRole grants only logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents, which every function needs to write its logs; AWS maintains it.',
  };
  Validations.of(stack.srsSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: 'The SRS key signs the envelope senders of forwarded mail; bounces come back to those addresses for up to 21 days. Rotating it on a schedule would refuse the bounces of everything forwarded before (core/srs.ts accepts a previous key beside the new one for a hand-made rotation).',
  });
  Validations.of(stack.loadBalancerSecurityGroup).acknowledge({
    id: 'AwsSolutions-EC23',
    reason: 'A public mail server must accept SMTP (25), submission (587/465), IMAP (143/993) and POP3 (110/995) from any address; only those ports are open, and the tasks accept traffic from this security group only.',
  });
  Validations.of(stack.loadBalancer).acknowledge({
    id: 'AwsSolutions-ELB2',
    reason: 'NLB access logs are written only for TLS listeners. Every listener here is TCP pass-through (TLS, including STARTTLS, terminates in the task), so there is nothing to log; the services log each session with the client address (client IP preservation), and VPC flow logs record rejected traffic.',
  });

  const managed = stack.tlsCertificate.managed;
  if (managed) {
    Validations.of(stack.tlsCertificate.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The TLS secret is not rotated by Secrets Manager: ACM renews the certificate, and the certificate export function writes each renewed key and chain into it (ACM event, daily schedule).',
    });
    const role = managed.exportFunction.role;
    if (role) Validations.of(role).acknowledge(lambdaBasicExecution);
  }

  for (const service of [stack.edge, stack.mailbox]) {
    Validations.of(service.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The plain environment holds only non-secret configuration (resource names, host name, ports, limits). The TLS private key reaches the container as an ECS secret from Secrets Manager.',
    });
    Validations.of(service.taskDefinition.taskRole).acknowledge(rawObjects);
    const executionRole = service.taskDefinition.executionRole;
    if (executionRole) {
      Validations.of(executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken does not support resource-level permissions; it is the only action granted on "*" (image pulls, logs and the TLS secret are scoped to their ARNs).',
      });
    }
  }

  for (const consumer of [stack.inbound, stack.relay]) {
    const role = consumer.function.role;
    if (!role) continue;
    // The functions' table grants name each table ARN (no indexes): only the object ARN needs a wildcard.
    Validations.of(role).acknowledge(rawObjects, lambdaBasicExecution);
  }
}
