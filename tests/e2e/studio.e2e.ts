/**
 * End to end, in Debian's Chromium (playwright-core) against browser mode (`electron/server`): drop a
 * .txt file with a real drop event, synthesize, watch the acceptance view show accepted and rejected
 * drafts, play a preview, run a gamma sweep and see its chart, export a WAV and check the file, run a
 * comparison in the Compare view and download its results.
 *
 * Voice: by default the real service with the shipped voice (native-models/voice/); SPEAR_E2E_VOICE=fake
 * runs the same service with the fake synthesizer of tests/helpers/fake-synthesizer.ts (fast, for UI work). SPEAR_VOICE_DIR points the real run at another voice
 * directory. Chromium: SPEAR_CHROMIUM (default /usr/bin/chromium).
 * Screenshots land in tests/output/ (not committed).
 *
 * Run: npm run test:e2e (builds the renderer first).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../electron/server/server.ts';
import { EPUB_CHAPTERS, makeEpub, PLAIN } from '../helpers/documents.ts';

// Browser globals used inside page functions: this file compiles in the Node project (no DOM lib).
declare const document: { querySelector<T>(selector: string): T | null };
declare function atob(data: string): string;
declare class DataTransfer {
  items: { add(file: File): void };
}
declare class File {
  constructor(parts: string[], name: string, options: { type: string });
}
interface HTMLAudioElement {
  duration: number;
  src: string;
  addEventListener(type: string, listener: () => void): void;
}
declare const HTMLMediaElement: { prototype: { play(this: HTMLAudioElement): Promise<void> } };
declare const window: { heardDurations?: number[] };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUTPUT = path.join(root, 'tests/output');
const CHROMIUM = process.env.SPEAR_CHROMIUM ?? '/usr/bin/chromium';
const REAL_VOICE = process.env.SPEAR_E2E_VOICE !== 'fake';
const BACKEND = REAL_VOICE ? undefined : new URL('../helpers/fake-synthesizer.ts', import.meta.url).href;
/** Decoding with the real voice on a small CPU takes longer than the fake's simulated steps. */
const LONG = REAL_VOICE ? 300_000 : 60_000;

const DOCUMENT = [
  'Speculative decoding lets a small drafter propose several tokens at once.',
  'The target model checks them all in a single call and keeps the longest accepted prefix.',
  'When a draft is rejected, the target draws a replacement, so the output is exactly its own.',
  'Tune gamma until it flies.',
].join(' ');

let server: RunningServer;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

