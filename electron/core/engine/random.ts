/**
 * Seeded randomness. Each row of a batch owns its own generator, seeded from (seed, row), and consumes
 * it in a row-local order, so a row decodes the same inside a batch as alone.
 */
import { DecodeOptionError } from '../errors.ts';

/** A uniform source on [0, 1). */
export type Uniform = () => number;

/** splitmix32: turns any 32-bit seed into well-mixed state words for sfc32. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Seeds are integers in [0, SEED_LIMIT): one 32-bit word. */
export const SEED_LIMIT = 2 ** 32;

/**
 * sfc32 (Chris Doty-Humphrey's small fast chaotic generator), 53-bit doubles from two draws.
 * Passes PractRand to 2^40 bytes; more than enough for sampling tests of 10^6 draws. A seed outside
 * [0, 2^32) or not an integer is refused, not wrapped: two different seeds never share a stream.
 */
export function seededUniform(seed: number, stream = 0): Uniform {
  if (!Number.isInteger(seed) || seed < 0 || seed >= SEED_LIMIT) throw new DecodeOptionError('seed', seed, 'an integer in [0, 2^32)');
  const mix = splitmix32((seed >>> 0) ^ Math.imul(stream + 1, 0x27d4eb2d));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32();
  return () => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53;
}
