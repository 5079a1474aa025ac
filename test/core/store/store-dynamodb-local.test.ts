// The store contract against the official DynamoDB Local (Java), so nothing relies on a dynalite quirk.
import { startTestWorld } from '../../helpers/emulators.ts';
import { startDynamoDbLocal } from '../../helpers/dynamodb-local.ts';
import { storeContract } from './contract.ts';

storeContract('DynamoDB Local', async () => {
  const dynamo = await startDynamoDbLocal();
  try {
    const world = await startTestWorld({ dynamoEndpoint: dynamo.endpoint });
    return {
      doc: world.clients.doc,
      tables: world.config.resources.tables,
      async close() {
        await world.close();
        await dynamo.stop();
      },
    };
  } catch (err) {
    await dynamo.stop();
    throw err;
  }
});
