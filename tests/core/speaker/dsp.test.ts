/**
 * The TypeScript DSP of the speaking stage: FFT, overlap-add, the mel twin of features.py, and the
 * source–filter vocoder's levels and pitch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fft } from '../../../electron/core/audio/dsp/fft.ts';
import { bandToBin, logMel, melFilterbank } from '../../../electron/core/audio/dsp/mel.ts';
import { resample } from '../../../electron/core/audio/dsp/resample.ts';
import { sourceFilter } from '../../../electron/core/audio/dsp/source-filter.ts';
import { DEFAULT_GEOMETRY as G, hann, loadFrame, OverlapAdd } from '../../../electron/core/audio/dsp/stft.ts';
import { stretchFrames, stretchedLength } from '../../../electron/core/audio/dsp/stretch.ts';

const sine = (freq: number, amplitude: number, length: number): Float32Array =>
  Float32Array.from({ length }, (_, n) => amplitude * Math.sin((2 * Math.PI * freq * n) / G.sampleRate));

const rms = (x: Float32Array, from = 0, to = x.length): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
};

test('FFT equals the naive DFT and inverts exactly', () => {
  const n = 64;
  const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + (i % 5) * 0.1);
  const im = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
  const [re0, im0] = [re.slice(), im.slice()];
  new Fft(n).forward(re, im);
  for (const k of [0, 1, 7, 33, 63]) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      sr += re0[t] * Math.cos(a) - im0[t] * Math.sin(a);
      si += re0[t] * Math.sin(a) + im0[t] * Math.cos(a);
    }
    assert.ok(Math.abs(re[k] - sr) < 1e-9 && Math.abs(im[k] - si) < 1e-9, `bin ${k}`);
  }
  new Fft(n).inverse(re, im);
  for (let t = 0; t < n; t++) assert.ok(Math.abs(re[t] - re0[t]) < 1e-12 && Math.abs(im[t] - im0[t]) < 1e-12);
  assert.throws(() => new Fft(48), RangeError);
});

test('windowed analysis then overlap-add returns the signal', () => {
  const x = sine(300, 0.7, 40 * G.hop);
  const ola = new OverlapAdd(40, G);
  const re = new Float64Array(G.nFft);
  const im = new Float64Array(G.nFft);
  const w = hann(G.win);
  for (let t = 0; t < 40; t++) {
    loadFrame(x, t, G, w, re, im);
    ola.add(t, re);
  }
  const y = ola.finish();
  assert.equal(y.length, x.length);
  for (let n = 0; n < y.length; n++) assert.ok(Math.abs(y[n] - x[n]) < 1e-6, `sample ${n}`);
});

test('mel filterbank and log-mel match the Python twin (features.py), pinned values', () => {
  const bank = melFilterbank(40, G);
  const sums = [0, 1, 20, 39].map((b) => bank[b].reduce((s, v) => s + v, 0));
  const python = [1.3201105563120556, 1.6741048478393832, 5.032242100335428, 16.091695149054345];
  sums.forEach((s, i) => assert.ok(Math.abs(s - python[i]) < 1e-9, `band sum ${i}: ${s} vs ${python[i]}`));
  const lm = logMel(sine(440, 0.5, 3200), 40, G);
  const pyFrame10 = [-8.937089920043945, 0.47730642557144165, 6.16159200668335, -23.025850296020508];
  [0, 5, 8, 39].forEach((b, i) => assert.ok(Math.abs(lm[10 * 40 + b] - pyFrame10[i]) < 1e-3, `band ${b}: ${lm[10 * 40 + b]}`));
});

test('at 24 kHz (hop 240, Hann 600, FFT 1024, 46 bands to 12 kHz) too, pinned values of features.py', () => {
  const G24 = { sampleRate: 24000, hop: 240, win: 600, nFft: 1024 };
  const bank = melFilterbank(46, G24);
  const sums = [0, 1, 23, 45].map((b) => bank[b].reduce((s, v) => s + v, 0));
  const python = [1.93221300152387, 2.08691542651726, 8.097153577122366, 31.430258524913963];
  sums.forEach((s, i) => assert.ok(Math.abs(s - python[i]) < 1e-9, `band sum ${i}: ${s} vs ${python[i]}`));
  // 440 Hz and a quieter 10 kHz tone: band 43 (centred on 9.9 kHz) sees the second, which a 16 kHz analysis cannot.
  const x = Float32Array.from({ length: 4800 }, (_, n) => 0.5 * Math.sin((2 * Math.PI * 440 * n) / 24000) + 0.05 * Math.sin((2 * Math.PI * 10000 * n) / 24000));
  const lm = logMel(x, 46, G24);
  assert.equal(lm.length, 20 * 46);
  const pyFrame10 = [-8.272966384887695, 1.6096495389938354, 7.050807952880859, 4.726614475250244, -14.601027488708496];
  [0, 5, 8, 43, 45].forEach((b, i) => assert.ok(Math.abs(lm[10 * 46 + b] - pyFrame10[i]) < 1e-3, `band ${b}: ${lm[10 * 46 + b]}`));
});

/** Frames with the same log-mel row, log f0 and voicing everywhere. */
function constantFrames(logMelRow: ArrayLike<number>, f0: number, voiced: boolean, frameCount: number): Float32Array {
  const nMels = logMelRow.length;
  const data = new Float32Array(frameCount * (nMels + 2));
  for (let t = 0; t < frameCount; t++) {
    data.set(logMelRow, t * (nMels + 2));
    data[t * (nMels + 2) + nMels] = Math.log(f0);
    data[t * (nMels + 2) + nMels + 1] = voiced ? 1 : 0;
  }
  return data;
}

