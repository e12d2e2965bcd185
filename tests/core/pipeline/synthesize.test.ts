import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError } from '../../../electron/core/errors.ts';
import type { PipelineEvent } from '../../../electron/core/pipeline/events.ts';
import { NothingToSayError, PAUSE_SECONDS, synthesize, UnreadableTextError } from '../../../electron/core/pipeline/synthesize.ts';
import { openVoice, type Voice } from '../../../electron/core/pipeline/voice.ts';
import { fakeSpeaker } from '../../helpers/fake-speaker.ts';
import { TINY_VOICE } from '../../helpers/fixtures.ts';

const DOCUMENT = `The quick brown fox jumps over the lazy dog. It was not amused!

A new paragraph starts here, with a comma. Does it end with a question? Yes.`;

async function tinyVoice(delayMs = 0): Promise<Voice & { speaker: ReturnType<typeof fakeSpeaker> }> {
  const voice = await openVoice(TINY_VOICE, { loadSpeaker: async () => fakeSpeaker(32, { delayMs }) });
  return voice as Voice & { speaker: ReturnType<typeof fakeSpeaker> };
}

async function run(voice: Voice, text: string, settings = {}): Promise<PipelineEvent[]> {
  const events: PipelineEvent[] = [];
  await synthesize(voice, text, settings, { onEvent: (e) => events.push(e) });
  return events;
}

test('sentences, steps, units and audio arrive, audio in document order with pauses between', async () => {
  const voice = await tinyVoice();
  const events = await run(voice, DOCUMENT, { batchSize: 3 });
  const sentences = events.find((e) => e.type === 'sentences');
  assert.ok(sentences && sentences.type === 'sentences');
  assert.equal(sentences.sentences.length, 5);
  for (const s of sentences.sentences) assert.equal(DOCUMENT.slice(s.start, s.end), s.text);
  const audio = events.filter((e): e is Extract<PipelineEvent, { type: 'audio' }> => e.type === 'audio');
  assert.deepEqual(
    audio.map((a) => a.sentence),
    [0, 1, 2, 3, 4],
  );
  // Offsets: each sentence starts after the previous one plus its pause (longer at the paragraph break).
  for (let i = 1; i < audio.length; i++) {
    const gap = audio[i].offsetSamples - (audio[i - 1].offsetSamples + audio[i - 1].samples.length);
    const expected = Math.round((i === 2 ? PAUSE_SECONDS.paragraph : PAUSE_SECONDS.sentence) * 16000);
    assert.equal(gap, expected, `pause before sentence ${i}`);
  }
  const units = events.filter((e) => e.type === 'units');
  assert.equal(units.length, 5);
  for (const u of units) if (u.type === 'units') assert.ok(u.units.every((x) => x >= 0 && x < 32));
  const done = events.at(-1);
  assert.ok(done?.type === 'done' && done.summary.audioSeconds > 0 && done.summary.timeToFirstAudioMs > 0);
  await voice.release();
});

test('the units do not depend on the batch size or the strategy (greedy)', async () => {
  const voice = await tinyVoice();
  const unitsOf = async (settings: object): Promise<number[][]> =>
    (await run(voice, DOCUMENT, settings))
      .flatMap((e) => (e.type === 'units' ? [e] : []))
      .sort((a, b) => a.sentence - b.sentence)
      .map((e) => e.units);
  const reference = await unitsOf({ strategy: 'ar', batchSize: 1 });
  for (const strategy of ['early-exit', 'draft', 'eagle', 'layer-skip']) {
    for (const batchSize of [1, 2, 8]) assert.deepEqual(await unitsOf({ strategy, batchSize, gamma: 3 }), reference, `${strategy} batch ${batchSize}`);
  }
  // Sampling: per-sentence seeds make batching irrelevant too.
  const sampled = await unitsOf({ strategy: 'draft', temperature: 1, batchSize: 1, seed: 5 });
  assert.deepEqual(await unitsOf({ strategy: 'draft', temperature: 1, batchSize: 4, seed: 5 }), sampled);
  await voice.release();
});

