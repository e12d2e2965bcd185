/**
 * Vocodes feature files (written by spear_voice/speaker/features.py `write_feature_file`) into 16 kHz WAV files, with
 * the TypeScript vocoders the app runs. Used by the oracle vocoder comparison (research/oracle.py) and research/compare_rates.py.
 *
 *   node --import tsx native-models/tools/speaker/vocode.ts --vocoder source-filter|griffin-lim IN_DIR OUT_DIR
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { griffinLim } from '../../../electron/core/audio/dsp/griffin-lim.ts';
import { sourceFilter } from '../../../electron/core/audio/dsp/source-filter.ts';
import type { VocoderFrames } from '../../../electron/core/audio/dsp/features.ts';
import { encodeWav } from '../../../electron/core/audio/wav.ts';

function readFeatureFile(bytes: Buffer): VocoderFrames {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frameCount = view.getInt32(0, true);
  const width = view.getInt32(4, true);
  const data = new Float32Array(frameCount * width);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(8 + 4 * i, true);
  return { data, frameCount, nMels: width - 2 };
}

const args = process.argv.slice(2);
const at = args.indexOf('--vocoder');
const vocoder = at >= 0 ? args.splice(at, 2)[1] : 'source-filter';
const [inDir, outDir] = args;
if (!inDir || !outDir || !['source-filter', 'griffin-lim'].includes(vocoder)) {
  console.error('usage: vocode.ts --vocoder source-filter|griffin-lim IN_DIR OUT_DIR');
  process.exit(2);
}
await mkdir(outDir, { recursive: true });
let seconds = 0;
let busy = 0;
for (const name of (await readdir(inDir)).filter((n) => n.endsWith('.feat')).sort()) {
  const frames = readFeatureFile(await readFile(path.join(inDir, name)));
  const start = performance.now();
  const audio = vocoder === 'griffin-lim' ? griffinLim(frames) : sourceFilter(frames);
  busy += (performance.now() - start) / 1000;
  seconds += audio.length / 16000;
  let peak = 0;
  for (const v of audio) peak = Math.max(peak, Math.abs(v));
  if (peak > 0.99) for (let i = 0; i < audio.length; i++) audio[i] *= 0.99 / peak;
  await writeFile(path.join(outDir, name.replace(/\.feat$/, '.wav')), encodeWav(audio, 16000));
}
console.log(`${vocoder}: ${seconds.toFixed(1)} s of audio in ${busy.toFixed(2)} s (RTF ${(busy / seconds).toFixed(4)})`);
