import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dictionary } from 'cmu-pronouncing-dictionary';
import { getLexicon, isDictionaryWord, lookupWord } from '../../../electron/core/text/lexicon.ts';

test('a word reads its first CMUdict pronunciation, any case, with the comment after # dropped', () => {
  assert.deepEqual(lookupWord('READ'), ['R', 'EH1', 'D']);
  assert.equal((dictionary as Record<string, string>)['read(2)'], 'R IY1 D', 'CMUdict lists an alternative');
  assert.deepEqual(lookupWord('Aalborg'), ['AO1', 'L', 'B', 'AO0', 'R', 'G']);
  assert.match((dictionary as Record<string, string>).aalborg, /#/);
});

test('the supplement fills words CMUdict lacks; alternatives and object property names are not words', () => {
  assert.deepEqual(lookupWord('miz'), ['M', 'IH1', 'Z']);
  for (const word of ['read(2)', 'constructor2', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    assert.equal(lookupWord(word), undefined, word);
    assert.equal(isDictionaryWord(word), false, word);
  }
  assert.equal(isDictionaryWord('Constructor'), true, 'a real word that is also a property name');
});

test('the whole lexicon (tooling) holds what lookups give, one entry per word', () => {
  const lexicon = getLexicon();
  assert.ok(lexicon.size > 120_000);
  let checked = 0;
  for (const [word, phones] of lexicon) {
    if (checked++ % 997 !== 0) continue;
    assert.deepEqual(lookupWord(word), phones, word);
  }
  assert.deepEqual(lexicon.get('miz'), ['M', 'IH1', 'Z']);
  assert.ok(![...lexicon.keys()].some((w) => w.includes('(')));
});
