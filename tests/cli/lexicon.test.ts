/**
 * `spear lexicon` and `spear synth --lexicon` end to end: real processes, a config folder of their own
 * (SPEAR_CONFIG_DIR in a temporary folder), the shipped voice for synth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SPEAR = path.join(ROOT, 'bin/spear.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spear(configDir: string, args: string[]): Run {
  const r = spawnSync(process.execPath, [SPEAR, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', SPEAR_CONFIG_DIR: configDir } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'spear-lexicon-cli-'));

/** A refusal: exit 2 and exactly one line on stderr that matches. */
function refused(r: Run, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
}

test('lexicon add, list and remove round-trip through lexicon.json in SPEAR_CONFIG_DIR', async () => {
  const config = await scratch();
  const file = path.join(config, 'lexicon.json');
  assert.equal(spear(config, ['lexicon', 'path']).stdout.trim(), file);
  const empty = spear(config, ['lexicon', 'list']);
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, '');
  assert.match(empty.stderr, /no lexicon yet/);

  assert.equal(spear(config, ['lexicon', 'add', 'Nguyen', 'win']).code, 0);
  const add = spear(config, ['lexicon', 'add', 'Siobhan', 'SH', 'IH0', 'V', 'AO1', 'N']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, /Siobhan → SH IH0 V AO1 N; saved in /);
  // The same word in another case replaces the entry.
  assert.equal(spear(config, ['lexicon', 'add', 'nguyen', 'when', '--respelling']).code, 0);

  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
    format: 'spear-lexicon',
    version: 1,
    entries: [
      { word: 'nguyen', respelling: 'when' },
      { word: 'Siobhan', phonemes: 'SH IH0 V AO1 N' },
    ],
  });
  const list = spear(config, ['lexicon', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^nguyen {3}W EH1 N \(respelled "when"\)\nSiobhan {2}SH IH0 V AO1 N\n$/);

  assert.equal(spear(config, ['lexicon', 'remove', 'NGUYEN']).code, 0);
  assert.equal(spear(config, ['lexicon', 'list']).stdout, 'Siobhan  SH IH0 V AO1 N\n');
  refused(spear(config, ['lexicon', 'remove', 'Nguyen']), /^spear: lexicon: "Nguyen" is not in /);
  assert.deepEqual(await readdir(config), ['lexicon.json'], 'no temporary file left');
});

test('bad entries and a damaged file are refused with one line, and the file is not overwritten', async () => {
  const config = await scratch();
  refused(spear(config, ['lexicon', 'add', 'Foo', 'F', 'AH']), /vowel AH needs a stress digit/);
  refused(spear(config, ['lexicon', 'add', 'Foo', 'F', 'QQ1']), /"QQ1" is not an ARPAbet phoneme/);
  refused(spear(config, ['lexicon', 'add', 'Foo', '日本']), /must be written in Latin letters/);
  refused(spear(config, ['lexicon', 'add', 'two words', 'x']), /is not one word/);
  refused(spear(config, ['lexicon', 'add', 'Foo']), /give a WORD and its PRONUNCIATION/);
  refused(spear(config, ['lexicon', 'frobnicate']), /unknown action "frobnicate"/);
  const file = path.join(config, 'lexicon.json');
  await writeFile(file, '{"format": "spear-lexicon", "version": 1, "entries": [');
  refused(spear(config, ['lexicon', 'add', 'Nguyen', 'win']), /lexicon\.json is not valid JSON .*; fix it or move it away$/m);
  refused(spear(config, ['lexicon', 'list']), /is not valid JSON/);
  assert.equal(await readFile(file, 'utf8'), '{"format": "spear-lexicon", "version": 1, "entries": [');
});

const units = async (file: string): Promise<number[][]> =>
  (JSON.parse(await readFile(file, 'utf8')) as { sentences: { units: number[] }[] }).sentences.map((s) => s.units);

test('synth reads with the user’s lexicon: a respelled word gives the units of its respelling', async () => {
  const config = await scratch();
  const out = await scratch();
  const synth = (name: string, text: string, extra: string[] = []): Run =>
    spear(config, ['synth', text, '-o', path.join(out, `${name}.wav`), '--units-out', path.join(out, `${name}.json`), '-q', ...extra]);
  assert.equal(synth('plain', 'Ask Nguyen.').code, 0);
  assert.equal(synth('respelled', 'Ask win.').code, 0);
  assert.equal(spear(config, ['lexicon', 'add', 'Nguyen', 'win']).code, 0);
  const mine = synth('mine', 'Ask Nguyen.');
  assert.equal(mine.code, 0, mine.stderr);
  assert.equal(mine.stderr, '');
  // Greedy decoding of the same phonemes gives the same units: the entry replaced the word's phonemes.
  assert.deepEqual(await units(path.join(out, 'mine.json')), await units(path.join(out, 'respelled.json')));
  assert.notDeepEqual(await units(path.join(out, 'mine.json')), await units(path.join(out, 'plain.json')));

  // --lexicon FILE reads another file instead; one that is missing is refused before any work.
  const other = path.join(out, 'other.json');
  await writeFile(other, JSON.stringify({ format: 'spear-lexicon', version: 1, entries: [] }));
  assert.equal(synth('other', 'Ask Nguyen.', ['--lexicon', other]).code, 0);
  assert.deepEqual(await units(path.join(out, 'other.json')), await units(path.join(out, 'plain.json')));
  refused(synth('missing', 'Ask Nguyen.', ['--lexicon', path.join(out, 'missing.json')]), /^spear: --lexicon .*missing\.json: no such file$/m);
});

test('synth with a damaged lexicon in the config folder says so in one line and reads without it', async () => {
  const config = await scratch();
  const out = await scratch();
  await writeFile(path.join(config, 'lexicon.json'), 'not json at all');
  const r = spear(config, ['synth', 'Ask Nguyen.', '-o', path.join(out, 'a.wav'), '--units-out', path.join(out, 'a.json'), '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^spear: warning: lexicon: .*lexicon\.json is not valid JSON .*; it is ignored\n$/);
  const plain = spear(await scratch(), ['synth', 'Ask Nguyen.', '-o', path.join(out, 'b.wav'), '--units-out', path.join(out, 'b.json'), '-q']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(await units(path.join(out, 'a.json')), await units(path.join(out, 'b.json')));
});
