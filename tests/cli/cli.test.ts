/**
 * The `spear` command end to end on the shipped voice (native-models/voice): real processes, real
 * files, exit codes and one-line messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SPEAR = path.join(ROOT, 'bin/spear.mjs');
// A config directory of the tests' own: no calibration of the user's changes what these runs do.
const CONFIG = mkdtempSync(path.join(tmpdir(), 'spear-cli-config-'));
const TEXT = 'The old lighthouse stood at the edge of the cliff. It watched the restless sea!';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spear(args: string[], options: { cwd?: string; input?: string | Buffer } = {}): Run {
  const r = spawnSync(process.execPath, [SPEAR, ...args], { cwd: options.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, CI: '1', SPEAR_CONFIG_DIR: CONFIG }, input: options.input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function scratch(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'spear-cli-'));
}

/** Reads a 16-bit mono WAV's header and checks it against the file size. */
function parseWav(bytes: Buffer): { sampleRate: number; samples: number } {
  assert.equal(bytes.toString('ascii', 0, 4), 'RIFF');
  assert.equal(bytes.toString('ascii', 8, 12), 'WAVE');
  assert.equal(bytes.readUInt16LE(20), 1, 'PCM');
  assert.equal(bytes.readUInt16LE(22), 1, 'mono');
  assert.equal(bytes.readUInt16LE(34), 16, '16-bit');
  assert.equal(bytes.readUInt32LE(4), bytes.length - 8, 'RIFF size');
  const dataBytes = bytes.readUInt32LE(40);
  assert.equal(dataBytes, bytes.length - 44, 'data size');
  return { sampleRate: bytes.readUInt32LE(24), samples: dataBytes / 2 };
}

test('synth writes a valid WAV whose duration matches its samples, with units and stats', async () => {
  const dir = await scratch();
  const out = path.join(dir, 'out.wav');
  const r = spear(['synth', TEXT, '-o', out, '--units-out', path.join(dir, 'u.json'), '--stats-out', path.join(dir, 's.json')]);
  assert.equal(r.code, 0, r.stderr);
  const wav = parseWav(await readFile(out));
  assert.equal(wav.sampleRate, 16000);
  const stats = JSON.parse(await readFile(path.join(dir, 's.json'), 'utf8'));
  assert.ok(Math.abs(wav.samples / wav.sampleRate - stats.audioSeconds) < 1e-3, `${wav.samples / 16000} s vs ${stats.audioSeconds} s`);
  assert.ok(stats.audioSeconds > 1);
  const units = JSON.parse(await readFile(path.join(dir, 'u.json'), 'utf8'));
  assert.equal(units.sentences.length, 2);
  assert.ok(units.sentences.every((s: { units: number[] }) => s.units.length > 0));
});

test('--file - reads the text from standard input, and the units are those of the same text as an argument', async () => {
  const dir = await scratch();
  const piped = spear(['synth', '--file', '-', '-o', path.join(dir, 'a.wav'), '--units-out', path.join(dir, 'a.json')], { input: TEXT });
  assert.equal(piped.code, 0, piped.stderr);
  const given = spear(['synth', TEXT, '-o', path.join(dir, 'b.wav'), '--units-out', path.join(dir, 'b.json')]);
  assert.equal(given.code, 0, given.stderr);
  assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'a.json'), 'utf8')), JSON.parse(await readFile(path.join(dir, 'b.json'), 'utf8')));
  assert.ok(parseWav(await readFile(path.join(dir, 'a.wav'))).samples > 0);
});