test('the first sentence is spoken before the last is decoded (streaming)', async () => {
  const voice = await tinyVoice();
  const events = await run(voice, DOCUMENT, { batchSize: 1 });
  const firstAudio = events.findIndex((e) => e.type === 'audio');
  const lastUnits = events.findLastIndex((e) => e.type === 'units');
  assert.ok(firstAudio < lastUnits, `first audio at event ${firstAudio}, last units at ${lastUnits}`);
  await voice.release();
});

test('speakWhileDecoding false: no sentence is spoken while its batch decodes, and the audio is the same', async () => {
  const voice = await tinyVoice(2);
  // One batch of all five sentences (the first not ahead of it), so every step precedes every audio.
  const overlapped: PipelineEvent[] = [];
  await synthesize(voice, DOCUMENT, { batchSize: 5 }, { onEvent: (e) => overlapped.push(e), firstSentenceAlone: false });
  const events: PipelineEvent[] = [];
  await synthesize(voice, DOCUMENT, { batchSize: 5 }, { onEvent: (e) => events.push(e), speakWhileDecoding: false, firstSentenceAlone: false });
  const firstAudio = events.findIndex((e) => e.type === 'audio');
  const lastStep = events.findLastIndex((e) => e.type === 'step');
  assert.ok(firstAudio > lastStep, `audio at event ${firstAudio} came before the last decoding step (${lastStep})`);
  const audioOf = (list: PipelineEvent[]) => list.flatMap((e) => (e.type === 'audio' ? [[e.sentence, e.offsetSamples, Array.from(e.samples)]] : []));
  assert.deepEqual(audioOf(events), audioOf(overlapped));
  await voice.release();
});

test('the first sentence decodes alone, ahead of the first batch, unless firstSentenceAlone is false', async () => {
  const voice = await tinyVoice();
  const stepsBeforeFirstUnits = async (firstSentenceAlone: boolean): Promise<Set<number>> => {
    const events: PipelineEvent[] = [];
    await synthesize(voice, DOCUMENT, { batchSize: 8 }, { onEvent: (e) => events.push(e), firstSentenceAlone });
    const firstUnits = events.findIndex((e) => e.type === 'units' && e.sentence === 0);
    return new Set(events.slice(0, firstUnits).flatMap((e) => (e.type === 'step' ? [e.sentence] : [])));
  };
  assert.deepEqual([...(await stepsBeforeFirstUnits(true))], [0]);
  assert.ok((await stepsBeforeFirstUnits(false)).size > 1, 'with one batch, other sentences step before sentence 0 is done');
  await voice.release();
});

test('cancelling mid-document rejects with CancelledError and stops decoding and speaking', async () => {
  const voice = await tinyVoice(5);
  const controller = new AbortController();
  const events: PipelineEvent[] = [];
  const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
  const job = synthesize(
    voice,
    long,
    { batchSize: 2 },
    {
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'audio') controller.abort();
      },
    },
  );
  await assert.rejects(job, CancelledError);
  const spokenAtCancel = voice.speaker.calls.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(voice.speaker.calls.length, spokenAtCancel, 'no speaking after the cancel settled');
  assert.ok(!events.some((e) => e.type === 'done'));
  assert.ok(events.filter((e) => e.type === 'units').length < 40);
  await voice.release();
});

test('text with nothing to read is a typed error', async () => {
  const voice = await tinyVoice();
  await assert.rejects(synthesize(voice, '   \n\t '), NothingToSayError);
  await assert.rejects(synthesize(voice, '🙂🙂 *** ###'), /only symbols or emoji/);
  await assert.rejects(synthesize(voice, '日本語のテキスト。'), /reads English, and the text has no Latin letters/);
  await assert.rejects(synthesize(voice, `a ${'x'.repeat(50_000)} b`), UnreadableTextError);
  await voice.release();
});

