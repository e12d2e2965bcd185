/**
 * A speaker whose audio is not 16 kHz: the rate comes from its speaker.json and reaches every consumer.
 * tests/fixtures/tiny-speaker-24k is a random 24 kHz speaker of tiny-voice's units, exported by the
 * speaker's own exporter (native-models/make_fixtures.py --speaker-24k).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AudioFileWriter } from '../../../electron/core/audio/write.ts';
import type { PipelineEvent } from '../../../electron/core/pipeline/events.ts';
import { loadSpeaker } from '../../../electron/core/pipeline/speaker.ts';
import { PAUSE_SECONDS, synthesize } from '../../../electron/core/pipeline/synthesize.ts';
import { openVoice } from '../../../electron/core/pipeline/voice.ts';
import { FIXTURES, TINY_VOICE } from '../../helpers/fixtures.ts';
import { bandShare } from '../../helpers/spectrum.ts';

const SPEAKER_24K = path.join(FIXTURES, 'tiny-speaker-24k');

test('a 24 kHz speaker: 960 samples per unit, and audio above 8 kHz', async () => {
  const speaker = await loadSpeaker(SPEAKER_24K);
  try {
    assert.equal(speaker.sampleRate, 24000);
    assert.equal(speaker.unitRate, 25);
    assert.equal(speaker.samplesPerUnit, 960);
    const audio = await speaker.speak(Array.from({ length: 10 }, (_, i) => (i * 7) % speaker.unitCount));
    assert.equal(audio.length, 10 * 960);
    // A 16 kHz vocoder (or one that ignored the manifest's geometry) has nothing above its 8 kHz Nyquist.
    assert.ok(bandShare(audio, 24000, (f) => f > 8500, 0, Math.min(audio.length, 4800)) > 1e-3, 'no energy above 8.5 kHz');
  } finally {
    await speaker.release();
  }
});

test('a voice with a 24 kHz speaker streams 24 kHz audio events and writes a 24 kHz WAV', async () => {
  const voice = await openVoice(TINY_VOICE, { loadSpeaker: (_dir, options) => loadSpeaker(SPEAKER_24K, options) });
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-24k-'));
  try {
    const target = path.join(dir, 'out.wav');
    // What `spear synth` does: one writer at the speaker's rate, each sentence's audio at its offset.
    const writer = await AudioFileWriter.create(target, voice.speaker.sampleRate);
    const events: PipelineEvent[] = [];
    let written = 0;
    await synthesize(
      voice,
      'One short sentence. And a second one.',
      {},
      {
        onEvent: (event) => {
          events.push(event);
          if (event.type !== 'audio') return;
          if (event.offsetSamples > written) void writer.write(new Float32Array(event.offsetSamples - written));
          void writer.write(event.samples);
          written = event.offsetSamples + event.samples.length;
        },
      },
    );
    await writer.finish();
    const audio = events.filter((e): e is Extract<PipelineEvent, { type: 'audio' }> => e.type === 'audio');
    const units = events.filter((e): e is Extract<PipelineEvent, { type: 'units' }> => e.type === 'units');
    assert.equal(audio.length, 2);
    for (const a of audio) {
      assert.equal(a.sampleRate, 24000);
      assert.equal(a.samples.length, units.find((u) => u.sentence === a.sentence)!.units.length * 960);
    }
    // The pause between sentences is counted in 24 kHz samples.
    assert.equal(audio[1].offsetSamples - audio[0].samples.length, Math.round(PAUSE_SECONDS.sentence * 24000));
    const done = events.at(-1);
    assert.ok(done?.type === 'done');
    assert.ok(Math.abs(done.summary.audioSeconds - written / 24000) < 1e-6, `${done.summary.audioSeconds} s vs ${written / 24000} s`);

    const wav = await readFile(target);
    assert.equal(wav.toString('ascii', 8, 12), 'WAVE');
    assert.equal(wav.readUInt32LE(24), 24000, 'sample rate');
    assert.equal(wav.readUInt32LE(28), 48000, 'byte rate');
    assert.equal(wav.readUInt32LE(40), written * 2, 'data bytes');
  } finally {
    await voice.release();
    await rm(dir, { recursive: true, force: true });
  }
});
