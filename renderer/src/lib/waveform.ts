/** Waveform peaks for the SVG previews. */

export interface SentenceAudio {
  samples: Float32Array;
  sampleRate: number;
  offsetSamples: number;
}

/** Min/max of each of `buckets` equal slices of `samples` (an empty slice gives 0, 0). */
export function peaks(samples: Float32Array, buckets: number): { min: number; max: number }[] {
  const out: { min: number; max: number }[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * samples.length) / buckets);
    const to = Math.floor(((b + 1) * samples.length) / buckets);
    let min = 0;
    let max = 0;
    for (let i = from; i < to; i++) {
      const v = samples[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    out.push({ min, max });
  }
  return out;
}

/** Length of the document's audio so far, in samples (the end of the last sentence that has audio). */
export function documentLength(audio: Record<number, SentenceAudio>): number {
  let end = 0;
  for (const a of Object.values(audio)) end = Math.max(end, a.offsetSamples + a.samples.length);
  return end;
}

/** Samples per fine bucket of a sentence's cached peaks (5 ms at 16 kHz). */
export const FINE_BUCKET = 80;
const fineCache = new WeakMap<Float32Array, { min: Float32Array; max: Float32Array }>();

/** A sentence's min/max per FINE_BUCKET samples, computed once per samples array. */
function finePeaks(samples: Float32Array): { min: Float32Array; max: Float32Array } {
  let cached = fineCache.get(samples);
  if (!cached) {
    const n = Math.ceil(samples.length / FINE_BUCKET);
    cached = { min: new Float32Array(n), max: new Float32Array(n) };
    for (let b = 0; b < n; b++) {
      let min = 0;
      let max = 0;
      for (let i = b * FINE_BUCKET, end = Math.min(samples.length, i + FINE_BUCKET); i < end; i++) {
        const v = samples[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      cached.min[b] = min;
      cached.max[b] = max;
    }
    fineCache.set(samples, cached);
  }
  return cached;
}

/**
 * Peaks over the whole document's timeline of `totalSamples`; sentences not decoded yet stay flat.
 * Each sentence's peaks are cached at a fine resolution, so a new sentence costs its own samples once
 * and the document redraw costs only the fine buckets.
 */
export function documentPeaks(audio: Record<number, SentenceAudio>, buckets: number, totalSamples: number): { min: number; max: number }[] {
  const out = Array.from({ length: buckets }, () => ({ min: 0, max: 0 }));
  if (totalSamples <= 0) return out;
  for (const a of Object.values(audio)) {
    const fine = finePeaks(a.samples);
    for (let f = 0; f < fine.min.length; f++) {
      const b = Math.min(buckets - 1, Math.floor(((a.offsetSamples + f * FINE_BUCKET) * buckets) / totalSamples));
      if (fine.min[f] < out[b].min) out[b].min = fine.min[f];
      if (fine.max[f] > out[b].max) out[b].max = fine.max[f];
    }
  }
  return out;
}

/** An SVG path of vertical bars, one per peak, in a box of width × height centred on height/2. */
export function peaksPath(p: readonly { min: number; max: number }[], width: number, height: number): string {
  if (p.length === 0) return '';
  const step = width / p.length;
  const mid = height / 2;
  const parts: string[] = [];
  p.forEach(({ min, max }, i) => {
    const x = (i + 0.5) * step;
    const top = mid - Math.max(max, 0.01) * mid;
    const bottom = mid - Math.min(min, -0.01) * mid;
    parts.push(`M${x.toFixed(1)} ${top.toFixed(1)}V${bottom.toFixed(1)}`);
  });
  return parts.join('');
}

/** Which sentence is heard at `seconds` into the document (the last one starting at or before it). */
export function sentenceAt(audio: Record<number, SentenceAudio>, seconds: number): number | null {
  let best: number | null = null;
  let bestStart = -1;
  for (const [key, a] of Object.entries(audio)) {
    const start = a.offsetSamples / a.sampleRate;
    if (start <= seconds + 1e-9 && start > bestStart) {
      best = Number(key);
      bestStart = start;
    }
  }
  return best;
}

/** The index of the word heard at `seconds` (the last one started by then), or null before the first. */
export function wordAt(words: ReadonlyArray<{ startSeconds: number; endSeconds: number }> | undefined, seconds: number): number | null {
  if (!words || words.length === 0 || seconds < words[0].startSeconds) return null;
  let lo = 0;
  let hi = words.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (words[mid].startSeconds <= seconds) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
