// Supervised component: the inbound Lambda (functions/inbound/handler.ts) on the inbound queue.
import { FUNCTIONS } from '../../core/resources.ts';
import { runQueueFunction } from './queue-function.ts';

await runQueueFunction({
  component: 'inbound-runner',
  handlerModule: new URL('../../functions/inbound/handler.ts', import.meta.url),
  queue: 'inbound',
  settings: FUNCTIONS.inbound,
  functionName: 'mail-inbound',
});
