/**
 * The `spear` command end to end on the shipped voice (native-models/voice): real processes, real
 * files, exit codes and one-line messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { STRATEGIES } from '../../electron/core/engine/decode.ts';
import { EPUB_CHAPTERS, HTML, makeEpub, makePdf, MARKDOWN, PDF_PAGES, PLAIN } from '../helpers/documents.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SPEAR = path.join(ROOT, 'bin/spear.mjs');
// A config directory of the tests' own: no calibration of the user's changes what these runs do.
const CONFIG = mkdtempSync(path.join(tmpdir(), 'spear-cli-config-'));
const TEXT = 'The old lighthouse stood at the edge of the cliff. It watched the restless sea!';
/** The shipped speaker's sample rate, which every file `spear synth` writes has. */
const RATE = (JSON.parse(readFileSync(path.join(ROOT, 'native-models/voice/speaker/speaker.json'), 'utf8')) as { sample_rate: number }).sample_rate;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spear(args: string[], options: { cwd?: string; input?: string | Buffer } = {}): Run {
  const r = spawnSync(process.execPath, [SPEAR, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', SPEAR_CONFIG_DIR: CONFIG },
    input: options.input,
  });
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
  assert.equal(wav.sampleRate, RATE);
  const stats = JSON.parse(await readFile(path.join(dir, 's.json'), 'utf8'));
  assert.ok(Math.abs(wav.samples / wav.sampleRate - stats.audioSeconds) < 1e-3, `${wav.samples / RATE} s vs ${stats.audioSeconds} s`);
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
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, 'a.mp3'), '-ac', '1', '-ar', String(RATE), '-f', 's16le', '-']);
  assert.equal(ff.status, 0, String(ff.stderr));
  const a = parseWav(await readFile(path.join(dir, 'a.wav')));
  const decodedSamples = ff.stdout.length / 2;
  // MP3 frames pad the ends by up to ~2 frames (576 samples each at 16 or 24 kHz, MPEG-2 layer III; 1152 from 32 kHz).
  assert.ok(Math.abs(a.samples - decodedSamples) < 3000, `${a.samples} vs ${decodedSamples}`);
});

test('FLAC, Ogg Opus (.opus and .ogg) outputs decode (ffmpeg) to the length of the WAV', async (t) => {
  if (spawnSync('ffmpeg', ['-version']).status !== 0) return t.skip('ffmpeg is not installed (.ci/run installs it)');
  const dir = await scratch();
  for (const ext of ['wav', 'flac', 'opus', 'ogg']) {
    const r = spear(['synth', TEXT, '-o', path.join(dir, `a.${ext}`), '-q']);
    assert.equal(r.code, 0, r.stderr);
  }
  const wav = parseWav(await readFile(path.join(dir, 'a.wav')));
  for (const ext of ['flac', 'opus', 'ogg']) {
    const ff = spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, `a.${ext}`), '-ac', '1', '-ar', String(RATE), '-f', 's16le', '-']);
    assert.equal(ff.status, 0, `${ext}: ${ff.stderr}`);
    assert.equal(ff.stdout.length / 2, wav.samples, ext);
  }
  // FLAC is lossless: the very samples of the WAV.
  const flac = spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, 'a.flac'), '-f', 's16le', '-']).stdout;
  assert.ok(flac.equals((await readFile(path.join(dir, 'a.wav'))).subarray(44)));
  assert.deepEqual((await readdir(dir)).sort(), ['a.flac', 'a.ogg', 'a.opus', 'a.wav']);
});