before(async () => {
  if (!existsSync(path.join(root, 'dist/renderer/index.html'))) throw new Error('build the renderer first: npm run build:renderer');
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set SPEAR_CHROMIUM)`);
  await mkdir(OUTPUT, { recursive: true });
  server = await startServer({ rendererDir: path.join(root, 'dist/renderer'), service: { backendModule: BACKEND, voiceDir: process.env.SPEAR_VOICE_DIR } });
  profile = await mkdtemp(path.join(os.tmpdir(), 'spear-e2e-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
  });
  await page.goto(server.url);
  await page.getByText('service ready').waitFor({ timeout: 15_000 });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Dispatches a real `drop` event carrying a File on `selector`. */
async function dropFile(selector: string, name: string, type: string, content: string): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ([n, t, c]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([c], n, { type: t }));
      return dt;
    },
    [name, type, content] as const,
  );
  await page.locator(selector).dispatchEvent('dragover', { dataTransfer });
  await page.locator(selector).dispatchEvent('drop', { dataTransfer });
}

test('a non-text file gets a clear message, and a drop outside the zone does not navigate', async () => {
  await dropFile('[data-testid="drop-zone"]', 'photo.png', 'image/png', '\u0089PNG');
  await page.getByTestId('file-message').filter({ hasText: 'not a text file' }).waitFor();
  const before = page.url();
  await dropFile('.acceptance', 'elsewhere.txt', 'text/plain', 'nope');
  await page.waitForTimeout(200);
  assert.equal(page.url(), before);
});

test('dropping a .txt splits it into sentences', async () => {
  await dropFile('[data-testid="drop-zone"]', 'speech.txt', 'text/plain', DOCUMENT);
  await page.getByTestId('file-message').filter({ hasText: 'speech.txt' }).waitFor();
  assert.equal(await page.locator('#document-text').inputValue(), DOCUMENT);
  await page.locator('[data-testid="sentences"] li').nth(3).waitFor();
  assert.equal(await page.locator('[data-testid="sentences"] li').count(), 4);
});

test('a word of your own: added in the Pronunciations panel, heard (a WAV that plays), removed', async () => {
  // Record the duration of every clip that starts playing (the heard word plays on its own element).
  await page.evaluate(() => {
    const play = HTMLMediaElement.prototype.play;
    window.heardDurations = [];
    HTMLMediaElement.prototype.play = function (this: HTMLAudioElement) {
      this.addEventListener('loadedmetadata', () => window.heardDurations!.push(this.duration));
      return play.call(this);
    };
  });
  await page.getByRole('button', { name: 'Pronunciations' }).click();
  const panel = page.getByTestId('lexicon-panel');
  await panel.getByText('No pronunciations of yours yet.').waitFor();
  await page.locator('#lexicon-word').fill('Nguyen');
  await page.locator('#lexicon-pronunciation').fill('W IH');
  await panel.getByRole('button', { name: 'Add' }).click();
  await page.getByTestId('lexicon-error').filter({ hasText: 'the vowel IH needs a stress digit' }).waitFor();
  await page.locator('#lexicon-pronunciation').fill('win');
  await panel.getByRole('button', { name: 'Add' }).click();
  const entry = page.getByTestId('lexicon-entry');
  await entry.filter({ hasText: 'W IH1 N' }).waitFor();
  assert.equal(await page.getByTestId('lexicon-error').count(), 0, 'the error went with the good entry');
  assert.equal(await page.locator('#lexicon-word').inputValue(), '', 'the form cleared');
  await page.getByRole('button', { name: 'Hear Nguyen' }).click();
  await page.waitForFunction(() => (window.heardDurations ?? []).length > 0, undefined, { timeout: LONG });
  const [duration] = await page.evaluate(() => window.heardDurations!);
  assert.ok(duration > 0.1 && duration < 5, `the word's clip lasts ${duration} s`);
  await page.getByRole('button', { name: 'Remove Nguyen' }).click();
  await panel.getByText('No pronunciations of yours yet.').waitFor();
  await page.getByRole('button', { name: 'Pronunciations' }).click();
  assert.equal(await page.getByTestId('lexicon-panel').count(), 0);
});

test('synthesis shows accepted and rejected drafts live, then per-sentence summaries', async () => {
  await page.getByTestId('synthesize').click();
  await page.locator('[data-testid="steps"] .chip.accepted').first().waitFor({ timeout: LONG });
  await page.locator('[data-testid="steps"] .chip.rejected').first().waitFor({ timeout: LONG });
  await page.locator('[data-testid="steps"] .chip.token-replacement').first().waitFor({ timeout: LONG });
  await page.screenshot({ path: path.join(OUTPUT, 'e2e-decoding.png') });
  const alpha = await page.locator('[data-testid="running-stats"] .tile-value').first().innerText();
  assert.match(alpha, /^\d+%$/, `α is shown as a percentage (got ${alpha})`);
  await page.getByTestId('job-status').filter({ hasText: 'Done.' }).waitFor({ timeout: LONG });
  assert.equal(await page.locator('[data-testid="sentence-summary"] tbody tr').count(), 4);
});

