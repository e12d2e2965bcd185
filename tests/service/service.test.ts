import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StudioEvent } from '../../electron/ipc-contract.ts';
import { StudioService } from '../../electron/service/service.ts';
import { memorySettings } from '../../electron/service/settings.ts';
import { ServiceClient } from '../../electron/service/client.ts';
import type { SynthesizeHooks } from '../../electron/service/backend.ts';
import { createFakeBackend } from '../helpers/fake-synthesizer.ts';
import { EPUB_CHAPTERS, HTML, makeEpub, makePdf, MARKDOWN, PDF_PAGES, PLAIN } from '../helpers/documents.ts';

const DOC = 'The first sentence is short. The second one is a little longer than the first. A third!';

function harness() {
  const backend = createFakeBackend({ speed: 0 });
  const events: StudioEvent[] = [];
  const service = new StudioService({ backend, settings: memorySettings(), emit: (e) => events.push(e) });
  const settled = (jobId: string) =>
    new Promise<StudioEvent>((resolve) => {
      const timer = setInterval(() => {
        const end = events.find(
          (e) =>
            (e.type === 'job' && e.jobId === jobId && e.event.type === 'done') ||
            ((e.type === 'job-error' || e.type === 'job-canceled' || e.type === 'sweep-done') && e.jobId === jobId),
        );
        if (end) clearInterval(timer), resolve(end);
      }, 2);
    });
  return { backend, events, service, settled };
}

test("a job streams the pipeline events in order, stamped with its id, and keeps each sentence's audio", async () => {
  const { events, service, settled } = harness();
  const jobId = service.synthesize(DOC, { strategy: 'early-exit', gamma: 4 });
  const end = await settled(jobId);
  assert.equal(end.type, 'job');
  const mine = events.filter((e): e is Extract<StudioEvent, { type: 'job' }> => e.type === 'job' && e.jobId === jobId);
  assert.equal(mine[0].event.type, 'sentences');
  assert.equal(mine.at(-1)!.event.type, 'done');
  const steps = mine.filter((e) => e.event.type === 'step');
  assert.ok(steps.length > 10);
  assert.ok(
    steps.some((e) => e.event.type === 'step' && e.event.accepted < e.event.drafted.length),
    'some drafts are rejected',
  );
  assert.ok(
    mine.every((e, i) => i === 0 || e.t >= mine[i - 1].t),
    'timestamps never go back',
  );
  assert.equal(mine.filter((e) => e.event.type === 'audio').length, 3);
});

