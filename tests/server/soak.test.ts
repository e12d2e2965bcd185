/**
 * Soak test of browser mode's WebSocket server (electron/server/server.ts) on the loopback interface,
 * with the fake synthesizer: malformed and oversized frames, 100 jobs and cancels from 10 connections
 * at once, a connection that stops reading, a burst of requests, connections that leave mid-job;
 * memory stays within a bound and closing the server leaves no socket, job or temporary file.
 *
 * Bounded: fixed counts, every wait has a deadline, and the file stops by itself in well under a
 * minute on the shared 2-core machine. The temporary folder is one of the test's own (TMPDIR), so
 * "nothing left behind" is checked without other tests' files in the way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import { LIMITS, type StudioEvent, type WsMessage } from '../../electron/ipc-contract.ts';
import { startServer, SERVER_LIMITS, type RunningServer } from '../../electron/server/server.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let server: RunningServer;
let rendererDir: string;
let tempDir: string;
const savedEnv = { TMPDIR: process.env.TMPDIR, SPEAR_FAKE_SPEED: process.env.SPEAR_FAKE_SPEED };

before(async () => {
  rendererDir = await mkdtemp(path.join(os.tmpdir(), 'spear-soak-renderer-'));
  await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>soak</title>');
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'spear-soak-tmp-'));
  // The server's export folder lands in our own TMPDIR; the fake sleeps a fifth of its simulated time,
  // so a job lasts long enough to be cancelled mid-way (the worker copies this environment at start).
  process.env.TMPDIR = tempDir;
  process.env.SPEAR_FAKE_SPEED = '0.2';
  server = await startServer({ rendererDir, service: { backendModule: new URL('../helpers/fake-synthesizer.ts', import.meta.url).href } });
  process.env.TMPDIR = savedEnv.TMPDIR;
  if (savedEnv.SPEAR_FAKE_SPEED === undefined) delete process.env.SPEAR_FAKE_SPEED;
  else process.env.SPEAR_FAKE_SPEED = savedEnv.SPEAR_FAKE_SPEED;
});

after(async () => {
  // Even after a failure nothing may keep the process alive: drop every client socket first.
  for (const client of clients) client.ws.terminate();
  await server?.close().catch(() => undefined);
  await rm(rendererDir, { recursive: true, force: true });
  await rm(tempDir, { recursive: true, force: true });
});

type Result = WsMessage & { kind: 'result' };
/** Every test is bounded in time, so a regression fails rather than hangs. */
const BOUNDED = { timeout: 90_000 };
// NOTE: every assert.ok here carries a message: without one, Node builds it by re-parsing the
// transpiled source (one long line under tsx), which took minutes in this file.
const clients = new Set<Client>();

/** One browser tab's connection: numbered requests, their replies, the events and binary frames seen. */
class Client {
  readonly replies = new Map<number, Result>();
  /** Every reply in arrival order (malformed frames share ids: -1 for those without one). */
  readonly log: Result[] = [];
  /** Jobs seen decoding, and how jobs ended (kept as ids: a soak's events are too many to keep). */
  readonly started = new Set<string>();
  readonly done = new Set<string>();
  readonly canceled = new Set<string>();
  readonly failed = new Set<string>();
  binaryFrames = 0;
  closed: { code: number } | null = null;
  // Far from the ids the malformed frames use, so a reply is never mistaken for another's.
  private nextId = 1000;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames++;
      else {
        const m = JSON.parse(String(data)) as WsMessage;
        if (m.kind === 'result') {
          this.replies.set(m.id, m);
          this.log.push(m);
        } else this.note(m.event);
      }
      this.wake();
    });
    ws.on('close', (code) => {
      this.closed = { code };
      clients.delete(this);
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  private note(event: StudioEvent): void {
    if (event.type === 'job-canceled') this.canceled.add(event.jobId);
    else if (event.type === 'job-error') this.failed.add(event.jobId);
    else if (event.type === 'job' && event.event.type === 'step') this.started.add(event.jobId);
    else if (event.type === 'job' && event.event.type === 'done') this.done.add(event.jobId);
  }

  /** Whether the job has ended: done, cancelled or failed. */
  ended(jobId: string): boolean {
    return this.done.has(jobId) || this.canceled.has(jobId) || this.failed.has(jobId);
  }

  static open(): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
      ws.once('open', () => {
        const client = new Client(ws);
        clients.add(client);
        resolve(client);
      });
      ws.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `ready()` holds, or fails after `ms`. */
  async until(ready: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Sends a request frame without waiting; returns its id. */
  send(method: string, args: unknown[]): number {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, args }));
    return id;
  }

  async call(method: string, args: unknown[]): Promise<Result> {
    const id = this.send(method, args);
    await this.until(() => this.replies.has(id), `the reply to ${method} #${id}`);
    return this.replies.get(id)!;
  }

  close(): Promise<void> {
    this.ws.close();
    return this.until(() => this.closed !== null, 'the socket to close');
  }
}