test('at 1024×768 the layout holds: no tile clipped, nothing past the window; the chips have a legend; the speedup says it is estimated', async () => {
  await page.setViewportSize({ width: 1024, height: 768 });
  try {
    await page.waitForTimeout(200);
    const layout = await page.evaluate(() => {
      type Box = { left: number; right: number; top: number; bottom: number };
      type El = { getBoundingClientRect(): Box; scrollWidth: number; clientWidth: number; className: string; textContent: string };
      const doc = document as unknown as {
        documentElement: { scrollWidth: number };
        querySelectorAll(s: string): ArrayLike<El>;
        querySelector(s: string): El | null;
      };
      const panel = doc.querySelector('.acceptance')!.getBoundingClientRect();
      const tiles = Array.from(doc.querySelectorAll('.tile')).map((t) => {
        const box = t.getBoundingClientRect();
        const value = (t as unknown as { querySelector(s: string): El }).querySelector('.tile-value');
        return {
          text: t.textContent,
          inside: box.left >= panel.left - 0.5 && box.right <= panel.right + 0.5,
          clipped: value.scrollWidth > value.clientWidth + 1,
        };
      });
      const panels = Array.from(doc.querySelectorAll('.panel')).map((p) => ({ name: p.className, right: p.getBoundingClientRect().right }));
      return { scrollWidth: doc.documentElement.scrollWidth, tiles, panels };
    });
    assert.ok(layout.scrollWidth <= 1024, `page is ${layout.scrollWidth} px wide`);
    assert.equal(layout.tiles.length, 5);
    for (const t of layout.tiles) assert.ok(t.inside && !t.clipped, `tile ${t.text}: inside ${t.inside}, clipped ${t.clipped}`);
    for (const p of layout.panels) assert.ok(p.right <= 1024, `${p.name} ends at ${p.right}`);
    await page.getByTestId('chip-legend').waitFor();
    assert.match(await page.getByTestId('chip-legend').innerText(), /accepted[\s\S]*first rejection[\s\S]*replacement[\s\S]*bonus/);
    assert.equal(await page.getByTestId('basis-speedup-over-ar').innerText(), 'estimated');
    await page.screenshot({ path: path.join(OUTPUT, 'e2e-1024x768.png') });
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test('a sentence preview plays from a WAV blob (duration > 0), and the document plays', async () => {
  await page.getByRole('button', { name: 'Play sentence 2' }).click();
  const audio = page.getByTestId('preview-audio');
  await page.waitForFunction(() => {
    const el = document.querySelector<HTMLAudioElement>('[data-testid="preview-audio"]');
    return el !== null && Number.isFinite(el.duration) && el.duration > 0;
  });
  const duration = await audio.evaluate((el) => (el as HTMLAudioElement).duration);
  assert.ok(duration > 0, `audio duration ${duration}`);
  assert.match(await audio.evaluate((el) => (el as HTMLAudioElement).src), /^blob:/);
  await page.getByRole('button', { name: '■ Stop' }).click();
  await page.getByTestId('play-document').click();
  await page
    .getByTestId('heard')
    .filter({ hasText: /^Sentence 1:/ })
    .waitFor();
  await page.locator('.sentence.heard').first().waitFor();
});

test('the highlighted word moves during playback', async () => {
  await page.getByRole('button', { name: '■ Stop' }).click();
  await page.getByTestId('play-document').click();
  const mark = page.getByTestId('current-word');
  await mark.waitFor({ timeout: 10_000 });
  /** Where the highlight is: the heard sentence's text before the mark, and the marked word. */
  const where = (): Promise<string> =>
    mark.evaluate(
      (el) =>
        `${(el as unknown as { parentElement: { textContent: string } }).parentElement.textContent}|${(el as unknown as { previousSibling: { textContent: string } | null }).previousSibling?.textContent ?? ''}|${(el as unknown as { textContent: string }).textContent}`,
    );
  const first = await where();
  const seen = new Set([first]);
  for (let i = 0; i < 100 && seen.size < 3; i++) {
    await page.waitForTimeout(50);
    if ((await mark.count()) > 0) seen.add(await where().catch(() => first));
  }
  assert.ok(seen.size >= 3, `the highlight moved through ${[...seen].join(' / ')}`);
  await page.getByRole('button', { name: '■ Stop' }).click();
});

test('a gamma sweep charts tokens/s and α against gamma, with the theory curve; the best gamma applies', async () => {
  await page.getByTestId('run-sweep').click();
  await page
    .locator('[data-testid="sweep-chart"] .theory')
    .first()
    .waitFor({ timeout: LONG * 3 });
  await page
    .getByTestId('apply-best')
    .filter({ hasText: 'γ =' })
    .waitFor({ timeout: LONG * 3 });
  assert.equal(await page.locator('[data-testid="sweep-chart"] svg').first().locator('circle.measured-point').count(), 8);
  assert.match((await page.locator('[data-testid="sweep-chart"] circle.measured-point title').first().textContent()) ?? '', /^γ 1: \d+ tok\/s$/);
  const label = await page.getByTestId('apply-best').innerText();
  const best = Number(/γ = (\d+)/.exec(label)?.[1]);
  await page.getByTestId('apply-best').click();
  assert.equal(await page.locator('#gamma').inputValue(), String(best));
  // The sweep ran this text with the job's strategy at every gamma: the speedup tile is now a measurement.
  await page
    .getByTestId('basis-speedup-over-ar')
    .filter({ hasText: /^measured$/ })
    .waitFor({ timeout: 5_000 });
  await page.screenshot({ path: path.join(OUTPUT, 'e2e-sweep.png') });
});

test('export writes a valid WAV through the download', async () => {
  await page.locator('#export-format').selectOption('wav');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const file = path.join(OUTPUT, 'e2e-export.wav');
  await download.saveAs(file);
  const wav = await readFile(file);
  assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
  assert.equal(wav.toString('ascii', 8, 12), 'WAVE');
  assert.equal(wav.readUInt32LE(4), wav.length - 8, 'RIFF size matches the file');
  const sampleRate = wav.readUInt32LE(24);
  assert.ok(sampleRate >= 8000 && sampleRate <= 48000, `sample rate ${sampleRate}`);
  let offset = 12;
  let dataBytes = 0;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === 'data') dataBytes = size;
    offset += 8 + size + (size % 2);
  }
  assert.ok(dataBytes > sampleRate, `more than half a second of 16-bit audio (${dataBytes} bytes)`);
  await page.getByTestId('export-message').filter({ hasText: 'spear-document.wav' }).waitFor();
});

/** The document's measured audio length in seconds, from the preview's "position / total" readout. */
async function totalSeconds(): Promise<number> {
  const text = await page.locator('.transport .time').innerText();
  const total = /\/\s*(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)/.exec(text);
  assert.ok(total, `time readout: ${text}`);
  return Number(total[1] ?? 0) * 3600 + Number(total[2]) * 60 + Number(total[3]);
}

test('the rate control changes the duration (faster: shorter audio, the same sentences)', async () => {
  const atRate1 = await totalSeconds();
  assert.ok(atRate1 > 1, `rate 1: ${atRate1} s`);
  await page.locator('#rate').fill('2');
  assert.match(await page.locator('output[for="rate"]').innerText(), /^2\.00×$/);
  await page.getByTestId('synthesize').click();
  await page.getByTestId('job-status').filter({ hasText: 'Done.' }).waitFor({ timeout: LONG });
  const atRate2 = await totalSeconds();
  assert.ok(atRate2 < atRate1 * 0.8, `rate 2: ${atRate2} s vs ${atRate1} s at rate 1`);
  await page.locator('#rate').fill('1');
});

test('a GPU provider that cannot start falls back to CPU with a visible notice', { skip: REAL_VOICE && 'needs a machine without that GPU' }, async () => {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  await page.locator('#provider').selectOption('webgpu');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved').waitFor();
  await page.getByTestId('synthesize').click();
  await page.getByTestId('provider-notice').filter({ hasText: 'runs on CPU' }).waitFor({ timeout: LONG });
  await page.getByTestId('job-status').filter({ hasText: 'Done.' }).waitFor({ timeout: LONG });
  await page.locator('#provider').selectOption('cpu');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
});

test('screenshot of the studio mid-decode (tests/output/e2e-studio.png; docs/screenshot.png is a copy)', async () => {
  // Informational toasts leave by themselves after a few seconds.
  for (let i = 0; i < 150 && (await page.locator('.toasts .notice').count()) > 0; i++) await page.waitForTimeout(100);
  await page.getByTestId('synthesize').click();
  await page.locator('.sentence.decoded').first().waitFor({ timeout: LONG });
  await page.screenshot({ path: path.join(OUTPUT, 'e2e-studio.png') });
  await page.getByTestId('job-status').filter({ hasText: 'Done.' }).waitFor({ timeout: LONG });
});

test('the Compare view runs a tiny comparison: progress, three charts and the table fill; the results download as JSON', async () => {
  await page.locator('#document-text').fill(DOCUMENT);
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  const view = page.getByTestId('compare-view');
  const strategies = view.locator('input[name="compare-strategy"]');
  await strategies.first().waitFor({ timeout: LONG });
  // The first strategy the voice offers, at γ 1 and 2, one repeat: ar and two cells.
  for (let i = 1; i < (await strategies.count()); i++) await strategies.nth(i).uncheck();
  const gammas = view.locator('input[name="compare-gamma"]');
  for (let i = 2; i < (await gammas.count()); i++) await gammas.nth(i).uncheck();
  await page.getByTestId('run-compare').click();
  await page
    .getByTestId('compare-progress')
    .filter({ hasText: /runs · next: / })
    .waitFor({ timeout: LONG });
  const rows = page.locator('[data-testid="compare-table"] [data-testid="compare-row"]');
  await rows.nth(2).waitFor({ timeout: LONG });
  await page.getByTestId('run-compare').filter({ hasText: /^Run$/ }).waitFor({ timeout: LONG });
  assert.equal(await rows.count(), 3);
  assert.equal(await page.locator('[data-testid="compare-charts"] svg[role="img"]').count(), 3);
  for (const metric of ['acceptanceRate', 'tokensPerTargetCall', 'tokensPerSecond']) {
    assert.equal(await page.locator(`.compare-chart[data-metric="${metric}"] circle.point`).count(), 2, `${metric}: a point at γ 1 and γ 2`);
  }
  assert.equal(await page.locator('.compare-chart[data-metric="tokensPerSecond"] line.reference').count(), 1, 'ar is the units/s reference');
  assert.match(await rows.first().innerText(), /^autoregressive \(ar\)\s+1\s+\d+\s+1\.00×/);
  await page.screenshot({ path: path.join(OUTPUT, 'e2e-compare.png') });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-compare-json').click()]);
  const file = path.join(OUTPUT, 'e2e-compare.json');
  await download.saveAs(file);
  const json = JSON.parse(await readFile(file, 'utf8')) as { complete: boolean; gammas: number[]; rows: { strategy: string; tokens_per_s: number }[] };
  assert.equal(json.complete, true);
  assert.deepEqual(json.gammas, [1, 2]);
  assert.equal(json.rows.length, 3);
  assert.ok(json.rows.every((r) => r.tokens_per_s > 0));
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
});

test('dropping an EPUB loads its text: chapters in reading order, headings as paragraphs', async () => {
  const epub = Buffer.from(makeEpub(EPUB_CHAPTERS)).toString('base64');
  const dataTransfer = await page.evaluateHandle(
    ([name, b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes as unknown as string], name, { type: 'application/epub+zip' }));
      return dt;
    },
    ['book.epub', epub] as const,
  );
  await page.locator('[data-testid="drop-zone"]').dispatchEvent('dragover', { dataTransfer });
  await page.locator('[data-testid="drop-zone"]').dispatchEvent('drop', { dataTransfer });
  await page.getByTestId('file-message').filter({ hasText: 'Read “book.epub” (EPUB: Test).' }).waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('#document-text').inputValue(), PLAIN);
  await page.locator('[data-testid="sentences"] li').nth(5).waitFor();
  assert.equal(await page.locator('[data-testid="sentences"] li').first().innerText(), 'Chapter One\n▶');
});

test('the page logged no errors (CSP violations included)', () => {
  assert.deepEqual(pageErrors, []);
});