test('MP3 output decodes back (ffmpeg) to the same duration as the WAV', async (t) => {
  if (spawnSync('ffmpeg', ['-version']).status !== 0) return t.skip('ffmpeg is not installed (.ci/run installs it)');
  const dir = await scratch();
  assert.equal(spear(['synth', TEXT, '-o', path.join(dir, 'a.wav')]).code, 0);
  const r = spear(['synth', TEXT, '-o', path.join(dir, 'a.mp3')]);
  assert.equal(r.code, 0, r.stderr);
  // Decode to raw 16-bit PCM: 2 bytes a sample, no container to parse.
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, 'a.mp3'), '-ac', '1', '-ar', '16000', '-f', 's16le', '-']);
  assert.equal(ff.status, 0, String(ff.stderr));
  const a = parseWav(await readFile(path.join(dir, 'a.wav')));
  const decodedSamples = ff.stdout.length / 2;
  // MP3 frames pad the ends by up to ~2 frames (1152 samples each at 16 kHz).
  assert.ok(Math.abs(a.samples - decodedSamples) < 3000, `${a.samples} vs ${decodedSamples}`);
});

test('--units-out is identical for ar, early-exit, draft and prophet at temperature 0', async () => {
  const dir = await scratch();
  const units: string[] = [];
  for (const strategy of ['ar', 'early-exit', 'draft', 'prophet']) {
    const file = path.join(dir, `${strategy}.json`);
    const r = spear(['synth', TEXT, '-o', path.join(dir, `${strategy}.wav`), '--strategy', strategy, '--temperature', '0', '--gamma', '3', '--units-out', file, '-q']);
    assert.equal(r.code, 0, r.stderr);
    units.push(await readFile(file, 'utf8'));
  }
  for (const u of units.slice(1)) assert.equal(u, units[0]);
});

test('bench --json emits one row per strategy and gamma with every field', async () => {
  const dir = await scratch();
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\nAnother one follows it.\n');
  const r = spear(['bench', '--texts', texts, '--strategies', 'ar,early-exit,prophet', '--gammas', '2,3', '--repeats', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.equal(rows.length, 5);
  const fields = ['strategy', 'gamma', 'temperature', 'batch', 'sentences', 'tokens', 'seconds', 'tokens_per_s', 'speedup_vs_ar', 'acceptance_rate', 'mean_accepted_tokens', 'theoretical_speedup', 'rtf', 'time_to_first_audio_ms', 'speedup_min', 'speedup_max'];
  for (const row of rows) for (const f of fields) assert.ok(f in row, `missing ${f}`);
  for (const row of rows) assert.ok(row.speedup_min <= row.speedup_max);
  assert.equal(rows[0].strategy, 'ar');
  assert.equal(rows[0].speedup_vs_ar, 1);
  assert.deepEqual([rows[0].speedup_min, rows[0].speedup_max], [1, 1]);
});

/** Runs a failing command and asserts its one-line message, its exit code and that no file was left. */
async function failsCleanly(args: (dir: string) => string[] | Promise<string[]>, message: RegExp, code = 2): Promise<void> {
  const dir = await scratch();
  const before = await readdir(dir);
  const r = spear(await args(dir));
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.deepEqual(await readdir(dir), before, 'nothing written');
}

test('empty text is refused', () => failsCleanly((d) => ['synth', '', '-o', path.join(d, 'x.wav')], /^spear: nothing to read aloud: the text is empty/));
test('whitespace-only text is refused', () => failsCleanly((d) => ['synth', ' \n\t  ', '-o', path.join(d, 'x.wav')], /nothing to read aloud: the text is empty/));
test('a file that is not UTF-8 is refused', () =>
  failsCleanly(async (d) => {
    const f = path.join(d, '..', `latin1-${path.basename(d)}.txt`);
    await writeFile(f, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f, 0x69, 0x72]));
    return ['synth', '--file', f, '-o', path.join(d, 'x.wav')];
  }, /is not valid UTF-8 text/));