/** A reading check whose scores are a hash of the units: it fails about half the readings, deterministically. */
function fakeChecker() {
  const scored: Array<{ units: number[]; phonemes: number[]; score: number }> = [];
  return {
    scored,
    async score(units: readonly number[], phonemes: readonly number[]) {
      let h = 17;
      for (const u of units) h = (h * 31 + u + 1) % 1_000_003;
      const score = (h % 1000) / 1000;
      scored.push({ units: [...units], phonemes: [...phonemes], score });
      return score;
    },
    needsRereading: (score: number) => score > 0.5,
    async release() {},
  };
}

async function checkedVoice() {
  const checker = fakeChecker();
  const voice = await openVoice(TINY_VOICE, { loadSpeaker: async () => fakeSpeaker(32), loadChecker: async () => checker });
  return { voice, checker };
}

type UnitsEvent = Extract<PipelineEvent, { type: 'units' }>;
const unitsEvents = (events: PipelineEvent[]): UnitsEvent[] => events.flatMap((e) => (e.type === 'units' ? [e] : [])).sort((a, b) => a.sentence - b.sentence);

test('reading check: a failed reading is read again and the best-scoring reading is spoken', async () => {
  const { voice, checker } = await checkedVoice();
  const text = Array.from({ length: 12 }, (_, i) => `Line ${i} says something new.`).join(' ');
  const events = await run(voice, text, { batchSize: 4 });
  const units = unitsEvents(events);
  assert.equal(units.length, 12);
  const reread = units.filter((u) => u.check!.rereadings > 0);
  assert.ok(reread.length > 0 && reread.length < 12, `${reread.length} of 12 read again: the fake fails about half`);
  for (const u of units) {
    const check = u.check!;
    assert.equal(check.rereadings > 0, check.score > 0.5, `sentence ${u.sentence}: re-read exactly when the first reading failed`);
    // The spoken units are the lowest-scoring of the readings scored for this sentence.
    const phonemes = checker.scored.find((s) => s.score === check.score)!.phonemes;
    const mine = checker.scored.filter((s) => s.phonemes.join() === phonemes.join());
    assert.equal(mine.length, 1 + check.rereadings);
    const best = mine.reduce((a, b) => (b.score < a.score ? b : a));
    assert.equal(check.chosenScore, best.score);
    assert.deepEqual(u.units, best.units);
    assert.ok(check.chosenScore <= check.score);
  }
  const done = events.at(-1);
  assert.ok(done?.type === 'done' && done.summary.rereadSentences === reread.length);
  // Audio follows the chosen units, in order.
  assert.deepEqual(
    events.flatMap((e) => (e.type === 'audio' ? [e.sentence] : [])),
    [...Array(12).keys()],
  );
  await voice.release();
});

test('reading check: units do not depend on strategy or batch size; rereadings 0 speaks the first readings unchecked', async () => {
  const { voice } = await checkedVoice();
  const text = Array.from({ length: 9 }, (_, i) => `Item ${i} is listed here.`).join(' ');
  const unitsOf = async (settings: object, hooks = {}): Promise<number[][]> => {
    const events: PipelineEvent[] = [];
    await synthesize(voice, text, settings, { onEvent: (e) => events.push(e), ...hooks });
    return unitsEvents(events).map((e) => e.units);
  };
  const reference = await unitsOf({ strategy: 'ar', batchSize: 1 });
  for (const [strategy, batchSize] of [
    ['eagle', 3],
    ['draft', 9],
    ['early-exit', 2],
  ] as const) {
    assert.deepEqual(await unitsOf({ strategy, batchSize, gamma: 3 }), reference, `${strategy} batch ${batchSize}`);
  }
  const plainVoice = await tinyVoice();
  const plain = (await run(plainVoice, text, { strategy: 'ar' })).flatMap((e) => (e.type === 'units' ? [e] : []));
  await plainVoice.release();
  const off: PipelineEvent[] = [];
  await synthesize(voice, text, { strategy: 'ar' }, { onEvent: (e) => off.push(e), rereadings: 0 });
  assert.deepEqual(
    unitsEvents(off).map((e) => e.units),
    unitsEvents(plain).map((e) => e.units),
  );
  assert.ok(unitsEvents(off).every((e) => e.check === undefined));
  assert.notDeepEqual(
    reference,
    unitsEvents(off).map((e) => e.units),
    'with re-reading some sentence changes',
  );
  await assert.rejects(synthesize(voice, text, {}, { rereadings: -1 }), /rereadings must be an integer ≥ 0/);
  await voice.release();
});

