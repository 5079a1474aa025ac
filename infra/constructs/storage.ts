// The raw-mail bucket and the DynamoDB tables, generated from core's resource definitions.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BUCKET, TABLES, type IndexDefinition, type KeyAttribute, type TableName, physicalTableName } from '../../core/resources.ts';

export interface StorageProps {
  readonly prefix: string;
  readonly retainData: boolean;
  readonly deletionProtection: boolean;
}

const attribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/** The index's projection as CDK spells it (core/resources.ts: absent means ALL). */
function projectionOf(index: IndexDefinition): Pick<dynamodb.GlobalSecondaryIndexProps, 'projectionType' | 'nonKeyAttributes'> {
  const projection = index.projection ?? { type: 'ALL' };
  switch (projection.type) {
    case 'ALL':
      return { projectionType: dynamodb.ProjectionType.ALL };
    case 'KEYS_ONLY':
      return { projectionType: dynamodb.ProjectionType.KEYS_ONLY };
    case 'INCLUDE':
      return { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...projection.attributes] };
  }
}

export class Storage extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly tables: Record<TableName, dynamodb.Table>;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // Retained data keeps fixed names, tables and buckets alike, so a stack deployed again after
    // `cdk destroy` can adopt it with `cdk deploy --import-existing-resources` (CloudFormation imports
    // only resources with a static custom name and DeletionPolicy Retain: "Import AWS resources into
    // a CloudFormation stack automatically"). Bucket names are global: account and region make them
    // unique, and are literals whenever the CLI deploys (it sets the stack's env from the credentials).
    const { account, region } = Stack.of(this);
    const bucketName = (what: string) => `${props.prefix}-${what}-${account}-${region}`;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      bucketName: bucketName('access-logs'),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy,
      autoDeleteObjects: false,
    });

    this.bucket = new s3.Bucket(this, 'Raw', {
      bucketName: bucketName(BUCKET.id),
      encryption: s3.BucketEncryption.S3_MANAGED,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'raw-bucket/',
      // No service holds s3:DeleteObject: the last reference tags a blob, and this rule
      // expires tagged blobs after a grace period that doubles as an undelete window.
      lifecycleRules: [
        {
          id: 'expire-orphaned-blobs',
          prefix: BUCKET.rawPrefix,
          tagFilters: { [BUCKET.orphanTag.key]: BUCKET.orphanTag.value },
          expiration: Duration.days(BUCKET.orphanGraceDays),
        },
        // A streaming put that dies mid-way leaves parts nobody references.
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
    });

    this.tables = Object.fromEntries(Object.values(TABLES).map((definition) => {
      const table = new dynamodb.Table(this, `Table-${definition.id}`, {
        tableName: physicalTableName(props.prefix, definition.id as TableName),
        partitionKey: attribute(definition.partitionKey),
        sortKey: 'sortKey' in definition ? attribute(definition.sortKey) : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.deletionProtection,
        timeToLiveAttribute: 'ttlAttribute' in definition ? definition.ttlAttribute : undefined,
        removalPolicy,
      });
      for (const index of definition.globalIndexes as readonly IndexDefinition[]) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
          ...projectionOf(index),
        });
      }
      return [definition.id, table];
    })) as Record<TableName, dynamodb.Table>;
  }
}