test('standard input that is not UTF-8 is refused', async () => {
  const dir = await scratch();
  const r = spear(['synth', '--file', '-', '-o', path.join(dir, 'x.wav')], { input: Buffer.from([0x63, 0x61, 0x66, 0xe9]) });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^spear: standard input: is not valid UTF-8 text/);
  assert.deepEqual(await readdir(dir), []);
});
test('a binary file is refused', () =>
  failsCleanly(async (d) => {
    const f = path.join(d, '..', `bin-${path.basename(d)}.dat`);
    await writeFile(f, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
    return ['synth', '--file', f, '-o', path.join(d, 'x.wav')];
  }, /looks like a binary file/));
test('a text of only symbols and emoji is refused', () => failsCleanly((d) => ['synth', '🙂 🎉 *** ### → ♪', '-o', path.join(d, 'x.wav')], /only symbols or emoji/));
test('a 50,000-character word is refused', () => failsCleanly((d) => ['synth', `start ${'x'.repeat(50_000)} end`, '-o', path.join(d, 'x.wav')], /a 50000-character word at character 6/));
test('an output path in a missing folder is refused', () => failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'no/such/folder/x.wav')], /folder .*no\/such\/folder does not exist/));
test('an output path in a read-only folder is refused', async () => {
  const dir = await scratch();
  const ro = path.join(dir, 'ro');
  await mkdir(ro);
  // Root ignores permission bits; an immutable folder (ext4's chattr +i) is read-only even for root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assert.equal(spawnSync('chattr', ['+i', ro]).status, 0, 'chattr +i');
  else await chmod(ro, 0o555);
  try {
    const r = spear(['synth', TEXT, '-o', path.join(ro, 'x.wav')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^spear: .*ro\/x\.wav: folder .*ro is not writable\n$/);
    assert.deepEqual(await readdir(ro), []);
  } finally {
    if (asRoot) spawnSync('chattr', ['-i', ro]);
  }
});
test('an unknown flag is refused', () => failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--colour', 'red'], /synth: Unknown option '--colour'/));
test('an out-of-range value is refused', () => failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--gamma', '0'], /--gamma 0: expected an integer from 1 to 16/));
test('an out-of-range thread count is refused', () => failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--target-threads', '65'], /--target-threads 65: expected an integer from 0 to 64/));
test('eval refuses an out-of-range pipeline temperature', () => failsCleanly(() => ['eval', '--pipeline-temperature', '11'], /--pipeline-temperature 11: expected a number in \[0, 10\]/));
test('eval refuses a report folder that does not exist before doing any work', () => failsCleanly((d) => ['eval', '--out', path.join(d, 'missing')], /eval\.json: folder .*missing does not exist/));
test('an unknown audio extension is refused', () => failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.ogg')], /unknown audio extension ".ogg"; use .wav or .mp3/));

test('a cancel (SIGINT) mid-document leaves no output file and no running work', async () => {
  const dir = await scratch();
  const doc = path.join(dir, '..', `long-${path.basename(dir)}.txt`);
  await writeFile(doc, Array.from({ length: 300 }, (_, i) => `This is sentence number ${i + 1} of a long document.`).join(' '));
  const child = spawn(process.execPath, [SPEAR, 'synth', '--file', doc, '-o', path.join(dir, 'long.wav'), '--stats-out', path.join(dir, 's.json')], {
    cwd: ROOT,
    env: { ...process.env, CI: '1', SPEAR_CONFIG_DIR: CONFIG },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Interrupt while audio is being written: wait for the temporary file to grow, then a little more.
  const deadline = Date.now() + 60_000;
  let partialBytes = 0;
  while (partialBytes < 100_000 && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
    const partial = (await readdir(dir)).find((f) => f.endsWith('.partial'));
    partialBytes = partial ? (await stat(path.join(dir, partial))).size : 0;
  }
  assert.ok(partialBytes >= 100_000, 'audio was being written when interrupted');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(child.exitCode, null, 'still working when interrupted');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted; nothing was written/);
  assert.deepEqual(await readdir(dir), []);
  assert.ok(!existsSync(path.join(dir, 'long.wav')));
});
