// A command's arity is read from its usage string, so what `--help` shows and what is checked
// cannot disagree: `<word>` required, `[word]` optional, a trailing `...` any number more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arityOf } from '../../cli/command.ts';
import { COMMANDS } from '../../cli/commands.ts';

test('arity from the usage string', () => {
  assert.deepEqual(arityOf(''), { min: 0, max: 0 });
  assert.deepEqual(arityOf('<address>'), { min: 1, max: 1 });
  assert.deepEqual(arityOf('[domain]'), { min: 0, max: 1 });
  assert.deepEqual(arityOf('<account> [mailbox]'), { min: 1, max: 2 });
  assert.deepEqual(arityOf('<address|@domain> <target>...'), { min: 2, max: Infinity });
});

test('every command\'s usage is made of <required>, [optional] and a trailing ... only', () => {
  for (const command of COMMANDS) {
    const words = command.args.split(/\s+/).filter(Boolean);
    words.forEach((w, i) => {
      assert.match(w, /^(<[^<>]+>|\[[^[\]]+\])(\.\.\.)?$/, `${command.name}: ${command.args}`);
      if (w.endsWith('...')) assert.equal(i, words.length - 1, `${command.name}: ... ends the list`);
    });
  }
});
