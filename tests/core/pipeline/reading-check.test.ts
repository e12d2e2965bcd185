/**
 * The reading check (electron/core/pipeline/reading-check.ts): the CTC score equals the sum over every
 * alignment, the shipped checker matches PyTorch, tells a recording's own phones from other phones,
 * and a broken file names itself.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { CheckerLoadError, ctcAlign, ctcNegativeLogLikelihood, loadReadingCheck } from '../../../electron/core/pipeline/reading-check.ts';

const DIR = 'native-models/voice/checker';

/** -log Σ over all C^T frame paths that collapse (merge repeats, drop blanks) to `labels`. */
function bruteForce(logProbs: Float32Array, T: number, C: number, labels: number[], blank: number): number {
  let total = 0;
  const path = new Array<number>(T).fill(0);
  for (let code = 0; code < C ** T; code++) {
    let c = code;
    for (let t = 0; t < T; t++) {
      path[t] = c % C;
      c = Math.floor(c / C);
    }
    const collapsed = path.filter((p, t) => p !== blank && (t === 0 || p !== path[t - 1]));
    if (collapsed.join() !== labels.join()) continue;
    total += Math.exp(path.reduce((s, p, t) => s + logProbs[t * C + p], 0));
  }
  return total === 0 ? Infinity : -Math.log(total);
}

function randomLogProbs(T: number, C: number, seed: number): Float32Array {
  let x = seed;
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    let z = 0;
    for (let c = 0; c < C; c++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      out[t * C + c] = Math.exp((x / 2147483648) * 3);
      z += out[t * C + c];
    }
    for (let c = 0; c < C; c++) out[t * C + c] = Math.log(out[t * C + c] / z);
  }
  return out;
}

test('CTC negative log-likelihood equals the brute-force sum over alignments; impossible labels are Infinity', () => {
  const C = 3; // labels 0, 1 and the blank 2
  for (const [T, labels, seed] of [
    [5, [0, 1], 1],
    [5, [0, 0], 2],
    [4, [1], 3],
    [6, [1, 0, 1], 4],
    [3, [], 5],
  ] as const) {
    const lp = randomLogProbs(T, C, seed);
    const got = ctcNegativeLogLikelihood(lp, T, C, [...labels], 2);
    const want = bruteForce(lp, T, C, [...labels], 2);
    assert.ok(Math.abs(got - want) < 1e-5, `T ${T} labels [${labels}]: ${got} vs ${want}`);
  }
  // A repeated label needs a blank between its two frames: 2 frames cannot say [0, 0].
  assert.equal(ctcNegativeLogLikelihood(randomLogProbs(2, 3, 9), 2, 3, [0, 0], 2), Infinity);
  assert.equal(ctcNegativeLogLikelihood(new Float32Array(0), 0, 3, [], 2), 0);
});

test('the shipped checker: onnxruntime-node log-probabilities and score match PyTorch; its own phones score better than others', async () => {
  const parity = JSON.parse(await readFile(path.join(DIR, 'parity.json'), 'utf8')) as {
    units: number[];
    phones: number[];
    shape: number[];
    log_probs: number[];
    nats_per_phone: number;
  };
  const check = await loadReadingCheck(DIR);
  try {
    const session = await ort.InferenceSession.create(path.join(DIR, check.manifest.graph.file));
    const out = (await session.run({ units: new ort.Tensor('int64', BigInt64Array.from(parity.units, BigInt), [1, parity.units.length]) })).log_probs;
    await session.release();
    assert.deepEqual(out.dims, parity.shape);
    let maxDiff = 0;
    (out.data as Float32Array).forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - parity.log_probs[i]))));
    assert.ok(maxDiff <= 1e-4, `max |onnx - torch| ${maxDiff}`);

    // score() takes the reader's phoneme ids: map each phone back to a phoneme id that reads as it.
    const phonemeOf = (phone: number): number => check.manifest.phone_of_phoneme.indexOf(phone);
    const own = await check.score(parity.units, parity.phones.map(phonemeOf));
    assert.ok(Math.abs(own - parity.nats_per_phone) < 1e-3, `score ${own} vs PyTorch ${parity.nats_per_phone}`);
    assert.ok(!check.needsRereading(own), `a recording's own units score ${own}, above the threshold ${check.manifest.threshold}`);
    const shifted = parity.phones.map((p) => (p + 7) % check.manifest.phones.length);
    const other = await check.score(parity.units, shifted.map(phonemeOf));
    assert.ok(other > own + 1 && check.needsRereading(other), `other phones score ${other}, own ${own}`);
    const skipped = await check.score(parity.units.slice(0, Math.floor(parity.units.length / 2)), parity.phones.map(phonemeOf));
    assert.ok(check.needsRereading(skipped), `half the units for all the phones (a skip) scores ${skipped}`);
    assert.equal(await check.score([], parity.phones.map(phonemeOf)), Infinity);
    assert.equal(await check.score(parity.units, [0, 1, 2]), 0, 'word boundaries and pauses alone: nothing to check');
  } finally {
    await check.release();
  }
});