test('source-filter: a flat envelope of density D gives output power D / Σw² (unvoiced and voiced)', () => {
  const nMels = 40;
  const map = bandToBin(nMels, G);
  const density = 1e-2;
  const row = Float64Array.from(map.logWeight, (lw) => Math.log(density) + lw);
  const windowPower = hann(G.win).reduce((s, w) => s + w * w, 0);
  const expected = Math.sqrt(density / windowPower);
  for (const voiced of [false, true]) {
    const y = sourceFilter({ data: constantFrames(row, 150, voiced, 200), frameCount: 200, nMels });
    assert.equal(y.length, 200 * G.hop);
    const level = rms(y, 2000, y.length - 2000);
    assert.ok(Math.abs(level / expected - 1) < 0.1, `${voiced ? 'voiced' : 'unvoiced'}: rms ${level} vs ${expected}`);
  }
});

test('source-filter resynthesises a sinusoid: its frame energy and its pitch', () => {
  const x = sine(440, 0.5, 100 * G.hop);
  const nMels = 40;
  const lm = logMel(x, nMels, G);
  const data = new Float32Array(100 * (nMels + 2));
  for (let t = 0; t < 100; t++) {
    data.set(lm.subarray(t * nMels, (t + 1) * nMels), t * (nMels + 2));
    data[t * (nMels + 2) + nMels] = Math.log(440);
    data[t * (nMels + 2) + nMels + 1] = 1;
  }
  const y = sourceFilter({ data, frameCount: 100, nMels });
  // per-frame energy within 1.5 dB of the sine's in the steady middle
  const yMel = logMel(y, nMels, G);
  for (const t of [30, 50, 70]) {
    let ex = 0;
    let ey = 0;
    for (let b = 0; b < nMels; b++) {
      ex += Math.exp(lm[t * nMels + b]);
      ey += Math.exp(yMel[t * nMels + b]);
    }
    const db = 10 * Math.log10(ey / ex);
    assert.ok(Math.abs(db) < 1.5, `frame ${t}: ${db.toFixed(2)} dB`);
  }
  // the strongest autocorrelation lag in 20…60 samples is the period 16000/440 ≈ 36.4
  let best = 0;
  let bestLag = 0;
  for (let lag = 20; lag <= 60; lag++) {
    let s = 0;
    for (let n = 4000; n < 12000; n++) s += y[n] * y[n + lag];
    if (s > best) [best, bestLag] = [s, lag];
  }
  assert.ok(Math.abs(bestLag - 16000 / 440) <= 1, `period ${bestLag}`);
});

/** The strongest autocorrelation lag of y[from, to) among 40 … 120 samples (a pitch period at 16 kHz, below its double). */
function period(y: Float32Array, from: number, to: number): number {
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = 40; lag <= 120; lag++) {
    let s = 0;
    for (let n = from; n < to; n++) s += y[n] * y[n + lag];
    if (s > best) [best, bestLag] = [s, lag];
  }
  return bestLag;
}

