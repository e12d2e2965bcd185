/**
 * `spear calibrate` on the tiny fixture, and what synth and bench do with a calibration (the shipped
 * voice, with a calibration written by the test), each run with SPEAR_CONFIG_DIR in a scratch folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { GraphCost, Prediction } from '../../electron/core/calibration/cost-model.ts';
import { currentMachine, voiceIdentity } from '../../electron/core/calibration/machine.ts';
import { acceptancePath, calibrationPath, readCalibration, writeCalibration, type Calibration } from '../../electron/core/calibration/store.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SPEAR = path.join(ROOT, 'bin/spear.mjs');
const TINY = path.join(ROOT, 'tests/fixtures/tiny');
const VOICE = path.join(ROOT, 'native-models/voice');
const TEXT = 'The old lighthouse stood at the edge of the cliff.';

function spear(args: string[], configDir: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SPEAR, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', SPEAR_CONFIG_DIR: configDir } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'spear-calibrate-'));

test('calibrate measures the fixture, keeps the choice and the acceptance, and reuses the acceptance', async () => {
  const config = await scratch();
  const first = spear(['calibrate', '--voice', TINY], config);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /^calibrated: ((eagle|draft|early-exit|layer-skip|medusa|prophet) γ (\d|auto ≤\d+ at [\d.]+)|ar), \d\+?\d* threads? \(.+, \d+ cores?\): predicted \d+ units\/s/,
  );
  assert.match(first.stdout, /acceptance at depth 1–8 \(fixed prompts, 16 prompts/);
  const voice = await voiceIdentity(TINY);
  const stored = await readCalibration(config, currentMachine(), voice);
  assert.equal(stored.status, 'valid');
  assert.ok(existsSync(acceptancePath(config, voice)));
  const c = (stored as { calibration: Calibration }).calibration;
  // The fixture has chains for gamma 2-4 of the three chained drafters: they were timed.
  for (const chain of ['eagle_chain_3', 'draft_chain_4', 'seed_prophet_chain_2'])
    assert.ok(
      c.costs.some((x) => x.graph === chain),
      chain,
    );
  // The seed prophet's graph where it has no chain (gamma 1, 6, 8), and medusa's heads, were timed too.
  assert.ok(c.costs.some((x) => x.graph === 'seed_prophet' && x.positions === 2) && c.costs.some((x) => x.graph === 'medusa'));
  assert.deepEqual(Object.keys(c.byStrategy).sort(), ['ar', 'draft', 'eagle', 'early-exit', 'layer-skip', 'medusa', 'prophet']);
  // Medusa's 3 heads: measured at gamma 3, chosen at no more.
  assert.equal(c.acceptance.drafters.medusa?.maxGamma, 3);
  assert.ok(c.byStrategy.medusa!.gamma <= 3);
  assert.match(first.stdout, /^ {2}prophet +\d/m);

  const second = spear(['calibrate', '--voice', TINY], config);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /acceptance at depth 1–8 \(cached\)/);
  const shown = spear(['calibrate', '--voice', TINY, '--show', '--json'], config);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(JSON.parse(shown.stdout), JSON.parse(await readFile(calibrationPath(config), 'utf8')));
});

test('a corrupt calibration is named in one line and measured again; --show without one fails', async () => {
  const config = await scratch();
  const none = spear(['calibrate', '--voice', TINY, '--show'], config);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^spear: no calibration in .* yet; run 'spear calibrate'\n$/);
  await writeFile(calibrationPath(config), '{"format": "spear-calibration/1", "mach');
  const r = spear(['calibrate', '--voice', TINY, '-q'], config);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'quiet');
  assert.equal(r.stdout, '');
  assert.equal((await readCalibration(config, currentMachine(), await voiceIdentity(TINY))).status, 'valid');
  await writeFile(calibrationPath(config), 'not json');
  const loud = spear(['calibrate', '--voice', TINY], config);
  assert.equal(loud.code, 0);
  assert.match(loud.stderr, /^spear: calibration .*calibration\.json is not valid JSON; ignored\n$/);
});

/** A calibration of the shipped voice for this machine whose choice no default would give: draft γ 2. */
async function writeVoiceCalibration(config: string, machine = currentMachine()): Promise<void> {
  const p = (strategy: Prediction['strategy'], gamma: number, speedup: number): Prediction => ({
    strategy,
    gamma,
    threads: 1,
    targetThreads: 1,
    unitsPerStep: 2,
    stepMs: 2,
    tokensPerSecond: 500 * speedup,
    speedup,
  });
  const costs: GraphCost[] = [1, 2, 3, 4, 5, 6].map((T) => ({ graph: 'full', threads: 1, targetThreads: 1, positions: T, ms: 1 + 0.1 * T }));
  costs.push(
    { graph: 'draft_chain_2', threads: 1, targetThreads: 1, positions: 1, ms: 0.3 },
    { graph: 'draft_chain_2', threads: 1, targetThreads: 1, positions: 2, ms: 0.35 },
  );
  await writeCalibration(config, {
    format: 'spear-calibration/1',
    machine,
    voice: await voiceIdentity(VOICE),
    measuredAt: new Date().toISOString(),
    seconds: 1,
    acceptance: { maxGamma: 8, drafters: { draft: { reached: [100, 80, 60, 40, 30, 20, 10, 5, 2] } }, meanPosition: 100, sentences: 24, tokens: 2400 },
    costs,
    best: p('draft', 2, 1.5),
    byStrategy: { draft: p('draft', 2, 1.5), eagle: p('eagle', 5, 1.4), ar: p('ar', 0, 1) },
  });
}