test('a checker file whose sha256 differs, or a manifest that does not add up, is a CheckerLoadError naming the file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spear-checker-'));
  try {
    await cp(DIR, dir, { recursive: true });
    const graph = path.join(dir, 'checker.onnx');
    const bytes = await readFile(graph);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(graph, bytes);
    await assert.rejects(loadReadingCheck(dir), (e: unknown) => e instanceof CheckerLoadError && e.message.includes(graph) && /sha256/.test(e.message));
    const manifestPath = path.join(dir, 'checker.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, blank: 3, threshold: -1 }));
    await assert.rejects(
      loadReadingCheck(dir),
      (e: unknown) => e instanceof CheckerLoadError && /"blank" is 3/.test(e.message) && /"threshold"/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The best single path by brute force: its log-probability, and each label's [first, last] frame on it. */
function bruteForceBest(
  logProbs: Float32Array,
  T: number,
  C: number,
  labels: number[],
  blank: number,
): { score: number; spans: Array<[number, number]> } | null {
  let best: { score: number; spans: Array<[number, number]> } | null = null;
  const path = new Array<number>(T).fill(0);
  for (let code = 0; code < C ** T; code++) {
    let c = code;
    for (let t = 0; t < T; t++) {
      path[t] = c % C;
      c = Math.floor(c / C);
    }
    // Which label each frame is on: a new label starts where a non-blank differs from the frame before or follows a blank.
    const owner: number[] = [];
    let k = -1;
    for (let t = 0; t < T; t++) {
      if (path[t] === blank) owner.push(-1);
      else {
        if (t === 0 || path[t] !== path[t - 1]) k++;
        owner.push(k);
      }
    }
    const collapsed = path.filter((p, t) => p !== blank && (t === 0 || p !== path[t - 1]));
    if (collapsed.join() !== labels.join()) continue;
    const score = path.reduce((s, p, t) => s + logProbs[t * C + p], 0);
    if (best && score <= best.score) continue;
    const spans = labels.map((_, i) => [owner.indexOf(i), owner.lastIndexOf(i)] as [number, number]);
    best = { score, spans };
  }
  return best;
}

test("CTC forced alignment: each label's frames on the best path, as brute force finds them", () => {
  for (const [T, labels, seed] of [
    [5, [0, 1], 3],
    [6, [1, 1], 7],
    [6, [0, 1, 0], 11],
    [4, [1, 0, 1], 5],
    [7, [1], 2],
  ] as Array<[number, number[], number]>) {
    const C = 3;
    const lp = randomLogProbs(T, C, seed);
    const expected = bruteForceBest(lp, T, C, labels, 2);
    const got = ctcAlign(lp, T, C, labels, 2);
    if (!expected) {
      assert.equal(got, null);
      continue;
    }
    assert.deepEqual(got, expected.spans, `T ${T} labels ${labels}`);
  }
  // Too few frames for a repeated label (it needs a blank between): no alignment.
  assert.equal(ctcAlign(randomLogProbs(2, 3, 1), 2, 3, [1, 1], 2), null);
  assert.deepEqual(ctcAlign(new Float32Array(0), 0, 3, [], 2), []);
});

test('the shipped checker aligns a reading: phones in order, inside the units, word boundaries null', async () => {
  const checker = await loadReadingCheck(DIR);
  try {
    // A recording's own units and phones (parity.json); phones as phoneme ids, a word boundary after the third.
    const parity = JSON.parse(await readFile(path.join(DIR, 'parity.json'), 'utf8')) as { units: number[]; phones: number[] };
    const units = parity.units;
    const phonemeIds = parity.phones.map((p) => checker.manifest.phone_of_phoneme.indexOf(p));
    phonemeIds.splice(3, 0, 0);
    const spans = await checker.align(units, phonemeIds);
    assert.ok(spans, 'an alignment exists for a real reading');
    let last = 0;
    spans.forEach((span, i) => {
      const isPhone = checker.manifest.phone_of_phoneme[phonemeIds[i]] >= 0;
      assert.equal(span === null, !isPhone, `phoneme ${i}`);
      if (!span) return;
      assert.ok(span[0] >= last && span[0] <= span[1] && span[1] < units.length, `phoneme ${i}: ${span} after ${last}`);
      last = span[0];
    });
    // The phones spread over the recording: the first is said in its first fifth, the last in its last.
    const phones = spans.filter((x): x is [number, number] => x !== null);
    assert.ok(phones[0][0] < units.length / 5 && phones[phones.length - 1][1] > (units.length * 4) / 5, `${phones[0]} … ${phones.at(-1)} of ${units.length}`);
    assert.equal(await checker.align(units.slice(0, 3), phonemeIds), null, 'three units cannot say every phone');
  } finally {
    await checker.release();
  }
});
