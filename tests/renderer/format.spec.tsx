import { describe, expect, it } from 'vitest';
import { acceptanceRate, addStep, EMPTY_STATS, meanAcceptedTokens, speedupOverAr, stepView, tokensPerSecond } from '../../renderer/src/lib/decode-stats.ts';
import { decodeText, fileKind, fileProblem, toBase64 } from '../../renderer/src/lib/files.ts';
import {
  errorText,
  formatBytes,
  formatDuration,
  formatNumber,
  formatPercent,
  formatSpeedup,
  plural,
  providerLabel,
  rereadingVerdict,
  strategyLabel,
} from '../../renderer/src/lib/format.ts';
import { encodeWav } from '../../renderer/src/lib/wav.ts';
import { documentLength, documentPeaks, peaks, sentenceAt, wordAt } from '../../renderer/src/lib/waveform.ts';
import { decodeAudioFrame } from '../../renderer/src/transport/frames.ts';

describe('format', () => {
  it('says what the reading check did', () => {
    expect(rereadingVerdict({ score: 0.1, rereadings: 0, chosen: 0, chosenScore: 0.1 })).toBe('first reading passed');
    expect(rereadingVerdict({ score: 0.9, rereadings: 3, chosen: 2, chosenScore: 0.2 })).toBe('re-reading 2 of 3 spoken');
    expect(rereadingVerdict({ score: 0.9, rereadings: 1, chosen: 0, chosenScore: 0.9 })).toBe('first reading kept over 1 re-reading');
  });

  it('finds the word heard at a time: the last one started', () => {
    const words = [0.5, 0.9, 1.4, 3].map((t) => ({ startSeconds: t, endSeconds: t + 0.3 }));
    expect(wordAt(words, 0.2)).toBe(null);
    expect(wordAt(words, 0.5)).toBe(0);
    expect(wordAt(words, 1.0)).toBe(1);
    expect(wordAt(words, 2.5)).toBe(2);
    expect(wordAt(words, 99)).toBe(3);
    expect(wordAt(undefined, 1)).toBe(null);
  });

  it('shows errors in words, without class names or the IPC wrapper', () => {
    expect(errorText(new Error("Error invoking remote method 'spear:synthesize': InvalidRequestError: synthesize: invalid argument 0"))).toBe(
      'synthesize: invalid argument 0',
    );
    expect(errorText('NothingToSayError: nothing to read aloud: the text is empty')).toBe('nothing to read aloud: the text is empty');
    expect(errorText(new Error('the voice is missing'))).toBe('the voice is missing');
    expect(errorText(new Error(''))).toBe('something went wrong (no details were given)');
  });

  it('formats numbers for the UI', () => {
    expect(formatPercent(0.734)).toBe('73%');
    expect(formatPercent(undefined)).toBe('–');
    expect(formatPercent(Number.NaN)).toBe('–');
    expect(formatNumber(2.345, 2)).toBe('2.35');
    expect(formatSpeedup(2.134)).toBe('2.13×');
    expect(formatSpeedup(0)).toBe('–');
    expect(formatDuration(0)).toBe('0:00.0');
    expect(formatDuration(65.25)).toBe('1:05.3');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(14_200)).toBe('14.2 kB');
    expect(formatBytes(2_300_000)).toBe('2.3 MB');
    expect(plural(1, 'sentence')).toBe('1 sentence');
    expect(plural(3, 'sentence')).toBe('3 sentences');
    expect(strategyLabel('early-exit')).toBe('early exit');
    expect(strategyLabel('eagle')).toBe('EAGLE');
    expect(strategyLabel('layer-skip')).toBe('layer skip');
    expect(providerLabel('webgpu')).toBe('WebGPU');
  });
});

describe('decode stats', () => {
  const step = (drafted: number, accepted: number, draftMs = 1, verifyMs = 3) => ({
    type: 'step' as const,
    sentence: 0,
    step: 0,
    drafted: Array.from({ length: drafted }, (_, i) => i),
    accepted,
    token: 9,
    bonus: accepted === drafted && drafted > 0,
    emitted: accepted + 1,
    draftMs,
    verifyMs,
  });

  it('estimates α and τ like the engine (rejections count steps, not tokens)', () => {
    let s = addStep(EMPTY_STATS, step(4, 4), 0);
    expect(acceptanceRate(s)).toBe(1);
    s = addStep(s, step(4, 1), 100);
    // accepted 5, rejections 1 → 5/6
    expect(acceptanceRate(s)).toBeCloseTo(5 / 6);
    expect(meanAcceptedTokens(s)).toBe(3.5);
    expect(tokensPerSecond(s)).toBe(70);
    expect(acceptanceRate(EMPTY_STATS)).toBeUndefined();
  });

  it('takes the speedup a sweep measured for this strategy and gamma, else estimates it from step costs', () => {
    const s = addStep(addStep(EMPTY_STATS, step(4, 3, 1, 3), 0), step(4, 3, 1, 3), 100);
    expect(speedupOverAr(s, 1.36)).toEqual({ value: 1.36, measured: true });
    const estimate = speedupOverAr(s);
    expect(estimate.measured).toBe(false);
    expect(estimate.value).toBeCloseTo((4 * 6) / 8);
  });

  it('reads a step: where the first rejection fell and what the extra token was', () => {
    expect(stepView(step(4, 2))).toMatchObject({ rejectedAt: 2, tokenKind: 'replacement' });
    expect(stepView(step(4, 4))).toMatchObject({ rejectedAt: null, tokenKind: 'bonus' });
    expect(stepView(step(0, 0))).toMatchObject({ rejectedAt: null, tokenKind: 'ar' });
  });
});

