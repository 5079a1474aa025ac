import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedSerialiser } from '../../../core/store/keyed-serialiser.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('tasks of one key run one after another, in order; other keys run alongside', async () => {
  const serialiser = new KeyedSerialiser();
  const log: string[] = [];
  let runningA = 0;
  const taskA = (n: number) => async () => {
    runningA++;
    assert.equal(runningA, 1, 'never two tasks of one key at once');
    log.push(`a${n} start`);
    await tick();
    await tick();
    log.push(`a${n} end`);
    runningA--;
    return n;
  };
  const results = Promise.all([
    serialiser.run('a', taskA(1)),
    serialiser.run('a', taskA(2)),
    serialiser.run('b', async () => {
      log.push('b start');
      return 0;
    }),
    serialiser.run('a', taskA(3)),
  ]);
  assert.deepEqual(await results, [1, 2, 0, 3]);
  assert.deepEqual(log.filter((l) => l.startsWith('a')), ['a1 start', 'a1 end', 'a2 start', 'a2 end', 'a3 start', 'a3 end']);
  assert.ok(log.indexOf('b start') < log.indexOf('a1 end'), 'key b did not wait for key a');
});

test('a failing task rejects its caller only; the next task of the key still runs; finished keys are forgotten', async () => {
  const serialiser = new KeyedSerialiser();
  const failed = serialiser.run('k', async () => {
    throw new Error('boom');
  });
  const next = serialiser.run('k', async () => 'after');
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 'after');
  await tick();
  assert.equal(serialiser.activeKeys, 0);
});
