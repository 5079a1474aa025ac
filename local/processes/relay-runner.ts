// Supervised component: the relay Lambda (functions/relay/handler.ts) on the outbound queue.
import { FUNCTIONS } from '../../core/resources.ts';
import { runQueueFunction } from './queue-function.ts';

await runQueueFunction({
  component: 'relay-runner',
  handlerModule: new URL('../../functions/relay/handler.ts', import.meta.url),
  queue: 'outbound',
  settings: FUNCTIONS.relay,
  functionName: 'mail-relay',
});