describe('files', () => {
  it('accepts text files up to 1 MB and explains the rest', () => {
    expect(fileProblem({ name: 'a.txt', size: 10, type: '' })).toBeNull();
    expect(fileProblem({ name: 'notes.MD', size: 10, type: '' })).toBeNull();
    expect(fileProblem({ name: 'x', size: 10, type: 'text/plain' })).toBeNull();
    expect(fileProblem({ name: 'a.png', size: 10, type: 'image/png' })).toMatch(/not a text file/);
    expect(fileProblem({ name: 'big.txt', size: 2_500_000, type: 'text/plain' })).toMatch(/2\.4 MB.*up to 1 MB/);
    // Books and pages go to the service's importers, with their own limit.
    expect(fileKind({ name: 'book.EPUB', size: 10, type: '' })).toBe('document');
    expect(fileKind({ name: 'x', size: 10, type: 'application/pdf' })).toBe('document');
    expect(fileKind({ name: 'notes.md', size: 10, type: 'text/markdown' })).toBe('document');
    expect(fileKind({ name: 'a.txt', size: 10, type: 'text/plain' })).toBe('text');
    expect(fileProblem({ name: 'book.epub', size: 3_000_000, type: '' })).toBeNull();
    expect(fileProblem({ name: 'big.pdf', size: 6_000_000, type: '' })).toMatch(/5\.7 MB.*documents up to 5 MB/);
  });

  it('encodes bytes as base64 in chunks', () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256);
    const decoded = Uint8Array.from(atob(toBase64(bytes.buffer)), (c) => c.charCodeAt(0));
    expect(decoded).toEqual(bytes);
    expect(toBase64(new Uint8Array([104, 105]).buffer)).toBe('aGk=');
  });

  it('decodes UTF-8 (dropping a BOM) and refuses binary or other encodings', () => {
    const utf8 = new TextEncoder().encode('\uFEFFHéllo.');
    expect(decodeText('a.txt', utf8.buffer)).toEqual({ text: 'Héllo.' });
    expect(decodeText('b.txt', new Uint8Array([72, 0, 105]).buffer)).toMatchObject({ problem: expect.stringMatching(/binary/) });
    expect(decodeText('c.txt', new Uint8Array([0xe9, 0x41]).buffer)).toMatchObject({ problem: expect.stringMatching(/not UTF-8/) });
  });
});

describe('audio', () => {
  it('encodes 16-bit mono WAV', () => {
    const wav = new DataView(encodeWav(new Float32Array([0, 1, -1, 0.5]), 16000));
    const text = (o: number) => String.fromCharCode(...[0, 1, 2, 3].map((i) => wav.getUint8(o + i)));
    expect(text(0)).toBe('RIFF');
    expect(text(8)).toBe('WAVE');
    expect(wav.getUint32(4, true)).toBe(wav.byteLength - 8);
    expect(wav.getUint32(24, true)).toBe(16000);
    expect(wav.getUint32(40, true)).toBe(8);
    expect([0, 1, 2, 3].map((i) => wav.getInt16(44 + 2 * i, true))).toEqual([0, 32767, -32768, 16384]);
  });

  it('computes peaks per sentence and over the document timeline', () => {
    expect(peaks(new Float32Array([0.1, -0.2, 0.3, -0.4]), 2)).toEqual([
      { min: expect.closeTo(-0.2), max: expect.closeTo(0.1) },
      { min: expect.closeTo(-0.4), max: expect.closeTo(0.3) },
    ]);
    const audio = {
      0: { samples: new Float32Array(100).fill(0.5), sampleRate: 100, offsetSamples: 0 },
      2: { samples: new Float32Array(100).fill(-0.5), sampleRate: 100, offsetSamples: 300 },
    };
    expect(documentLength(audio)).toBe(400);
    const p = documentPeaks(audio, 4, 400);
    expect(p.map((x) => x.max)).toEqual([0.5, 0, 0, 0]);
    expect(p.map((x) => x.min)).toEqual([0, 0, 0, -0.5]);
    expect(sentenceAt(audio, 0.5)).toBe(0);
    expect(sentenceAt(audio, 3.2)).toBe(2);
  });

  it('decodes a browser-mode binary audio frame', () => {
    const header = new TextEncoder().encode(
      JSON.stringify({ kind: 'event', event: { type: 'job', jobId: 'j', t: 1, event: { type: 'audio', sentence: 2, sampleRate: 16000, offsetSamples: 7 } } }),
    );
    const start = Math.ceil((4 + header.length) / 4) * 4;
    const frame = new ArrayBuffer(start + 8);
    const view = new DataView(frame);
    view.setUint32(0, header.length, true);
    new Uint8Array(frame, 4).set(header);
    view.setFloat32(start, 0.25, true);
    view.setFloat32(start + 4, -1, true);
    const event = decodeAudioFrame(frame);
    expect(event.type === 'job' && event.event.type === 'audio' && [...event.event.samples]).toEqual([0.25, -1]);
    expect(event).toMatchObject({ jobId: 'j', event: { sentence: 2, offsetSamples: 7 } });
  });
});
