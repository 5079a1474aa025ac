// The DynamoDB client and the document client over it (options in client-options.ts).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsConfig } from '../config.ts';
import { clientOptions } from './client-options.ts';
import { addModelledLatency } from './latency.ts';

export function createDynamoDbClients(config: AwsConfig): { dynamodb: DynamoDBClient; doc: DynamoDBDocumentClient } {
  const dynamodb = new DynamoDBClient(clientOptions(config, config.endpoints.dynamodb));
  if (config.latency) addModelledLatency(dynamodb, 'dynamodb', config.latency, config.endpoints.dynamodb);
  // undefined attributes are dropped instead of refusing the item
  return { dynamodb, doc: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }) };
}
