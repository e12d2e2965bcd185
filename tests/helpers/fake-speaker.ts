/** A stand-in speaking stage for pipeline tests: each unit becomes 40 ms of a tone whose pitch is the unit. */
import type { SpeakerLike } from '../../electron/core/pipeline/voice.ts';

export function fakeSpeaker(unitCount: number, options: { delayMs?: number } = {}): SpeakerLike & { calls: number[][] } {
  const sampleRate = 16000;
  const unitRate = 25;
  const perUnit = sampleRate / unitRate;
  const calls: number[][] = [];
  return {
    sampleRate,
    unitRate,
    unitCount,
    calls,
    fromCodebook: (units) => [...units],
    async speak(units) {
      calls.push([...units]);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const out = new Float32Array(units.length * perUnit);
      units.forEach((u, i) => {
        for (let t = 0; t < perUnit; t++) out[i * perUnit + t] = 0.3 * Math.sin((2 * Math.PI * (200 + 20 * u) * t) / sampleRate);
      });
      return out;
    },
    async release() {},
  };
}