async function synthStats(config: string, extra: string[] = []): Promise<{ stderr: string; strategy: string; gamma: number }> {
  const dir = await scratch();
  const r = spear(['synth', TEXT, '-o', path.join(dir, 'a.wav'), '--stats-out', path.join(dir, 's.json'), ...extra], config);
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(await readFile(path.join(dir, 's.json'), 'utf8'));
  return { stderr: r.stderr, strategy: stats.strategy, gamma: stats.gamma };
}

test('synth defaults to the calibrated choice and says so in one line; a named strategy gets its calibrated gamma', async () => {
  const config = await scratch();
  await writeVoiceCalibration(config);
  const calibrated = await synthStats(config);
  assert.deepEqual([calibrated.strategy, calibrated.gamma], ['draft', 2]);
  assert.match(calibrated.stderr, /^calibrated: draft γ 2, 1\+1 threads \(.+\)\n/);
  const named = await synthStats(config, ['--strategy', 'eagle']);
  assert.deepEqual([named.strategy, named.gamma], ['eagle', 5]);
  const chosen = await synthStats(config, ['--strategy', 'eagle', '--gamma', '3', '--threads', '1']);
  assert.deepEqual([chosen.strategy, chosen.gamma], ['eagle', 3]);
  assert.doesNotMatch(chosen.stderr, /^(calibrated:|not calibrated|calibration )/m, 'nothing left to calibrate, nothing said');
  const quiet = await synthStats(config, ['-q']);
  assert.equal(quiet.stderr, '');
});

test("synth with a stale or no calibration keeps the voice's defaults and says why in one line", async () => {
  const config = await scratch();
  const missing = await synthStats(config);
  assert.deepEqual([missing.strategy, missing.gamma], ['eagle', 3], "the voice's manifest defaults");
  assert.match(missing.stderr, /^not calibrated for this machine yet: the voice's defaults apply \(run 'spear calibrate' once, ~35 s\)\n/);
  await writeVoiceCalibration(config, { ...currentMachine(), onnxruntime: '0.0.1' });
  const stale = await synthStats(config);
  assert.deepEqual([stale.strategy, stale.gamma], ['eagle', 3]);
  assert.match(
    stale.stderr,
    /^calibration .* another setup \(onnxruntime 0\.0\.1 → [\d.]+\); ignored; the voice's defaults apply until 'spear calibrate' runs\n/,
  );
});

test("bench marks the calibrated row and gives each row the calibration's predicted speedup", async () => {
  const config = await scratch();
  await writeVoiceCalibration(config);
  const dir = await scratch();
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\n');
  const r = spear(['bench', '--texts', texts, '--strategies', 'draft', '--gammas', '2,3', '--repeats', '1', '--json'], config);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { strategy: string; gamma: number; calibrated: boolean; predicted_speedup: number | null }[];
  assert.deepEqual(
    rows.map((x) => [x.strategy, x.gamma, x.calibrated]),
    [
      ['ar', 0, false],
      ['draft', 2, true],
      ['draft', 3, false],
    ],
  );
  assert.equal(rows[0].predicted_speedup, 1);
  assert.ok(rows[1].predicted_speedup! > 1, 'draft γ 2 is predicted from the written costs');
  assert.equal(rows[2].predicted_speedup, null, 'no draft chain of gamma 3 was timed');
  const text = spear(['bench', '--texts', texts, '--strategies', 'draft', '--gammas', '2', '--repeats', '1'], config);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /calibrated: draft γ 2, 1\+1 threads \(.+\): measured [\d.]+×, predicted [\d.]+× \(measured\/predicted [\d.]+\); measured best: /);
});