test("delivery: pauses are the settings', the speaker gets rate and pitch, volume scales, ranges are enforced", async () => {
  const voice = await tinyVoice();
  const calls: Array<{ rate?: number; pitchSemitones?: number } | undefined> = [];
  const speak = voice.speaker.speak.bind(voice.speaker);
  voice.speaker.speak = async (units, options) => {
    calls.push(options);
    return speak(units);
  };
  const base = await run(voice, DOCUMENT);
  assert.deepEqual(calls.filter(Boolean), [], 'rate 1, pitch 0: no options');
  const events = await run(voice, DOCUMENT, { rate: 1.5, pitch: -2, volume: 0.5, sentencePauseMs: 120, paragraphPauseMs: 2000 });
  assert.deepEqual(calls.at(-1), { rate: 1.5, pitchSemitones: -2 });
  const audio = (es: PipelineEvent[]) => es.filter((e): e is Extract<PipelineEvent, { type: 'audio' }> => e.type === 'audio');
  const a = audio(events);
  for (let i = 1; i < a.length; i++) {
    const gap = a[i].offsetSamples - (a[i - 1].offsetSamples + a[i - 1].samples.length);
    assert.equal(gap, Math.round((i === 2 ? 2 : 0.12) * 16000), `pause before sentence ${i}`);
  }
  const b = audio(base);
  for (let i = 0; i < b[0].samples.length; i += 50) assert.ok(Math.abs(a[0].samples[i] - b[0].samples[i] / 2) < 1e-6);
  for (const bad of [{ rate: 2.5 }, { pitch: 7 }, { volume: -0.1 }, { sentencePauseMs: 6000 }, { paragraphPauseMs: Number.NaN }]) {
    await assert.rejects(run(voice, DOCUMENT, bad), /is not allowed: a number from/, JSON.stringify(bad));
  }
  await voice.release();
});

test("the summary's draft length is decode()'s: medusa's --gamma auto stops at its heads", async () => {
  const voice = await tinyVoice();
  const events = await run(voice, DOCUMENT, { strategy: 'medusa', gamma: 'auto' });
  const done = events.find((e) => e.type === 'done');
  assert.ok(done?.type === 'done');
  assert.equal(done.summary.decode.gamma, 3, 'tiny-voice has 3 medusa heads');
  assert.equal(done.summary.gamma, 'auto');
});

test("a voice's workers open the graphs of the named strategies and of the voice's default (re-readings)", async () => {
  const voice = await openVoice(TINY_VOICE, { loadSpeaker: async () => fakeSpeaker(32), workers: 2, workerStrategies: ['eagle'] });
  try {
    // tiny-voice's default strategy is early-exit.
    assert.deepEqual([...voice.pool!.roles!].sort(), ['eagle', 'exit_head', 'full', 'rest', 'trunk']);
    await voice.pool!.ready;
    const events = await run(voice, DOCUMENT, { strategy: 'eagle', gamma: 3, batchSize: 4 });
    const alone = await tinyVoice();
    try {
      const units = (es: PipelineEvent[]) => es.filter((e) => e.type === 'units').map((e) => (e.type === 'units' ? e.units : []));
      assert.deepEqual(units(events), units(await run(alone, DOCUMENT, { strategy: 'eagle', gamma: 3, batchSize: 4 })));
    } finally {
      await alone.release();
    }
  } finally {
    await voice.release();
  }
  const all = await openVoice(TINY_VOICE, { loadSpeaker: async () => fakeSpeaker(32), workers: 2 });
  assert.equal(all.pool!.roles, undefined, 'without workerStrategies the workers open every graph');
  await all.release();
});
