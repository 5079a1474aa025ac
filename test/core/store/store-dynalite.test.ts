// The store contract against dynalite, the embedded emulator of the local stack.
import { startTestWorld } from '../../helpers/emulators.ts';
import { storeContract } from './contract.ts';

storeContract('dynalite', async () => {
  const world = await startTestWorld();
  return { doc: world.clients.doc, tables: world.config.resources.tables, close: () => world.close() };
});
