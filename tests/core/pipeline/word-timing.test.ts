import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { phonemeIds } from '../../../electron/core/text/index.ts';
import { assignSpokenWords, sentenceWordTimings, spokenWordSpans, wordUnitSpans, writtenTokens } from '../../../electron/core/pipeline/word-timing.ts';
import { formatSubtitles, subtitleFormatOf, timestamp } from '../../../electron/core/pipeline/subtitles.ts';
import type { PipelineEvent } from '../../../electron/core/pipeline/events.ts';
import { synthesize } from '../../../electron/core/pipeline/synthesize.ts';
import { openVoice } from '../../../electron/core/pipeline/voice.ts';
import { fakeSpeaker } from '../../helpers/fake-speaker.ts';
import { TINY_VOICE } from '../../helpers/fixtures.ts';

test('spoken words are the phone runs between boundaries and pauses', () => {
  // _ = 0, <,> = 1; phones are ids ≥ 5.
  assert.deepEqual(spokenWordSpans([5, 6, 0, 7, 1, 8, 9, 10]), [
    [0, 2],
    [3, 4],
    [5, 8],
  ]);
  assert.deepEqual(spokenWordSpans([]), []);
  assert.equal(spokenWordSpans(phonemeIds('The year 1999, in Paris.')).length, 7);
});

test('written tokens say as many words as they read: "1999" three, "—" none', () => {
  const tokens = writtenTokens('In 1999 — Dr. Smith left.', 10);
  assert.deepEqual(
    tokens.map((t) => [t.text, t.start, t.spoken]),
    [
      ['In', 10, 1],
      ['1999', 13, 3],
      ['—', 18, 0],
      ['Dr.', 20, 1],
      ['Smith', 24, 1],
      ['left.', 30, 1],
    ],
  );
});

test('spoken words go to tokens in order; exactly when the counts agree, in proportion when not', () => {
  assert.deepEqual(assignSpokenWords([1, 3, 0, 1], 5), [
    [0, 1],
    [1, 4],
    [4, 4],
    [4, 5],
  ]);
  const shared = assignSpokenWords([1, 1, 1, 1], 6);
  assert.deepEqual(shared.at(-1)![1], 6);
  for (let i = 1; i < shared.length; i++) assert.equal(shared[i][0], shared[i - 1][1]);
});

test('word spans from an alignment run to the next word, or end after a pause; without one, in proportion to phones', () => {
  const ids = [5, 6, 0, 7, 1, 8, 9];
  const alignment: Array<[number, number] | null> = [[0, 1], [2, 3], null, [4, 5], null, [12, 13], [14, 15]];
  assert.deepEqual(wordUnitSpans(ids, 20, alignment), [
    [0, 4],
    [4, 8],
    [12, 18],
  ]);
  const proportional = wordUnitSpans(ids, 10, null);
  // 2 + 1 + 2 phones, one pause (the comma) counted as a phone, no weight for the plain boundary: 6 parts.
  assert.deepEqual(
    proportional.map(([a, b]) => [+a.toFixed(3), +b.toFixed(3)]),
    [
      [0, 3.333],
      [3.333, 5],
      [6.667, 10],
    ],
  );
});

test('sentence timings: written words with times inside the sentence audio, in order', () => {
  const text = 'It cost 12 dollars, sadly.';
  const ids = phonemeIds(text);
  const words = sentenceWordTimings({ text, start: 100, phonemeIds: ids, unitCount: 50, alignment: null, offsetSeconds: 3, durationSeconds: 2 });
  assert.deepEqual(
    words.map((w) => w.text),
    ['It', 'cost', '12', 'dollars,', 'sadly.'],
  );
  assert.equal(words[2].start, 108);
  for (let i = 0; i < words.length; i++) {
    assert.ok(words[i].startSeconds >= 3 && words[i].endSeconds <= 5 + 1e-9 && words[i].startSeconds < words[i].endSeconds);
    if (i > 0) assert.ok(words[i].startSeconds >= words[i - 1].endSeconds - 1e-9);
  }
});

test("the pipeline emits each sentence's words after its audio; they cover its written words", async () => {
  const voice = await openVoice(TINY_VOICE, { loadSpeaker: async () => fakeSpeaker(32) });
  const text = 'One small step. Then 2 more!\n\nA new paragraph here.';
  const events: PipelineEvent[] = [];
  await synthesize(voice, text, {}, { onEvent: (e) => events.push(e) });
  const words = events.filter((e): e is Extract<PipelineEvent, { type: 'words' }> => e.type === 'words');
  assert.deepEqual(
    words.map((w) => w.sentence),
    [0, 1, 2],
  );
  for (const w of words) {
    const audioAt = events.findIndex((e) => e.type === 'audio' && e.sentence === w.sentence);
    assert.ok(audioAt >= 0 && audioAt < events.indexOf(w));
    const audio = events[audioAt] as Extract<PipelineEvent, { type: 'audio' }>;
    for (const word of w.words) {
      assert.equal(text.slice(word.start, word.end), word.text);
      assert.ok(word.startSeconds >= audio.offsetSamples / 16000 - 1e-9 && word.endSeconds <= (audio.offsetSamples + audio.samples.length) / 16000 + 1e-9);
    }
  }
  assert.deepEqual(
    words.flatMap((w) => w.words.map((x) => x.text)),
    ['One', 'small', 'step.', 'Then', '2', 'more!', 'A', 'new', 'paragraph', 'here.'],
  );
  const none: PipelineEvent[] = [];
  await synthesize(voice, text, {}, { onEvent: (e) => none.push(e), wordTimings: false });
  assert.equal(none.filter((e) => e.type === 'words').length, 0);
  await voice.release();
});

test('subtitles: a cue per word, WebVTT and SubRip, no overlaps, text made safe; ffmpeg reads both', async () => {
  const words = [
    { text: 'Hello', start: 0, end: 5, startSeconds: 0.1, endSeconds: 0.5 },
    { text: 'a<b>&c', start: 6, end: 12, startSeconds: 0.45, endSeconds: 0.9 },
    { text: 'end.', start: 13, end: 17, startSeconds: 3661.5, endSeconds: 3661.5 },
  ];
  const vtt = formatSubtitles(words, 'vtt');
  assert.equal(
    vtt,
    'WEBVTT\n\n00:00:00.100 --> 00:00:00.450\nHello\n\n00:00:00.450 --> 00:00:00.900\na&lt;b&gt;&amp;c\n\n01:01:01.500 --> 01:01:01.501\nend.\n',
  );
  const srt = formatSubtitles(words, 'srt');
  assert.match(srt, /^1\n00:00:00,100 --> 00:00:00,450\nHello\n\n2\n/);
  assert.equal(timestamp(59.9996, ','), '00:01:00,000');
  assert.equal(subtitleFormatOf('x.SRT'), 'srt');
  assert.throws(() => subtitleFormatOf('x.txt'), /unknown subtitle extension "\.txt"; use \.vtt or \.srt/);
  if (spawnSync('ffmpeg', ['-version']).status !== 0) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-subs-'));
  for (const [name, body] of [
    ['a.vtt', vtt],
    ['a.srt', srt],
  ]) {
    await writeFile(path.join(dir, name), body);
    const ff = spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, name), '-f', 'srt', '-']);
    assert.equal(ff.status, 0, String(ff.stderr));
    assert.equal((String(ff.stdout).match(/-->/g) ?? []).length, 3, name);
  }
});
