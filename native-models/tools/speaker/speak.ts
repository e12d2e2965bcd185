/**
 * Speaks unit sequences with the app's speaking stage (electron/core/pipeline/speaker.ts), one thread, and
 * reports how long it took. Used by research/resynth.py; also a quick way to listen to units.
 *
 *   node --import tsx native-models/tools/speaker/speak.ts SPEAKER_DIR UNITS.jsonl OUT_DIR
 *
 * UNITS.jsonl lines are {"id": ..., "units": [...]}; writes OUT_DIR/<id>.wav and prints one JSON line
 * of timings (seconds of audio, network seconds, vocoder seconds).
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
const vocoder = {
  geometry: { sampleRate: m.sample_rate, hop: m.features.hop, win: m.features.win, nFft: m.features.n_fft },
  aperiodicFloor: m.vocoder.aperiodic_floor,
  aperiodicStartHz: m.vocoder.aperiodic_start_hz,
  aperiodicTop: m.vocoder.aperiodic_top,
};
let audioSeconds = 0;
let speakSeconds = 0;
let networkSeconds = 0;
for (const row of rows) {
  const t0 = performance.now();
  const audio = await speaker.speak(row.units);
  speakSeconds += (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const frames = await speaker.frames(row.units);
  networkSeconds += (performance.now() - t1) / 1000;
  audioSeconds += audio.length / speaker.sampleRate;
  void frames;
  await writeFile(path.join(outDir, `${row.id}.wav`), encodeWav(audio, speaker.sampleRate));
}
// the vocoder alone, on the frames of the last row, to split the cost
const last = rows.at(-1);
let vocoderShare = 0;
if (last) {
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
    network_rtf: networkSeconds / audioSeconds,
    vocoder_rtf_last: vocoderShare,
  }),
);
