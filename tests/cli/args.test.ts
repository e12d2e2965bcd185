import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { shellWord } from '../../electron/cli/args.ts';

test('shellWord leaves plain words alone and quotes the rest so that a shell reads them back', () => {
  assert.equal(shellWord('--work'), '--work');
  assert.equal(shellWord('/tmp/a-b_c.d/x,y'), '/tmp/a-b_c.d/x,y');
  for (const word of ['two words', "it's", '$HOME', 'a;b', '', "'", 'é']) {
    const echoed = spawnSync('sh', ['-c', `printf %s ${shellWord(word)}`], { encoding: 'utf8' }).stdout;
    assert.equal(echoed, word, word);
  }
});
