/** The everyday-prose readers (native-models/tools/data/everyday.ts) on small made-up files, and how selection treats them. */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fortuneParagraphs, gcideQuotations, wordnetExamples } from '../../../native-models/tools/data/everyday.ts';
import { dedupKey, selectCorpus } from '../../../native-models/tools/data/select.ts';
import { normalizeText } from '../../../electron/core/text/normalize.ts';

test('fortunes: one paragraph per entry, attributions and indented layouts dropped', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-fortune-'));
  await writeFile(
    path.join(dir, 'literature'),
    'A banker is a fellow who lends you his umbrella when the sun is shining\nand wants it back the minute it begins to rain.\n\t\t-- Mark Twain\n%\n' +
      'Q: What is it?\nA: A riddle.\n%\n    A poem\n      set in verse\n%\nA light wife doth make a heavy husband.\n\t\t-- Wm. Shakespeare\n%\n',
  );
  const paragraphs = fortuneParagraphs(dir);
  assert.deepEqual(
    paragraphs.map((p) => p.text),
    [
      'A banker is a fellow who lends you his umbrella when the sun is shining and wants it back the minute it begins to rain.',
      'A light wife doth make a heavy husband.',
    ],
  );
  assert.ok(paragraphs.every((p) => p.source === 'fortune:literature'));
  assert.deepEqual(fortuneParagraphs(path.join(dir, 'absent')), [], 'a missing package gives nothing');
});

test('wordnet: the quoted examples of glosses of four words or more, made sentences', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-wordnet-'));
  await writeFile(
    path.join(dir, 'data.verb'),
    '  1 This software and database is being provided "AS IS" to you\n' +
      '00002724 29 v 01 choke 0 002 @ 00001740 v 0000 | breathe with great difficulty; "She choked with emotion when she spoke"; "he choked"\n' +
      '00002999 29 v 01 run 0 | move fast; "the kids ran to the old gate quickly"\n',
  );
  assert.deepEqual(
    wordnetExamples(dir).map((p) => [p.source, p.text]),
    [
      ['wordnet:verb', 'She choked with emotion when she spoke.'],
      ['wordnet:verb', 'The kids ran to the old gate quickly.'],
    ],
  );
});

test('gcide: indented quotations that end in an attribution, not definitions', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-gcide-'));
  const text =
    'Abdicator \\Ab"di*ca`tor\\, n.\n   One who abdicates.\n   [1913 Webster]\n\n' +
    '         The fury of the storm\n         rapidly abated.\n                                                  --Dryden.\n' +
    '         [Obs.] a bracketed note\n                                                  --Bailey.\n';
  const file = path.join(dir, 'gcide.dict.dz');
  await writeFile(file, gzipSync(Buffer.from(text)));
  assert.deepEqual(
    gcideQuotations(file).map((p) => p.text),
    ['The fury of the storm rapidly abated.'],
  );
});

test('selection: everyday entries escape the per-source caps; excluded sentences are never selected', () => {
  const everyday = Array.from({ length: 40 }, (_, i) => ({ source: 'wordnet:noun', text: `The small dog number ${i + 1} ran across the quiet green field.` }));
  const technical = Array.from({ length: 40 }, (_, i) => ({ source: 'man:ls.1', text: `The list command number ${i + 1} prints every file of the folder.` }));
  const excluded = 'The small dog number 1 ran across the quiet green field.';
  const exclude = new Set([dedupKey(normalizeText(excluded))]);
  const { splits } = selectCorpus([...everyday, ...technical], { maxPerSource: 5, maxPerOpening: 100, valFraction: 0, testFraction: 0, exclude });
  const bySource = (prefix: string) => splits.train.filter((s) => s.text.includes(prefix)).length;
  assert.equal(bySource('list command'), 5, 'one man page stays capped');
  assert.equal(bySource('small dog'), 39, 'every everyday sentence but the excluded one');
  assert.ok(!splits.train.some((s) => s.text === normalizeText(excluded)));
});