test('export writes the whole document (or one sentence) to the given path as a WAV', async () => {
  const { service, settled } = harness();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spear-export-'));
  try {
    const jobId = service.synthesize(DOC, {});
    await settled(jobId);
    const file = path.join(dir, 'doc.wav');
    const { bytes } = await service.exportAudio(jobId, 'wav', { exportId: 'e1' }, file);
    const wav = await readFile(file);
    assert.equal(wav.length, bytes);
    assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
    assert.equal(wav.readUInt32LE(24), 16000);
    const one = path.join(dir, 'one.wav');
    const single = await service.exportAudio(jobId, 'wav', { exportId: 'e2', sentence: 1 }, one);
    assert.ok(single.bytes < bytes);
    await assert.rejects(service.exportAudio('no-such-job', 'wav', { exportId: 'e3' }, file), /unknown/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a new job cancels the running one; cancel() cancels', async () => {
  const backend = createFakeBackend({ speed: 1 });
  const events: StudioEvent[] = [];
  const service = new StudioService({ backend, settings: memorySettings(), emit: (e) => events.push(e) });
  const first = service.synthesize(DOC, {});
  await new Promise((r) => setTimeout(r, 20));
  const second = service.synthesize(DOC, {});
  await new Promise((r) => setTimeout(r, 20));
  service.cancel(second);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(events.some((e) => e.type === 'job-canceled' && e.jobId === first));
  assert.ok(events.some((e) => e.type === 'job-canceled' && e.jobId === second));
  assert.ok(!events.some((e) => e.type === 'job' && e.event.type === 'done'));
  await service.dispose();
});

test('a sweep runs ar then gamma 1…8 and reports a best gamma and a theoretical curve', async () => {
  const { backend, events, service, settled } = harness();
  const hooks: SynthesizeHooks[] = [];
  const synthesize = backend.synthesize.bind(backend);
  backend.synthesize = (voice, text, settings, h) => (hooks.push(h), synthesize(voice, text, settings, h));
  const jobId = service.sweep(DOC, { strategy: 'eagle' });
  const end = await settled(jobId);
  assert.equal(end.type, 'sweep-done');
  if (end.type !== 'sweep-done') return;
  assert.deepEqual(
    end.result.points.map((p) => p.gamma),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.equal(end.result.theory.curve.length, 8);
  assert.ok(end.result.baselineTokensPerSecond > 0);
  assert.ok(
    end.result.points.some((p) => p.measuredSpeedup > 1),
    'speculation beats ar on the fake',
  );
  const best = Math.max(...end.result.points.map((p) => p.tokensPerSecond));
  assert.equal(end.result.points.find((p) => p.gamma === end.result.bestGamma)!.tokensPerSecond, best);
  assert.equal(events.filter((e) => e.type === 'sweep-progress' && e.point).length, 8);
  // Every run decodes the same work, as spear bench does: no re-readings, speaking after each batch.
  assert.equal(hooks.length, 9);
  assert.ok(hooks.every((h) => h.rereadings === 0 && h.speakWhileDecoding === false));
});

test('a GPU provider that fails is reported; changing it reopens the voice and releases the old one', async () => {
  const { backend, events, service, settled } = harness();
  await service.setSettings({ provider: 'webgpu' });
  await settled(service.synthesize(DOC, {}));
  const report = events.find((e) => e.type === 'provider');
  assert.ok(report && report.type === 'provider' && report.report.used === 'cpu' && report.report.fallbackReason);
  assert.deepEqual(service.listProviders().available, ['cpu', 'webgpu']);
  await service.setSettings({ provider: 'cpu' });
  await settled(service.synthesize(DOC, {}));
  assert.equal(backend.opened.length, 2);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(backend.opened[0].released, true);
  await service.dispose();
  assert.equal(backend.opened[1].released, true, 'dispose releases the voice');
});

test('prepare() opens the voice and reads one short sentence before the first job, which then uses it', async () => {
  const { backend, events, service, settled } = harness();
  const texts: string[] = [];
  const synthesize = backend.synthesize.bind(backend);
  backend.synthesize = (voice, text, settings, h) => (texts.push(text), synthesize(voice, text, settings, h));
  service.prepare();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(backend.opened.length, 1, 'opened before any job');
  assert.equal(texts.length, 1, 'one warm-up reading');
  assert.ok(!events.some((e) => e.type === 'job'), 'the warm-up is no job: nothing reaches the window');
  assert.ok(
    events.some((e) => e.type === 'provider'),
    'the provider is reported once the voice is open',
  );
  await settled(service.synthesize(DOC, {}));
  service.prepare();
  assert.equal(backend.opened.length, 1, 'the job and a second prepare() reuse it');
  assert.deepEqual(texts.slice(1), [DOC], 'and nothing is warmed again');
  await service.dispose();
});

test('the service runs in a worker thread behind ServiceClient', async () => {
  const client = new ServiceClient({ backendModule: new URL('../helpers/fake-synthesizer.ts', import.meta.url).href });
  try {
    assert.equal(await client.ready, 'fake voice');
    const events: StudioEvent[] = [];
    client.onEvent((e) => events.push(e));
    const sentences = await client.call('segment', [DOC]);
    assert.equal(sentences.length, 3);
    const jobId = await client.call('synthesize', [DOC, { gamma: 3 }]);
    while (!events.some((e) => e.type === 'job' && e.jobId === jobId && e.event.type === 'done')) await new Promise((r) => setTimeout(r, 10));
    const audio = events.find((e) => e.type === 'job' && e.event.type === 'audio');
    assert.ok(audio && audio.type === 'job' && audio.event.type === 'audio' && audio.event.samples instanceof Float32Array);
    await assert.rejects(client.exportTo(['nope', 'wav', { exportId: 'x' }], '/tmp/x.wav'), /unknown/);
    // A dropped EPUB crosses the worker boundary as base64 and comes back as its text.
    const book = await client.call('importDocument', ['book.epub', Buffer.from(makeEpub(EPUB_CHAPTERS)).toString('base64')]);
    assert.deepEqual(book, { text: PLAIN, format: 'epub', title: 'Test' });
  } finally {
    await client.dispose();
  }
});

test('importDocument reads HTML, Markdown, EPUB and PDF; refuses an empty or an over-long text in words', async () => {
  const { service } = harness();
  const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64');
  assert.equal((await service.importDocument('page.html', b64(HTML))).text, PLAIN);
  assert.equal((await service.importDocument('notes.md', b64(MARKDOWN))).format, 'markdown');
  assert.equal((await service.importDocument('book.pdf', b64(makePdf(PDF_PAGES)))).text, PLAIN);
  await assert.rejects(
    service.importDocument('empty.html', b64('<html><body><script>x</script></body></html>')),
    /^Error: empty\.html: has no text to read$|empty\.html: has no text to read/,
  );
  const huge = `<p>${'word '.repeat(210_000)}</p>`;
  await assert.rejects(
    service.importDocument('huge.html', b64(huge)),
    /huge\.html: its text has 1,049,999 characters, more than the 1,000,000 the studio reads at once/,
  );
  await assert.rejects(service.importDocument('broken.pdf', b64('%PDF-1.4 nonsense')), /broken\.pdf: cannot be read as a PDF file/);
});

test('export reports progress as it writes, and a cancelled export leaves no file', async () => {
  const backend = createFakeBackend({ speed: 0 });
  const events: StudioEvent[] = [];
  let cancelOnFirstProgress = false;
  const service: StudioService = new StudioService({
    backend,
    settings: memorySettings(),
    emit: (e) => {
      events.push(e);
      if (cancelOnFirstProgress && e.type === 'export-progress' && e.phase === 'encoding') service.cancel(e.exportId);
    },
  });
  const long = Array.from({ length: 24 }, (_, i) => `This is sentence number ${i + 1} of a document long enough to export in chunks.`).join(' ');
  const jobId = service.synthesize(long, {});
  while (!events.some((e) => e.type === 'job' && e.event.type === 'done')) await new Promise((r) => setTimeout(r, 5));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spear-export-'));
  try {
    await service.exportAudio(jobId, 'mp3', { exportId: 'full' }, path.join(dir, 'full.mp3'));
    const fractions = events.filter((e) => e.type === 'export-progress' && e.exportId === 'full').map((e) => (e.type === 'export-progress' ? e.fraction : -1));
    assert.ok(fractions.length >= 5, `several progress steps (${fractions.join(', ')})`);
    assert.deepEqual(
      [...fractions].sort((a, b) => a - b),
      fractions,
      'progress only grows',
    );
    assert.equal(fractions.at(-1), 1);

    cancelOnFirstProgress = true;
    const target = path.join(dir, 'cancelled.wav');
    await assert.rejects(service.exportAudio(jobId, 'wav', { exportId: 'cut' }, target), /cancelled; no file was written/);
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual((await readdir(dir)).sort(), ['full.mp3']);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await service.dispose();
  }
});
