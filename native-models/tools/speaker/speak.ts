/**
 * Speaks unit sequences with the app's speaking stage (electron/core/pipeline/speaker.ts), one thread, and
 * reports how long it took. Used by research/resynth.py; also a quick way to listen to units.
 *
 *   node --import tsx native-models/tools/speaker/speak.ts SPEAKER_DIR UNITS.jsonl OUT_DIR
 *
 * UNITS.jsonl lines are {"id": ..., "units": [...]}; writes OUT_DIR/<id>.wav and prints one JSON line
 * of timings (seconds of audio, network seconds, vocoder seconds; for a waveform speaker, the graph is the
 * whole speaker, and first_chunk_s is the mean time to a sentence's first window of audio).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sourceFilter } from '../../../electron/core/audio/dsp/source-filter.ts';
import { encodeWav } from '../../../electron/core/audio/wav.ts';
import { loadSpeaker } from '../../../electron/core/pipeline/speaker.ts';

const [dir, unitsFile, outDir] = process.argv.slice(2);
if (!dir || !unitsFile || !outDir) {
  console.error('usage: speak.ts SPEAKER_DIR UNITS.jsonl OUT_DIR');
  process.exit(2);
}
const speaker = await loadSpeaker(dir, { threads: 1 });
const rows = (await readFile(unitsFile, 'utf8'))
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { id: string; units: number[] });
await mkdir(outDir, { recursive: true });
await speaker.speak(rows[0]?.units.slice(0, 10) ?? [0]); // warm-up: the first run pays ONNX Runtime's set-up
const m = speaker.manifest;
const sourceFilterVocoder = m.vocoder.kind === 'source-filter' ? m.vocoder : null;
let audioSeconds = 0;
let speakSeconds = 0;
let networkSeconds = 0;
let firstChunkSeconds = 0;
for (const row of rows) {
  const t0 = performance.now();
  const audio = await speaker.speak(row.units);
  speakSeconds += (performance.now() - t0) / 1000;
  audioSeconds += audio.length / speaker.sampleRate;
  if (sourceFilterVocoder) {
    const t1 = performance.now();
    await speaker.frames(row.units);
    networkSeconds += (performance.now() - t1) / 1000;
  } else {
    const t1 = performance.now();
    await speaker.speakChunks(row.units).next();
    firstChunkSeconds += (performance.now() - t1) / 1000;
  }
  await writeFile(path.join(outDir, `${row.id}.wav`), encodeWav(audio, speaker.sampleRate));
}
// the vocoder alone, on the frames of the last row, to split the cost
const last = rows.at(-1);
let vocoderShare = 0;
if (last && sourceFilterVocoder) {
  const vocoder = {
    geometry: { sampleRate: m.sample_rate, hop: m.features.hop, win: m.features.win, nFft: m.features.n_fft },
    aperiodicFloor: sourceFilterVocoder.aperiodic_floor,
    aperiodicStartHz: sourceFilterVocoder.aperiodic_start_hz,
    aperiodicTop: sourceFilterVocoder.aperiodic_top,
  };
  const frames = await speaker.frames(last.units);
  const t = performance.now();
  sourceFilter({ data: frames, frameCount: last.units.length * m.frames_per_unit, nMels: m.features.n_mels }, vocoder);
  vocoderShare = (performance.now() - t) / 1000 / (last.units.length / speaker.unitRate);
}
await speaker.release();
console.log(
  JSON.stringify({
    sentences: rows.length,
    audio_s: audioSeconds,
    speak_s: speakSeconds,
    speak_rtf: speakSeconds / audioSeconds,
    ...(sourceFilterVocoder
      ? { network_rtf: networkSeconds / audioSeconds, vocoder_rtf_last: vocoderShare }
      : { first_chunk_s: firstChunkSeconds / Math.max(1, rows.length) }),
  }),
);