const errorOf = (r: Result): string => (r.ok ? '' : r.error);
const valueOf = <T>(r: Result): T => {
  assert.ok(r.ok, errorOf(r));
  return r.value as T;
};

function memory(): { rss: number; heap: number } {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const DOC = 'The first sentence is short. The second one is a little longer than the first. A third!';
let watcher: Client;
let baseline: { rss: number; heap: number };

test('warm-up: a job runs end to end (the baseline for memory is taken after it)', BOUNDED, async () => {
  watcher = await Client.open();
  const jobId = valueOf<string>(await watcher.call('synthesize', [DOC, {}]));
  await watcher.until(() => watcher.ended(jobId), 'the warm-up job');
  baseline = memory();
});

test('malformed frames get one error reply each and leave the connection usable', BOUNDED, async () => {
  const client = await Client.open();
  const frames: unknown[] = [
    'not json',
    '',
    '{',
    'null',
    '42',
    '"a string"',
    '[]',
    '{}',
    '{"id": 1}',
    '{"id": 1.5, "method": "segment", "args": ["x"]}',
    '{"id": -3, "method": "segment", "args": ["x"]}',
    `{"id": ${Number.MAX_SAFE_INTEGER + 2}, "method": "segment", "args": ["x"]}`,
    '{"id": 2, "method": "segment"}',
    '{"id": 3, "method": "segment", "args": "One. Two."}',
    '{"id": 4, "method": "segment", "args": [null]}',
    '{"id": 5, "method": "segment", "args": ["a", "b", "c", "d", "e"]}',
    '{"id": 6, "method": "constructor", "args": []}',
    '{"id": 7, "method": "__proto__", "args": []}',
    '{"id": 8, "method": "segment", "args": ["x"], "extra": true}',
    '{"id": 9, "method": "synthesize", "args": ["Hi.", {"__proto__": {"polluted": true}}]}',
    '{"id": 10, "method": "synthesize", "args": ["Hi.", {"gamma": 1e308}]}',
    '{"id": 11, "method": "cancel", "args": ["../../etc/passwd"]}',
    '{"id": 12, "method": "exportAudio", "args": ["job", "exe", {"exportId": "e"}]}',
    '{"id": 13, "method": "importDocument", "args": ["x.epub", "not base64!!"]}',
    '{"id": 14, "method": "setSettings", "args": [{"threads": -1}]}',
    '{"id": 15, "method": "addLexiconEntry", "args": ["Foo", "F AH"]}',
    '{"id": 16, "method": "hearWord", "args": ["two words", null]}',
    `{"id": 17, "method": "segment", "args": [${'['.repeat(10_000)}${']'.repeat(10_000)}]}`,
    '\u0000\u0001\u0002',
    '\uFFFF\uD800',
  ];
  for (const frame of frames) client.ws.send(String(frame));
  for (let i = 0; i < 5; i++) client.ws.send(Buffer.from(Array.from({ length: 64 }, (_, k) => (k * 37 + i) % 256)), { binary: true });
  const expected = frames.length + 5;
  await client.until(() => client.log.length >= expected, `${expected} error replies`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(client.log.length, expected, 'exactly one reply per frame');
  assert.deepEqual(
    client.log.filter((r) => r.ok),
    [],
    'every malformed frame is refused',
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  assert.equal(client.closed, null, 'the connection stays open');
  const ok = await client.call('segment', ['One. Two.']);
  assert.equal(valueOf<unknown[]>(ok).length, 2);
  await client.close();
});

test('an oversized frame closes only its own connection (1009); oversized arguments are refused in words', BOUNDED, async () => {
  const big = await Client.open();
  const other = await Client.open();
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): number => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    big.ws.send('x'.repeat(SERVER_LIMITS.maxFrameBytes + 1));
    await big.until(() => big.closed !== null, 'the oversized frame to close its connection');
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.equal(big.closed?.code, 1009);
  assert.deepEqual(uncaught.map(String), [], 'the server raised nothing (in npm run serve, an uncaught error ends the server)');
  const tooLong = await other.call('segment', ['a'.repeat(LIMITS.documentChars + 1)]);
  assert.match(errorOf(tooLong), /at most 1000000 characters/);
  const tooLongWord = await other.call('addLexiconEntry', ['a'.repeat(LIMITS.lexiconWordChars + 1), 'win']);
  assert.match(errorOf(tooLongWord), /at most 64 letters/);
  assert.equal(valueOf<unknown[]>(await other.call('segment', ['Still here.'])).length, 1);
  await other.close();
});

test('a burst of requests on one connection: every one gets one reply, and at most the bound are in flight', BOUNDED, async () => {
  const client = await Client.open();
  const doc = 'A sentence of some length to split. '.repeat(2_000);
  const ids = Array.from({ length: 300 }, () => client.send('segment', [doc]));
  await client.until(() => ids.every((id) => client.replies.has(id)), 'every reply to the burst', 30_000);
  const refused = ids.filter((id) => !client.replies.get(id)!.ok);
  assert.ok(refused.length > 0, 'a burst past the bound is refused, not queued without end');
  for (const id of refused) assert.match(errorOf(client.replies.get(id)!), /too many requests/);
  assert.ok(ids.length - refused.length >= SERVER_LIMITS.maxRequestsInFlight, 'requests up to the bound are served');
  assert.equal(client.log.length, ids.length, 'one reply each');
  await client.close();
});

test('100 jobs and cancels from 10 connections at once all end, and the service still works after', BOUNDED, async () => {
  const clients = await Promise.all(Array.from({ length: 10 }, () => Client.open()));
  const jobIds: string[] = [];
  await Promise.all(
    clients.map(async (client, c) => {
      const pending: Promise<Result>[] = [];
      for (let k = 0; k < 10; k++) {
        pending.push(client.call('synthesize', [`Connection ${c}, job ${k}. ${DOC}`, { gamma: 1 + ((c + k) % 8) }]));
        // Every third request is cancelled as soon as its id is known; the rest cancel one another.
        if (k % 3 === 0) {
          void pending[k].then((r) => {
            if (r.ok) client.send('cancel', [r.value]);
          });
        }
        if (k % 4 === 1) await new Promise((r) => setTimeout(r, 5));
      }
      for (const r of await Promise.all(pending)) jobIds.push(valueOf<string>(r));
    }),
  );
  assert.equal(new Set(jobIds).size, 100);
  await watcher.until(() => jobIds.every((id) => watcher.ended(id)), 'all 100 jobs to end', 60_000);
  assert.ok(jobIds.filter((id) => watcher.canceled.has(id)).length >= 90, 'a new job cancels the one before it');
  assert.equal(watcher.failed.size, 0, 'no job failed');

  // Finished jobs' audio is released beyond the few kept for export.
  const oldest = await watcher.call('exportAudio', [jobIds[0], 'wav', { exportId: 'soak-old' }]);
  assert.match(errorOf(oldest), /unknown or its audio was released/);
  const last = valueOf<string>(await clients[0].call('synthesize', [DOC, {}]));
  await watcher.until(() => watcher.ended(last), 'a job after the storm');
  assert.ok(watcher.done.has(last), 'the job after the storm is done');
  await Promise.all(clients.map((c) => c.close()));
});

test('a connection that leaves mid-job cancels the jobs it started', BOUNDED, async () => {
  const leaving = await Client.open();
  const jobId = valueOf<string>(await leaving.call('synthesize', [DOC.repeat(20), {}]));
  await watcher.until(() => watcher.started.has(jobId), 'the job to start');
  await leaving.close();
  await watcher.until(() => watcher.ended(jobId), 'the job to end');
  assert.ok(watcher.canceled.has(jobId), 'the job of the connection that left was cancelled');
});

test('a connection that stops reading is closed once its backlog passes the bound; the others go on', BOUNDED, async (t) => {
  const stalled = await Client.open();
  stalled.ws.pause();
  // Each sentence of the fake is up to 1.2 s of audio (76.8 kB as float32): 400 sentences exceed the bound.
  const long = Array.from({ length: 400 }, (_, i) => `Sentence ${i} is a fairly long one, to give the fake voice a whole second of audio.`).join(' ');
  const jobId = valueOf<string>(await watcher.call('synthesize', [long, { strategy: 'eagle', gamma: 8 }]));
  await watcher.until(() => watcher.ended(jobId), 'the long job', 60_000);
  stalled.ws.resume();
  await stalled.until(() => stalled.closed !== null, 'the stalled connection to be closed');
  t.diagnostic(`the stalled client got ${stalled.binaryFrames} of 400 audio frames before it was closed (code ${stalled.closed?.code})`);
  assert.ok(stalled.binaryFrames < 400, `the stalled client got ${stalled.binaryFrames} of 400 audio frames before it was closed`);
  assert.equal(watcher.binaryFrames >= 400, true);
});

test('memory stays bounded over the soak (RSS and the main heap, after a GC)', BOUNDED, (t) => {
  const now = memory();
  const mb = (n: number): string => `${(n / 1_048_576).toFixed(1)} MB`;
  const rssGrowth = now.rss - baseline.rss;
  const heapGrowth = now.heap - baseline.heap;
  t.diagnostic(`RSS ${mb(baseline.rss)} → ${mb(now.rss)}; main heap ${mb(baseline.heap)} → ${mb(now.heap)}`);
  // Generous bounds: the point is "bounded", not a budget. RSS also holds the worker's heap, with the
  // audio of the last jobs kept for export (the 400-sentence job alone: ~31 MB) and allocator slack; the
  // main heap holds what the server queues for its clients (without the backlog bound: +70 MB here).
  assert.ok(heapGrowth < 24 * 1_048_576, `main heap grew ${mb(heapGrowth)} (from ${mb(baseline.heap)})`);
  assert.ok(rssGrowth < 256 * 1_048_576, `RSS grew ${mb(rssGrowth)} (from ${mb(baseline.rss)})`);
});

test('exports: the server keeps the last few files, not every one ever written', BOUNDED, async () => {
  const jobId = valueOf<string>(await watcher.call('synthesize', [DOC, {}]));
  await watcher.until(() => watcher.ended(jobId), 'the job to export');
  const urls: string[] = [];
  for (let i = 0; i < SERVER_LIMITS.keptExports + 6; i++)
    urls.push(valueOf<{ url: string }>(await watcher.call('exportAudio', [jobId, 'wav', { exportId: `soak-${i}` }])).url);
  const [exportDir] = (await readdir(tempDir)).filter((name) => name.startsWith('spear-exports-'));
  const files = await readdir(path.join(tempDir, exportDir));
  assert.equal(files.length, SERVER_LIMITS.keptExports, files.join(', '));
  assert.ok(files.includes(`soak-${SERVER_LIMITS.keptExports + 5}.wav`), 'the newest is kept');
  assert.ok(!files.includes('soak-0.wav'), 'the oldest is gone');
});

test('closing the server leaves nothing behind: sockets closed, no job, no temporary file, the port refused', BOUNDED, async () => {
  const client = await Client.open();
  // A job still running when the server closes is cancelled with it.
  const jobId = valueOf<string>(await client.call('synthesize', [DOC.repeat(20), {}]));
  await client.until(() => client.started.has(jobId), 'the job to start');
  await server.close();
  await client.until(() => client.closed !== null, 'the client socket to close');
  await watcher.until(() => watcher.closed !== null, 'the watcher socket to close');
  // tsx keeps its compile cache in the worker's TMPDIR (tsx-<uid>): that one is not the server's.
  assert.deepEqual(
    (await readdir(tempDir)).filter((name) => !name.startsWith('tsx-')),
    [],
    'the export folder and its files are gone',
  );
  await assert.rejects(server.service.call('segment', ['x']), /stopped/);
  await assert.rejects(Client.open(), /ECONNREFUSED/);
});