/** 100 frames of a 200 Hz voiced tone whose loudness ramps up, then 20 unvoiced frames. */
function toneFrames(nMels = 40): { data: Float32Array; frameCount: number; nMels: number } {
  const T = 120;
  const data = new Float32Array(T * (nMels + 2));
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nMels; b++) data[t * (nMels + 2) + b] = -8 + (4 * t) / T - b / 20;
    data[t * (nMels + 2) + nMels] = Math.log(200);
    data[t * (nMels + 2) + nMels + 1] = t < 100 ? 1 : 0;
  }
  return { data, frameCount: T, nMels };
}

test('stretch: rate r gives round(T / r) frames, samples the input in order, keeps voicing edges', () => {
  const frames = toneFrames();
  const D = frames.nMels + 2;
  assert.equal(stretchFrames(frames), frames, 'rate 1, pitch 0: unchanged');
  for (const rate of [0.5, 0.75, 1.5, 2]) {
    const out = stretchFrames(frames, { rate });
    assert.equal(out.frameCount, stretchedLength(120, rate));
    assert.equal(out.frameCount, Math.round(120 / rate));
    // The loudness ramp is monotone in the output too, and spans the same range.
    for (let j = 1; j < out.frameCount; j++) assert.ok(out.data[j * D] >= out.data[(j - 1) * D] - 1e-6);
    assert.ok(Math.abs(out.data[0] - frames.data[0]) < 0.05 * rate);
    // The voiced share of frames is kept: 100 of 120.
    let voiced = 0;
    for (let j = 0; j < out.frameCount; j++) voiced += out.data[j * D + frames.nMels + 1];
    assert.ok(Math.abs(voiced / out.frameCount - 100 / 120) < 0.02, `rate ${rate}: ${voiced}/${out.frameCount} voiced`);
  }
  assert.throws(() => stretchFrames(frames, { rate: 0 }), RangeError);
});

test('stretch + source-filter: a faster rate keeps the pitch; a pitch shift moves it by 2^(s/12)', () => {
  const frames = toneFrames();
  const base = sourceFilter(frames);
  const fast = sourceFilter(stretchFrames(frames, { rate: 1.5 }));
  const up = sourceFilter(stretchFrames(frames, { pitchSemitones: 5 }));
  assert.equal(base.length, 120 * G.hop);
  assert.equal(fast.length, 80 * G.hop);
  const p0 = period(base, 2000, 8000);
  assert.ok(Math.abs(p0 - 80) <= 1, `200 Hz is an 80-sample period, got ${p0}`);
  assert.ok(Math.abs(period(fast, 1500, 5000) - p0) <= 1, 'the pitch is kept at rate 1.5');
  const expected = 80 / 2 ** (5 / 12);
  assert.ok(Math.abs(period(up, 2000, 8000) - expected) <= 1, `up 5 semitones: period ${period(up, 2000, 8000)} vs ${expected.toFixed(1)}`);
});

test('resample 24 → 16 kHz: a 1 kHz tone is the 16 kHz tone, a 10 kHz one is gone; the same rate is the input', () => {
  const tone = (hz: number, rate: number): Float32Array => Float32Array.from({ length: rate }, (_, n) => 0.5 * Math.sin((2 * Math.PI * hz * n) / rate));
  const low = resample(tone(1000, 24000), 24000, 16000);
  assert.equal(low.length, 16000);
  const expected = tone(1000, 16000);
  for (let n = 100; n < 15900; n++) assert.ok(Math.abs(low[n] - expected[n]) < 1e-4, `sample ${n}: ${low[n]} vs ${expected[n]}`);
  const high = resample(tone(10000, 24000), 24000, 16000);
  assert.ok(rms(high, 100, 15900) < 1e-3 * rms(tone(10000, 24000)), `10 kHz left at rms ${rms(high, 100, 15900)}`);
  assert.equal(resample(tone(1000, 22050), 22050, 16000).length, Math.round((22050 * 16000) / 22050));
  const same = tone(440, 16000);
  assert.equal(resample(same, 16000, 16000), same);
  assert.throws(() => resample(same, 0, 16000), RangeError);
});
