// The queue consumers: inbound (parse, route, file) and relay (deliver with retry, bounce),
// bundled locally with esbuild from node_modules (no Docker) for Node 24 on arm64.
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../core/resources.ts';


export interface QueueConsumerProps {
  /** Absolute path of the handler module; it exports `handler`. */
  readonly entry: string;
  readonly repoRoot: string;
  readonly queue: sqs.IQueue;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency?: number;
  readonly environment: Record<string, string>;
  readonly serviceName: string;
  readonly logRetentionDays: number;
}

/** One Lambda function fed by one SQS queue, reporting per-message failures. */
export class QueueConsumer extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: QueueConsumerProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: retentionDays(props.logRetentionDays) });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: props.repoRoot,
      depsLockFilePath: path.join(props.repoRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(props.timeoutSeconds),
      memorySize: props.memoryMb,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        ...props.environment,
        // Powertools (logger, metrics, batch) read these.
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: esmBundling(),
    });
    this.function.addEventSource(new SqsEventSource(props.queue, {
      batchSize: props.batchSize,
      maxBatchingWindow: props.maxBatchingWindowSeconds > 0 ? Duration.seconds(props.maxBatchingWindowSeconds) : undefined,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency,
    }));
  }
}

/**
 * How every function is bundled: ESM for Node 24, minified with source maps. The SDK is bundled
 * rather than taken from the runtime (CDK's default leaves `@aws-sdk/*` out), so its version is
 * the one we tested.
 */
export function esmBundling(): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    target: 'node24',
    platform: 'node',
    mainFields: ['module', 'main'],
    minify: true,
    sourceMap: true,
    externalModules: [],
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  };
}

export function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is logs.RetentionDays => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  return allowed.find((v) => v >= days) ?? logs.RetentionDays.TEN_YEARS;
}

