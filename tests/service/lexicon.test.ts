/**
 * The service's side of the user's lexicon: the verbs, the file it shares with `spear lexicon`, the
 * lexicon reaching the pipeline, and hearing a word (with the fake synthesizer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { UserLexicon } from '../../electron/core/text/user-lexicon.ts';
import type { StudioEvent } from '../../electron/ipc-contract.ts';
import { ServiceClient } from '../../electron/service/client.ts';
import { fileLexicon, memoryLexicon } from '../../electron/service/lexicon.ts';
import { StudioService } from '../../electron/service/service.ts';
import { memorySettings } from '../../electron/service/settings.ts';
import { createFakeBackend } from '../helpers/fake-synthesizer.ts';

const scratch = (): Promise<string> => mkdtemp(path.join(os.tmpdir(), 'spear-service-lexicon-'));

function harness(options: { speed?: number; lexicon?: ReturnType<typeof memoryLexicon> } = {}) {
  const backend = createFakeBackend({ speed: options.speed ?? 0 });
  const seen: Array<{ text: string; lexicon: UserLexicon | undefined }> = [];
  const synthesize = backend.synthesize;
  backend.synthesize = (voice, text, settings, hooks) => {
    seen.push({ text, lexicon: hooks.lexicon });
    return synthesize(voice, text, settings, hooks);
  };
  const events: StudioEvent[] = [];
  const service = new StudioService({ backend, settings: memorySettings(), lexicon: options.lexicon ?? memoryLexicon(), emit: (e) => events.push(e) });
  const settled = (jobId: string): Promise<void> =>
    new Promise((resolve) => {
      const timer = setInterval(() => {
        if (
          events.some(
            (e) =>
              (e.type === 'job' && e.jobId === jobId && e.event.type === 'done') ||
              ((e.type === 'job-error' || e.type === 'job-canceled') && e.jobId === jobId),
          )
        ) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
  return { service, seen, events, settled };
}

test('entries are added, listed with their phones, replaced in any case and removed; bad ones are refused in words', async () => {
  const { service } = harness();
  assert.deepEqual(await service.getLexicon(), { entries: [], notice: null });
  await service.addLexiconEntry('Nguyen', 'win');
  const info = await service.addLexiconEntry('Siobhan', 'SH IH0 V AO1 N');
  assert.deepEqual(info, {
    entries: [
      { word: 'Nguyen', phonemes: ['W', 'IH1', 'N'], respelling: 'win' },
      { word: 'Siobhan', phonemes: ['SH', 'IH0', 'V', 'AO1', 'N'] },
    ],
    notice: null,
  });
  assert.deepEqual(
    (await service.addLexiconEntry('NGUYEN', 'N W IH1 N')).entries.map((e) => e.word),
    ['NGUYEN', 'Siobhan'],
  );
  assert.deepEqual(
    (await service.removeLexiconEntry('siobhan')).entries.map((e) => e.word),
    ['NGUYEN'],
  );
  await assert.rejects(service.addLexiconEntry('Foo', 'F AH'), /the vowel AH needs a stress digit/);
  await assert.rejects(service.removeLexiconEntry('Foo'), /"Foo" is not in the lexicon/);
});

test('a synthesis job reads with the lexicon as it is when the job starts', async () => {
  const { service, seen, settled } = harness();
  await settled(service.synthesize('Ask Nguyen.', {}));
  assert.equal(seen.at(-1)!.lexicon, undefined, 'no entries: no lexicon');
  await service.addLexiconEntry('Nguyen', 'win');
  await settled(service.synthesize('Ask Nguyen.', {}));
  assert.deepEqual(seen.at(-1)!.lexicon?.get('nguyen'), ['W', 'IH1', 'N']);
});

test('hearing a word reads just the word, with the given pronunciation unsaved, as a WAV', async () => {
  const { service, seen } = harness();
  const preview = await service.hearWord('Nguyen', 'win');
  assert.deepEqual(preview.phonemes, ['W', 'IH1', 'N']);
  assert.equal(seen.at(-1)!.text, 'Nguyen');
  assert.deepEqual(seen.at(-1)!.lexicon?.get('nguyen'), ['W', 'IH1', 'N']);
  const wav = Buffer.from(preview.wavBase64, 'base64');
  assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
  assert.equal(wav.readUInt32LE(24), 16_000);
  assert.ok(wav.readUInt32LE(40) > 1000, 'some audio');
  assert.deepEqual((await service.getLexicon()).entries, [], 'hearing saves nothing');
  // Without a pronunciation it reads with the lexicon (here: none, the dictionary's letter-to-sound).
  assert.notDeepEqual((await service.hearWord('Nguyen', null)).phonemes, ['W', 'IH1', 'N']);
  await assert.rejects(service.hearWord('two words', null), /is not one word/);
  await assert.rejects(service.hearWord('Nguyen', '日本'), /Latin letters/);
});

test('hearing is refused while a job holds the voice, and a job started meanwhile cancels it', async () => {
  const { service, settled } = harness({ speed: 1 });
  const jobId = service.synthesize('The first sentence is rather long, so that it takes a while. And a second one.', {});
  await new Promise((r) => setTimeout(r, 10));
  await assert.rejects(service.hearWord('Nguyen', 'win'), /the voice is reading the document/);
  service.cancel(jobId);
  await settled(jobId);
  const hearing = service.hearWord('supercalifragilisticexpialidocious', null);
  await new Promise((r) => setTimeout(r, 5));
  const next = service.synthesize('Something else.', {});
  await assert.rejects(hearing, /hearing "supercalifragilisticexpialidocious" was cancelled/);
  await settled(next);
});

test('the file store shares lexicon.json with the CLI: edits on disk are used, a damaged file is never overwritten', async () => {
  const dir = await scratch();
  const file = path.join(dir, 'config', 'lexicon.json');
  const notices: string[] = [];
  const store = fileLexicon(file, (line) => notices.push(line));
  assert.equal(await store.compiled(), undefined);
  await store.add('Nguyen', 'win');
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).entries, [{ word: 'Nguyen', respelling: 'win' }]);
  assert.deepEqual((await store.compiled())?.get('nguyen'), ['W', 'IH1', 'N']);
  // Changed on disk (by `spear lexicon add`, say): the next job reads the new entry.
  await writeFile(file, JSON.stringify({ format: 'spear-lexicon', version: 1, entries: [{ word: 'Nguyen', phonemes: 'N W IH1 N' }] }));
  assert.deepEqual((await store.compiled())?.get('nguyen'), ['N', 'W', 'IH1', 'N']);
  // Two quick changes both land.
  await Promise.all([store.add('apple', 'AE1 P AH0 L'), store.add('pear', 'P EH1 R')]);
  assert.deepEqual(
    (await store.info()).entries.map((e) => e.word),
    ['apple', 'Nguyen', 'pear'],
  );

  await writeFile(file, '{ damaged');
  const info = await store.info();
  assert.deepEqual(info.entries, []);
  assert.match(info.notice ?? '', /lexicon\.json is not valid JSON .*; it is ignored$/);
  assert.equal(await store.compiled(), undefined);
  await store.info();
  assert.equal(notices.length, 1, 'the notice is given once');
  await assert.rejects(store.add('Nguyen', 'win'), /is not valid JSON .*; fix it or move it away/);
  await assert.rejects(store.remove('apple'), /is not valid JSON/);
  assert.equal(await readFile(file, 'utf8'), '{ damaged');
  assert.deepEqual(await readdir(path.dirname(file)), ['lexicon.json'], 'no temporary file left');
});

test('through the worker: the host keeps the lexicon in the file it is given', async () => {
  const dir = await scratch();
  const file = path.join(dir, 'lexicon.json');
  const client = new ServiceClient({ backendModule: new URL('../helpers/fake-synthesizer.ts', import.meta.url).href, lexiconFile: file });
  try {
    await client.ready;
    const info = await client.call('addLexiconEntry', ['Nguyen', 'win']);
    assert.deepEqual(info.entries, [{ word: 'Nguyen', phonemes: ['W', 'IH1', 'N'], respelling: 'win' }]);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).entries, [{ word: 'Nguyen', respelling: 'win' }]);
    const preview = await client.call('hearWord', ['Nguyen', null]);
    assert.deepEqual(preview.phonemes, ['W', 'IH1', 'N']);
    await assert.rejects(client.call('addLexiconEntry', ['Nguyen', 'XX1']), /"XX1" is not an ARPAbet phoneme/);
  } finally {
    await client.dispose();
  }
});