test('a text whose audio cannot fit a WAV file is refused before decoding, with one line', async () => {
  const dir = await scratch();
  const doc = path.join(dir, '..', `book-${path.basename(dir)}.txt`);
  // ~400,000 words: about 37 h of speech, past a WAV file's 4 GiB.
  await writeFile(doc, 'The old lighthouse stood at the edge of the cliff, and it watched the restless sea all night long. '.repeat(22_000));
  const started = Date.now();
  const r = spear(['synth', '--file', doc, '-o', path.join(dir, 'book.wav')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^spear: .*book\.wav: the text makes about 4\d h of audio \(~[\d.]+ GB as WAV\), more than the 4 GiB a WAV file can hold; write \.flac, \.opus or \.mp3 instead/,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual(await readdir(dir), []);
  assert.ok(Date.now() - started < 30_000, 'refused without decoding');
});

test('--rate 1.5 shortens the audio to 0.58–0.76 of rate 1, with the same units; --volume scales; pauses add up', async () => {
  const dir = await scratch();
  const run = (name: string, extra: string[]): Run =>
    spear(['synth', TEXT, '-o', path.join(dir, `${name}.wav`), '--units-out', path.join(dir, `${name}.json`), '-q', ...extra]);
  for (const [name, extra] of [
    ['base', []],
    ['fast', ['--rate', '1.5']],
    ['quiet', ['--volume', '0.5']],
    ['paused', ['--sentence-pause', '1300']],
    ['high', ['--pitch', '3']],
  ] as const) {
    const r = run(name, [...extra]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  }
  const wav = async (name: string): Promise<Int16Array> => {
    const bytes = await readFile(path.join(dir, `${name}.wav`));
    parseWav(bytes);
    return new Int16Array(bytes.buffer.slice(bytes.byteOffset + 44, bytes.byteOffset + bytes.length));
  };
  const [base, fast, quiet, paused, high] = await Promise.all(['base', 'fast', 'quiet', 'paused', 'high'].map(wav));
  const ratio = fast.length / base.length;
  assert.ok(ratio >= 0.58 && ratio <= 0.76, `rate 1.5: ${ratio.toFixed(3)} of rate 1`);
  assert.equal(high.length, base.length, 'a pitch shift keeps the duration');
  // Delivery changes the sound, not what is read.
  for (const name of ['fast', 'quiet', 'paused', 'high']) {
    assert.equal(await readFile(path.join(dir, `${name}.json`), 'utf8'), await readFile(path.join(dir, 'base.json'), 'utf8'), name);
  }
  assert.equal(quiet.length, base.length);
  for (let i = 0; i < base.length; i += 97) assert.ok(Math.abs(quiet[i] - base[i] / 2) <= 1, `sample ${i}: ${quiet[i]} vs ${base[i]}/2`);
  // Two sentences: one sentence pause, 1.0 s longer than the default 0.3 s.
  assert.equal(paused.length - base.length, RATE);
});

test('--subtitles x.vtt has a cue per word, in order, inside the audio; .srt too; ffmpeg reads them', async () => {
  const dir = await scratch();
  const r = spear(['synth', TEXT, '-o', path.join(dir, 'a.wav'), '--subtitles', path.join(dir, 'a.vtt'), '-q']);
  assert.equal(r.code, 0, r.stderr);
  const vtt = await readFile(path.join(dir, 'a.vtt'), 'utf8');
  const cues = [...vtt.matchAll(/^(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n(.+)$/gm)].map((m) => ({
    start: +m[1] * 3600 + +m[2] * 60 + +m[3],
    end: +m[4] * 3600 + +m[5] * 60 + +m[6],
    text: m[7],
  }));
  assert.ok(vtt.startsWith('WEBVTT\n\n'));
  assert.deepEqual(
    cues.map((c) => c.text),
    TEXT.split(' '),
  );
  const seconds = parseWav(await readFile(path.join(dir, 'a.wav'))).samples / RATE;
  for (const [i, c] of cues.entries()) {
    assert.ok(c.start < c.end && c.end <= seconds + 0.001, `cue ${i}: ${c.start}-${c.end} of ${seconds}`);
    if (i > 0) assert.ok(c.start >= cues[i - 1].end, `cue ${i} overlaps`);
  }
  // The second sentence starts after the first one's audio and its pause.
  assert.ok(cues[10].start - cues[9].end >= 0.25, `${cues[9].end} → ${cues[10].start}`);
  const srt = spear(['synth', TEXT, '-o', path.join(dir, 'b.wav'), '--subtitles', path.join(dir, 'b.srt'), '--rate', '1.5', '-q']);
  assert.equal(srt.code, 0, srt.stderr);
  const srtText = await readFile(path.join(dir, 'b.srt'), 'utf8');
  assert.match(srtText, /^1\n00:00:00,\d{3} --> 00:00:00,\d{3}\nThe\n\n2\n/);
  if (spawnSync('ffmpeg', ['-version']).status === 0) {
    for (const f of ['a.vtt', 'b.srt']) assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-i', path.join(dir, f), '-f', 'srt', '-']).status, 0, f);
  }
});

test('--subtitles with another extension is refused before any work', () =>
  failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--subtitles', path.join(d, 'x.txt')],
    /x\.txt: unknown subtitle extension "\.txt"; use \.vtt or \.srt/,
  ));

test('a delivery value out of range is refused', () =>
  failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--rate', '3'], /--rate 3: expected a number from 0\.5 to 2/));

test('--file with HTML, Markdown, EPUB and PDF gives the same units as the plain text', async () => {
  const dir = await scratch();
  const inputs = path.join(dir, '..', `docs-${path.basename(dir)}`);
  await mkdir(inputs);
  const files: Record<string, string | Uint8Array> = {
    'book.txt': PLAIN,
    'book.html': HTML,
    'book.md': MARKDOWN,
    'book.epub': makeEpub(EPUB_CHAPTERS),
    'book.pdf': makePdf(PDF_PAGES),
  };
  const units: Record<string, string> = {};
  for (const [name, body] of Object.entries(files)) {
    await writeFile(path.join(inputs, name), body);
    const out = path.join(dir, `${name}.json`);
    const r = spear(['synth', '--file', path.join(inputs, name), '-o', path.join(dir, `${name}.wav`), '--units-out', out, '-q']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    units[name] = await readFile(out, 'utf8');
  }
  for (const name of Object.keys(files)) assert.equal(units[name], units['book.txt'], name);
  // Chapter headings are sentences of their own.
  assert.equal(JSON.parse(units['book.txt']).sentences[0].text, 'Chapter One');
});

test('a damaged EPUB is one line naming it', () =>
  failsCleanly(async (d) => {
    const f = path.join(d, '..', `broken-${path.basename(d)}.epub`);
    await writeFile(f, 'PK\u0003\u0004 not really');
    return ['synth', '--file', f, '-o', path.join(d, 'x.wav')];
  }, /broken-.*\.epub: cannot be read as an EPUB file \(not a ZIP archive/));

test('--json prints an estimate, a progress event per sentence and a done event, one JSON object a line', async () => {
  const dir = await scratch();
  const r = spear(['synth', TEXT, '-o', path.join(dir, 'a.flac'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr: no bar, no summary');
  const events = r.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string } & Record<string, unknown>);
  assert.deepEqual(
    events.map((e) => e.event),
    ['estimate', 'progress', 'progress', 'done'],
  );
  assert.equal(events[0].format, 'flac');
  assert.ok((events[0].seconds as number) > 1 && (events[0].bytes as number) > 1000);
  assert.deepEqual(
    events.slice(1, 3).map((e) => [e.done, e.total, e.fraction]),
    [
      [1, 2, 0.5],
      [2, 2, 1],
    ],
  );
  assert.ok((events[2].audioSeconds as number) > (events[1].audioSeconds as number));
  assert.equal(events[3].output, path.join(dir, 'a.flac'));
  assert.equal(events[3].sentences, 2);
  assert.ok((events[3].audioSeconds as number) >= (events[2].audioSeconds as number));
  // Warnings are events too.
  const de = spear(['synth', 'Der Hund und die Katze sind nicht hier, aber ich bin da.', '-o', path.join(dir, 'b.wav'), '--json']);
  assert.equal(de.code, 0, de.stderr);
  assert.match(de.stdout, /^\{"event":"warning","message":"the text looks German; the voice reads English/m);
});

test('--units-out is identical for ar and every drafting strategy at temperature 0', async () => {
  const dir = await scratch();
  const units: string[] = [];
  for (const strategy of ['ar', 'early-exit', 'draft', 'eagle', 'layer-skip', 'medusa', 'prophet']) {
    const file = path.join(dir, `${strategy}.json`);
    const r = spear([
      'synth',
      TEXT,
      '-o',
      path.join(dir, `${strategy}.wav`),
      '--strategy',
      strategy,
      '--temperature',
      '0',
      '--gamma',
      '3',
      '--units-out',
      file,
      '-q',
    ]);
    assert.equal(r.code, 0, r.stderr);
    units.push(await readFile(file, 'utf8'));
  }
  for (const u of units.slice(1)) assert.equal(u, units[0]);
});

test('--workers: decoder workers read a document to the same units as this process, greedy and sampled', async () => {
  const dir = await scratch();
  const text = `${TEXT} Gulls circled above the foam. Nobody had kept the lamp for years.`;
  for (const temperature of ['0', '0.7']) {
    const units: string[] = [];
    for (const workers of ['1', '2']) {
      const file = path.join(dir, `w${workers}-t${temperature}.json`);
      const stats = path.join(dir, `w${workers}-t${temperature}.stats.json`);
      const args = ['synth', text, '-o', path.join(dir, `w${workers}.wav`), '--strategy', 'eagle', '--gamma', '3', '--temperature', temperature];
      const r = spear([...args, '--workers', workers, '--units-out', file, '--stats-out', stats, '-q']);
      assert.equal(r.code, 0, r.stderr);
      units.push(await readFile(file, 'utf8'));
      assert.equal(JSON.parse(await readFile(stats, 'utf8')).workers, Number(workers), 'the statistics say how many workers decoded');
    }
    assert.equal(units[1], units[0], `temperature ${temperature}`);
  }
});

test('--gamma auto gives the units of ar at temperature 0, and bench marks its rows adaptive', async () => {
  const dir = await scratch();
  const files = { ar: path.join(dir, 'ar.json'), auto: path.join(dir, 'auto.json') };
  const ar = spear(['synth', TEXT, '-o', path.join(dir, 'ar.wav'), '--strategy', 'ar', '--units-out', files.ar, '-q']);
  assert.equal(ar.code, 0, ar.stderr);
  const auto = spear([
    'synth',
    TEXT,
    '-o',
    path.join(dir, 'auto.wav'),
    '--strategy',
    'draft',
    '--gamma',
    'auto',
    '--draft-confidence',
    '0.3',
    '--max-gamma',
    '5',
    '--units-out',
    files.auto,
    '-q',
  ]);
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal(await readFile(files.auto, 'utf8'), await readFile(files.ar, 'utf8'));
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\n');
  const r = spear([
    'bench',
    '--texts',
    texts,
    '--strategies',
    'draft,medusa',
    '--gammas',
    '3,auto',
    '--draft-confidence',
    '0.3',
    '--max-gamma',
    '5',
    '--repeats',
    '1',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.deepEqual(
    rows.map((row: { strategy: string; gamma: number; adaptive: boolean; draft_confidence: number | null }) => [
      row.strategy,
      row.gamma,
      row.adaptive,
      row.draft_confidence,
    ]),
    [
      ['ar', 0, false, null],
      ['draft', 3, false, null],
      ['draft', 5, true, 0.3],
      ['medusa', 3, false, null],
      // --max-gamma 5 caps medusa's adaptive drafts at its 4 heads instead of refusing the run.
      ['medusa', 4, true, 0.3],
    ],
  );
  assert.ok(rows[2].mean_drafted >= 1 && rows[2].mean_drafted <= 5, `mean drafted ${rows[2].mean_drafted}`);
  assert.ok(rows[4].mean_drafted >= 1 && rows[4].mean_drafted <= 4, `medusa mean drafted ${rows[4].mean_drafted}`);
  assert.equal(rows[2].lossless, true);
});

test('--accept groups is lossy and says so: bench rows are lossless: false, and a bad mode is refused', async () => {
  const dir = await scratch();
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\n');
  const r = spear(['bench', '--texts', texts, '--strategies', 'draft', '--gammas', '3', '--accept', 'groups', '--repeats', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.deepEqual(
    rows.map((row: { strategy: string; acceptance: string; lossless: boolean }) => [row.strategy, row.acceptance, row.lossless]),
    [
      ['ar', 'exact', true],
      ['draft', 'groups', false],
    ],
  );
  const synth = spear(['synth', TEXT, '-o', path.join(dir, 'g.wav'), '--strategy', 'draft', '--accept', 'groups', '-q']);
  assert.equal(synth.code, 0, synth.stderr);
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--accept', 'fuzzy'], /--accept fuzzy: expected one of exact, groups/);
});

test('--drafts K samples K drafts per step (SpecTr): synth runs, and bench rows carry drafts', async () => {
  const dir = await scratch();
  const units = path.join(dir, 'units.json');
  const synth = spear([
    'synth',
    TEXT,
    '-o',
    path.join(dir, 'k.wav'),
    '--strategy',
    'draft',
    '--gamma',
    '3',
    '--drafts',
    '3',
    '--temperature',
    '0.8',
    '--units-out',
    units,
  ]);
  assert.equal(synth.code, 0, synth.stderr);
  assert.match(synth.stderr, /draft γ=3 K=3: /);
  assert.ok(JSON.parse(await readFile(units, 'utf8')).sentences.every((s: { units: number[] }) => s.units.length > 0));
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\n');
  const r = spear(['bench', '--texts', texts, '--strategies', 'draft', '--gammas', '3', '--drafts', '1,2', '--temperature', '0.8', '--repeats', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.deepEqual(
    rows.map((row: { strategy: string; gamma: number; drafts: number; lossless: boolean }) => [row.strategy, row.gamma, row.drafts, row.lossless]),
    [
      ['ar', 0, 1, true],
      ['draft', 3, 1, true],
      ['draft', 3, 2, true],
    ],
  );
});

test("--tree / --trees: medusa's candidates as a tree in synth (greedy: the chain's units) and in bench on the float32 target; refused on the int8 target and bad trees refused, in one line", async () => {
  const dir = await scratch();
  // Trees are verified by the voice's float32 target (its int8 target verifies chains only).
  const unitsOf = async (extra: string[]): Promise<number[][]> => {
    const units = path.join(dir, `${extra.join('_').replace(/[^\w]/g, '')}.json`);
    const r = spear([
      'synth',
      TEXT,
      '-o',
      path.join(dir, 'x.wav'),
      '--strategy',
      'medusa',
      '--temperature',
      '0',
      '--target',
      'float32',
      '--units-out',
      units,
      ...extra,
    ]);
    assert.equal(r.code, 0, r.stderr);
    if (extra[0] === '--tree') assert.match(r.stderr, new RegExp(`medusa γ=\\d tree ${extra[1].replace(/[[\]]/g, '\\$&')}: `));
    return JSON.parse(await readFile(units, 'utf8')).sentences.map((s: { units: number[] }) => s.units);
  };
  const chain = await unitsOf(['--gamma', '2']);
  assert.deepEqual(await unitsOf(['--tree', '2,1']), chain);
  assert.deepEqual(await unitsOf(['--tree', '[[0],[1],[0,0],[0,1]]']), chain);
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'eagle', '--tree', '2,1'],
    /--tree: only --strategy medusa drafts a tree/,
  );
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'medusa', '--tree', '2', '--gamma', '3'], /--tree replaces --gamma/);
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'medusa', '--tree', 'two'], /--tree two: candidates per depth/);
  // bench: the trees measured beside medusa's gammas, each row naming its tree; all of them lossless.
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\n');
  const r = spear([
    'bench',
    '--texts',
    texts,
    '--strategies',
    'medusa',
    '--gammas',
    '2',
    '--trees',
    '2,1/[[0],[1],[0,0]]',
    '--repeats',
    '1',
    '--target',
    'float32',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout).map((row: { strategy: string; gamma: number; tree: unknown; lossless: boolean }) => [row.strategy, row.gamma, row.tree, row.lossless]),
    [
      ['ar', 0, null, true],
      ['medusa', 2, null, true],
      ['medusa', 2, [2, 1], true],
      ['medusa', 2, [[0], [1], [0, 0]], true],
    ],
  );
  await failsCleanly(() => ['bench', '--strategies', 'eagle', '--trees', '2,1'], /--trees: medusa drafts the trees; name it in --strategies/);
  await failsCleanly(() => ['bench', '--strategies', 'medusa', '--trees', '2,1/x'], /--trees x: candidates per depth/);
  // Checked against the voice's heads once it is open: the engine's one-line DecodeOptionError.
  const big = spear(['synth', TEXT, '-o', path.join(dir, 'big.wav'), '--strategy', 'medusa', '--tree', '9,9', '--target', 'float32']);
  assert.equal(big.code, 2, big.stderr);
  assert.match(big.stderr.trim().split('\n').at(-1)!, /^spear: tree = 9,9 is not allowed: a tree of at most 64 nodes; \[9, 9\] has 90$/);
  const int8 = spear(['synth', TEXT, '-o', path.join(dir, 'int8.wav'), '--strategy', 'medusa', '--tree', '2,1']);
  assert.equal(int8.code, 2, int8.stderr);
  assert.match(
    int8.stderr.trim().split('\n').at(-1)!,
    /^spear: tree = 2,1 is not allowed: left out with the int8 target: .* verifies chains exactly, not trees \(--target float32 verifies trees\)$/,
  );
  assert.ok(!existsSync(path.join(dir, 'int8.wav')), 'no file is left');
});

test('--drafts outside 1 to 8, with ar only or at temperature 0, is refused in one line', async () => {
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--drafts', '0'], /--drafts 0: expected an integer from 1 to 8/);
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--drafts', '9'], /--drafts 9: expected an integer from 1 to 8/);
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'ar', '--drafts', '2', '--temperature', '1'],
    /--drafts 2: 'ar' drafts nothing/,
  );
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--drafts', '3', '--temperature', '0'],
    /--drafts 3: at temperature 0 every draft is the same/,
  );
  await failsCleanly(() => ['bench', '--strategies', 'draft', '--drafts', '1,3'], /--drafts 3: at temperature 0 every draft is the same/);
  await failsCleanly(
    () => ['bench', '--strategies', 'draft', '--drafts', '2', '--temperature', '1', '--accept', 'groups'],
    /--drafts above 1 .*--accept groups/,
  );
});

test('bench --json emits one row per strategy and gamma with every field', async () => {
  const dir = await scratch();
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\nAnother one follows it.\n');
  const r = spear(['bench', '--texts', texts, '--strategies', 'ar,early-exit,eagle', '--gammas', '2,3', '--repeats', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.equal(rows.length, 5);
  const fields = [
    'strategy',
    'gamma',
    'temperature',
    'batch',
    'workers',
    'sentences',
    'tokens',
    'seconds',
    'tokens_per_s',
    'speedup_vs_ar',
    'acceptance_rate',
    'tokens_per_target_call',
    'mean_accepted_tokens',
    'theoretical_speedup',
    'rtf',
    'time_to_first_audio_ms',
    'speedup_min',
    'speedup_max',
    'lossless',
    'provider',
    'target',
  ];
  for (const row of rows) for (const f of fields) assert.ok(f in row, `missing ${f}`);
  for (const row of rows) assert.equal(row.target, 'int8', 'the shipped voice decodes with its int8 target');
  for (const row of rows) assert.equal(row.lossless, true, 'every strategy the engine runs is lossless');
  for (const row of rows) assert.equal(row.provider, 'cpu', 'the provider that ran');
  for (const row of rows) assert.ok(row.speedup_min <= row.speedup_max);
  for (const row of rows) assert.equal(row.mean_accepted_tokens, row.tokens_per_target_call, 'τ under both names');
  assert.equal(rows[0].strategy, 'ar');
  assert.equal(rows[0].speedup_vs_ar, 1);
  assert.deepEqual([rows[0].speedup_min, rows[0].speedup_max], [1, 1]);
  const float = spear(['bench', '--texts', texts, '--strategies', 'ar', '--repeats', '1', '--target', 'float32', '--json']);
  assert.equal(float.code, 0, float.stderr);
  assert.equal(JSON.parse(float.stdout)[0].target, 'float32');
  const unknown = spear(['bench', '--texts', texts, '--strategies', 'ar', '--repeats', '1', '--target', 'int4']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /has no target "int4" \(known: int8, float32\)/);
});

test('bench --workers shares the sentences out to decoder workers and decodes the same units', async () => {
  const dir = await scratch();
  const texts = path.join(dir, 'texts.txt');
  await writeFile(texts, 'A short sentence to measure.\nAnother one follows it.\nAnd a third one ends the list.\n');
  const args = ['bench', '--texts', texts, '--strategies', 'ar,eagle', '--gammas', '3', '--repeats', '1', '--json'];
  const alone = spear(args);
  const pooled = spear([...args, '--workers', '2']);
  assert.equal(alone.code, 0, alone.stderr);
  assert.equal(pooled.code, 0, pooled.stderr);
  const [a, p] = [JSON.parse(alone.stdout), JSON.parse(pooled.stdout)];
  assert.deepEqual(
    p.map((r: { workers: number; batch: number }) => [r.workers, r.batch]),
    [
      [2, 16],
      [2, 16],
    ],
    '8 sentences per worker by default',
  );
  assert.deepEqual(
    a.map((r: { workers: number }) => r.workers),
    [1, 1],
  );
  assert.deepEqual(
    p.map((r: { tokens: number }) => r.tokens),
    a.map((r: { tokens: number }) => r.tokens),
  );
  const bad = spear(['bench', '--texts', texts, '--strategies', 'ar', '--workers', 'many']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--workers many: expected an integer from 1 to 16, or auto/);
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
test('whitespace-only text is refused', () =>
  failsCleanly((d) => ['synth', ' \n\t  ', '-o', path.join(d, 'x.wav')], /nothing to read aloud: the text is empty/));
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
test('a text of only symbols and emoji is refused', () =>
  failsCleanly((d) => ['synth', '🙂 🎉 *** ### → ♪', '-o', path.join(d, 'x.wav')], /only symbols or emoji/));
test('a 50,000-character word is refused', () =>
  failsCleanly((d) => ['synth', `start ${'x'.repeat(50_000)} end`, '-o', path.join(d, 'x.wav')], /a 50000-character word at character 6/));
test('an output path in a missing folder is refused', () =>
  failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'no/such/folder/x.wav')], /folder .*no\/such\/folder does not exist/));
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
test('an unknown flag is refused', () =>
  failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--colour', 'red'], /synth: Unknown option '--colour'/));
test('an out-of-range value is refused', () =>
  failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--gamma', '0'], /--gamma 0: expected an integer from 1 to 16/));
test('--gamma takes an integer or auto, and the adaptive settings only with auto', async () => {
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--gamma', 'fast'], /--gamma fast: expected an integer from 1 to 16, or auto/);
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--gamma', '3', '--draft-confidence', '0.4'],
    /--draft-confidence applies only with --gamma auto/,
  );
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--gamma', 'auto', '--draft-confidence', '1'],
    /--draft-confidence 1: expected a number in \(0, 1\)/,
  );
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'ar', '--gamma', 'auto'], /'ar' drafts nothing/);
});
test('an unknown strategy is refused with the known ones', async () => {
  const known = STRATEGIES.join(', ');
  const refused = (flag: string, value: string) => new RegExp(`^spear: --${flag} ${value}: expected one of ${known}\\n$`);
  await failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'lookahead'], refused('strategy', 'lookahead'));
  await failsCleanly(() => ['bench', '--strategies', 'ar,lookahead'], refused('strategies', 'lookahead'));
});
test('medusa refuses a gamma beyond its heads in synth and bench, in one line', async () => {
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--strategy', 'medusa', '--gamma', '5', '-q'],
    /^spear: gamma = 5 is not allowed: at most 4 with 'medusa': this model's medusa graph has 4 heads\n$/,
  );
  await failsCleanly(
    () => ['bench', '--strategies', 'medusa', '--gammas', '3,5,6'],
    /^spear: bench: --gammas 5,6: medusa drafts at most 4 tokens per step \(its heads\)\n$/,
  );
});
test('an out-of-range thread count is refused', () =>
  failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--target-threads', '65'], /--target-threads 65: expected an integer from 0 to 64/));
test('eval refuses an out-of-range pipeline temperature', () =>
  failsCleanly(() => ['eval', '--pipeline-temperature', '11'], /--pipeline-temperature 11: expected a number in \[0, 10\]/));
test('eval refuses an unknown acceptance mode in one line, before reading the corpus', () =>
  failsCleanly(() => ['eval', '--accept', 'fuzzy', '--work', '/nonexistent'], /^spear: --accept fuzzy: expected one of exact, groups\n$/));
test('eval refuses a report folder that does not exist before doing any work', async () => {
  // A work folder with one held-out sentence: enough for eval to get past the corpus to the report folder.
  const work = await scratch();
  await mkdir(path.join(work, 'corpus'));
  await mkdir(path.join(work, 'units'));
  await writeFile(path.join(work, 'corpus/test.jsonl'), JSON.stringify({ id: 's1', text: 'A test.', phonemes: [1, 2, 3] }) + '\n');
  await writeFile(path.join(work, 'units/test.jsonl'), JSON.stringify({ id: 's1', units: [1, 2, 3] }) + '\n');
  await failsCleanly((d) => ['eval', '--work', work, '--out', path.join(d, 'missing')], /eval\.json: folder .*missing does not exist/);
});
test('layer-skip on a voice without the layer_skip graph is refused in one line', async () => {
  // The shipped voice's files, its manifest without the entry.
  const voice = await scratch();
  const shipped = path.join(ROOT, 'native-models/voice');
  for (const name of await readdir(shipped)) if (name !== 'manifest.json') await symlink(path.join(shipped, name), path.join(voice, name));
  const manifest = JSON.parse(await readFile(path.join(shipped, 'manifest.json'), 'utf8'));
  delete manifest.graphs.layer_skip;
  await writeFile(path.join(voice, 'manifest.json'), JSON.stringify(manifest));
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--voice', voice, '--strategy', 'layer-skip', '-q'],
    /^spear: strategy = "layer-skip" is not allowed: this model \(.*\) lacks graph\(s\) layer_skip\n$/,
  );
});
test('prophet on a voice without the seed_prophet graph is refused in one line', async () => {
  const voice = await scratch();
  const shipped = path.join(ROOT, 'native-models/voice');
  for (const name of await readdir(shipped)) if (name !== 'manifest.json') await symlink(path.join(shipped, name), path.join(voice, name));
  const manifest = JSON.parse(await readFile(path.join(shipped, 'manifest.json'), 'utf8'));
  delete manifest.graphs.seed_prophet;
  delete manifest.chains.seed_prophet;
  await writeFile(path.join(voice, 'manifest.json'), JSON.stringify(manifest));
  await failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--voice', voice, '--strategy', 'prophet', '-q'],
    /^spear: strategy = "prophet" is not allowed: this model \(.*\) lacks graph\(s\) seed_prophet\n$/,
  );
});
test('an unknown audio extension is refused', () => failsCleanly((d) => ['synth', TEXT, '-o', path.join(d, 'x.aiff')], /unknown audio extension ".aiff"/));

/** A long document (300 sentences) beside the scratch folder, so the folder itself starts empty. */
async function longDocument(dir: string): Promise<string> {
  const doc = path.join(dir, '..', `long-${path.basename(dir)}.txt`);
  await writeFile(doc, Array.from({ length: 300 }, (_, i) => `This is sentence number ${i + 1} of a long document.`).join(' '));
  return doc;
}

/**
 * Starts a long synth into an empty folder, waits until its temporary audio file is growing, sends
 * `signals` (one after another, `gapMs` apart), and returns the exit code and stderr.
 */
async function interruptMidJob(dir: string, signals: NodeJS.Signals[], gapMs = 0): Promise<{ code: number | null; stderr: string }> {
  const doc = await longDocument(dir);
  const child = spawn(
    process.execPath,
    [SPEAR, 'synth', '--file', doc, '-o', path.join(dir, 'long.wav'), '--stats-out', path.join(dir, 's.json'), '--units-out', path.join(dir, 'u.json')],
    {
      cwd: ROOT,
      env: { ...process.env, CI: '1', SPEAR_CONFIG_DIR: CONFIG },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Interrupt while audio is being written: wait for the temporary file to grow, then a little more.
  const deadline = Date.now() + 60_000;
  let partialBytes = 0;
  while (partialBytes < 100_000 && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
    const partial = (await readdir(dir)).find((f) => f.endsWith('.partial'));
    partialBytes = partial ? (await stat(path.join(dir, partial)).catch(() => ({ size: 0 }))).size : 0;
  }
  assert.ok(partialBytes >= 100_000, `audio was being written when interrupted; stderr: ${stderr}`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(child.exitCode, null, 'still working when interrupted');
  for (const [i, signal] of signals.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    child.kill(signal);
  }
  return { code: await exited, stderr };
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`${signal} mid-document leaves no output file and no temporary file, and exits ${code}`, async () => {
    const dir = await scratch();
    const r = await interruptMidJob(dir, [signal]);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, new RegExp(`interrupted \\(${signal}\\); nothing was written`));
    // A long job says first how long and how large it will be.
    assert.match(r.stderr, /^spear: estimated \d+ min of audio from 2,700 words, ~[\d.]+ MB as WAV$/m);
    assert.deepEqual(await readdir(dir), []);
    assert.ok(!existsSync(path.join(dir, 'long.wav')));
  });
}

test('a second SIGTERM right after the first still leaves nothing behind', async () => {
  const dir = await scratch();
  const r = await interruptMidJob(dir, ['SIGTERM', 'SIGTERM'], 1);
  assert.equal(r.code, 143, r.stderr);
  assert.deepEqual(await readdir(dir), []);
});

test('-o /proc/x.wav exits 2 with one line naming /proc/x.wav, before any work', (t) => {
  if (!existsSync('/proc/self')) return t.skip('no /proc on this system');
  const r = spear(['synth', TEXT, '-o', '/proc/x.wav']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^spear: \/proc\/x\.wav: cannot create it: /);
  assert.doesNotMatch(r.stderr, /ENOENT|\.partial/);
});

test('a --stats-out path in a folder that takes no files is refused the same way', (t) => {
  if (!existsSync('/proc/self')) return t.skip('no /proc on this system');
  return failsCleanly(
    (d) => ['synth', TEXT, '-o', path.join(d, 'x.wav'), '--stats-out', '/proc/s.json'],
    /^spear: \/proc\/s\.json: cannot create it: [^\n]*\n$/,
  );
});

test('a --file that cannot be read is one line naming it', async () => {
  const dir = await scratch();
  const r = spear(['synth', '--file', dir, '-o', path.join(dir, 'x.wav')]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `spear: ${dir}: not a regular file\n`);
});

test('German text gets a warning that names the language; dropped characters are named and counted', async () => {
  const dir = await scratch();
  const r = spear(['synth', 'Der alte Leuchtturm stand am Rand der Klippe, und er sah das Meer. 🍕 ☃ 🍕', '-o', path.join(dir, 'de.wav'), '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^spear: warning: the text looks German; the voice reads English/m);
  assert.match(r.stderr, /^spear: warning: 3 characters the voice cannot say will be skipped: 🍕 \(U\+1F355\) ×2, ☃ \(U\+2603\)$/m);
});

test('plain English text gets no warning', () => {
  const out = path.join(tmpdir(), `spear-en-${process.pid}.wav`);
  const r = spear(['synth', TEXT, '-o', out, '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('eval on a clone without the teacher corpus exits 2 with one line that says what to build', async () => {
  const work = await scratch();
  const r = spear(['eval', '--work', work]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /corpus\/test\.jsonl: missing; spear eval needs the teacher's corpus/);
  assert.match(lines[0], /native-models\/README\.md/);
  assert.deepEqual(await readdir(work), [], 'nothing is written');
});
