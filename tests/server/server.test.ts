/**
 * Browser mode's server: loopback only, the token gate (URL or cookie), Host and Origin checks,
 * zod-validated request frames, binary audio frames, and downloads of exports it wrote itself.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { StudioEvent, WsMessage } from '../../electron/ipc-contract.ts';
import { startServer, type RunningServer } from '../../electron/server/server.ts';

let server: RunningServer;
let rendererDir: string;

before(async () => {
  rendererDir = await mkdtemp(path.join(os.tmpdir(), 'spear-renderer-'));
  await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>test</title>');
  server = await startServer({ rendererDir, service: { backendModule: new URL('../helpers/fake-synthesizer.ts', import.meta.url).href } });
});

after(async () => {
  await server.close();
  await rm(rendererDir, { recursive: true, force: true });
});

function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: server.port, path: pathname, headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

function connect(query: string, origin = `http://127.0.0.1:${server.port}`): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, { origin });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('listens on the loopback interface only, and the URL carries a long random token', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
});

test('pages need the token (URL or the cookie set from it); a foreign Host is refused', async () => {
  assert.equal((await get('/')).status, 403);
  assert.equal((await get('/?token=wrong')).status, 403);
  const ok = await get(`/?token=${server.token}`);
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['set-cookie']), /spear_token=.*HttpOnly; SameSite=Strict/);
  assert.match(String(ok.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal((await get('/index.html', { cookie: `spear_token=${server.token}` })).status, 200);
  assert.equal((await get(`/?token=${server.token}`, { host: `evil.example:${server.port}` })).status, 421);
  assert.equal((await get(`/..%2f..%2fetc%2fpasswd?token=${server.token}`)).status, 404);
  assert.equal((await get(`/exports/nope?token=${server.token}`)).status, 404);
});

test('the WebSocket needs the token and this server as Origin', async () => {
  await assert.rejects(connect(''), /403/);
  await assert.rejects(connect(`?token=${server.token}`, 'http://evil.example'), /403/);
  const ws = await connect(`?token=${server.token}`);
  ws.close();
});

test('request frames are validated; the verbs work; audio arrives as binary frames; exports download', async () => {
  const ws = await connect(`?token=${server.token}`);
  const replies = new Map<number, WsMessage & { kind: 'result' }>();
  const events: StudioEvent[] = [];
  const binary: Buffer[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return binary.push(data as Buffer);
    const m = JSON.parse(String(data)) as WsMessage;
    if (m.kind === 'result') replies.set(m.id, m);
    else events.push(m.event);
  });
  const call = async (id: number, frame: unknown): Promise<WsMessage & { kind: 'result' }> => {
    replies.delete(id);
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    for (let i = 0; i < 500 && !replies.has(id); i++) await new Promise((r) => setTimeout(r, 10));
    const reply = replies.get(id);
    assert.ok(reply, `a reply to ${id}`);
    return reply;
  };
  const error = (m: WsMessage & { kind: 'result' }): string => (m.ok ? '' : m.error);

  assert.match(error(await call(-1, 'not json')), /JSON/);
  assert.match(error(await call(1, { id: 1, method: 'eval', args: [] })), /invalid request frame: method/);
  assert.match(error(await call(2, { id: 2, method: 'synthesize', args: ['Hi.', { gamma: 0 }] })), /synthesize: invalid argument 1\.gamma/);
  assert.match(error(await call(3, { id: 3, method: 'exportAudio', args: ['j', 'wav', { exportId: 'e', path: '/tmp/x' }] })), /invalid argument 2/);
  assert.deepEqual((await call(4, { id: 4, method: 'segment', args: ['One. Two.'] })).ok, true);

  const started = await call(5, { id: 5, method: 'synthesize', args: ['A first sentence. A second one.', { gamma: 3 }] });
  assert.ok(started.ok);
  const jobId = started.ok ? (started.value as string) : '';
  for (let i = 0; i < 500 && !events.some((e) => e.type === 'job' && e.event.type === 'done'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(events.some((e) => e.type === 'job' && e.jobId === jobId && e.event.type === 'step'));
  assert.equal(binary.length, 2, 'one binary frame per sentence of audio');
  const headerLength = binary[0].readUInt32LE(0);
  const header = JSON.parse(binary[0].subarray(4, 4 + headerLength).toString()) as WsMessage;
  assert.ok(header.kind === 'event' && header.event.type === 'job' && header.event.event.type === 'audio');
  assert.equal((binary[0].length - Math.ceil((4 + headerLength) / 4) * 4) % 4, 0);

  const exported = await call(6, { id: 6, method: 'exportAudio', args: [jobId, 'wav', { exportId: 'exp-1' }] });
  assert.ok(exported.ok);
  const result = exported.ok ? (exported.value as { status: string; url: string; fileName: string; bytes: number }) : null;
  assert.equal(result?.status, 'download');
  assert.equal(result?.fileName, 'spear-document.wav');
  assert.equal((await get(result!.url)).status, 403, 'downloads need the token too');
  const download = await get(result!.url, { cookie: `spear_token=${server.token}` });
  assert.equal(download.status, 200);
  assert.match(String(download.headers['content-disposition']), /attachment; filename="spear-document.wav"/);
  assert.equal(Number(download.headers['content-length']), result!.bytes);
  ws.close();
});

test('a comparison runs over the socket, its results download as CSV, and a connection that leaves cancels its comparison', async () => {
  const open = async () => {
    const ws = await connect(`?token=${server.token}`);
    const replies = new Map<number, WsMessage & { kind: 'result' }>();
    const events: StudioEvent[] = [];
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as WsMessage;
      if (m.kind === 'result') replies.set(m.id, m);
      else events.push(m.event);
    });
    const call = async (id: number, method: string, args: unknown[]): Promise<unknown> => {
      ws.send(JSON.stringify({ id, method, args }));
      for (let i = 0; i < 500 && !replies.has(id); i++) await new Promise((r) => setTimeout(r, 10));
      const reply = replies.get(id);
      assert.ok(reply, `a reply to ${id}`);
      if (!reply.ok) throw new Error(reply.error);
      return reply.value;
    };
    const ended = async (jobId: string, type: StudioEvent['type']): Promise<void> => {
      for (let i = 0; i < 1000 && !events.some((e) => e.type === type && 'jobId' in e && e.jobId === jobId); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(
        events.some((e) => e.type === type && 'jobId' in e && e.jobId === jobId),
        `${type} for ${jobId}`,
      );
    };
    return { ws, call, ended };
  };
  const first = await open();
  await assert.rejects(first.call(1, 'compare', ['One. Two.', { strategies: ['eagle'], gammas: [9] }]), /compare: invalid argument 1\.gammas\.0/);
  const jobId = (await first.call(2, 'compare', ['A first sentence. A second one.', { strategies: ['eagle'], gammas: [1, 2] }])) as string;
  await first.ended(jobId, 'compare-done');
  const exported = (await first.call(3, 'exportCompare', [jobId, 'csv'])) as { status: string; url: string; fileName: string; bytes: number };
  assert.equal(exported.status, 'download');
  assert.equal(exported.fileName, 'spear-compare.csv');
  const download = await get(exported.url, { cookie: `spear_token=${server.token}` });
  assert.equal(download.status, 200);
  assert.match(String(download.headers['content-type']), /^text\/csv/);
  assert.equal(Number(download.headers['content-length']), exported.bytes);
  assert.match(download.body, /^strategy,gamma,/);
  assert.equal(download.body.trim().split('\r\n').length, 4, 'a header and ar, eagle γ 1, eagle γ 2');

  // A long comparison, and its page leaves: the server cancels it (another connection sees the event).
  const long = (await first.call(4, 'compare', [
    'A first sentence. A second one.',
    { strategies: ['eagle'], gammas: [1, 2, 3, 4, 5, 6, 7, 8], repeats: 20 },
  ])) as string;
  const watcher = await open();
  first.ws.close();
  await watcher.ended(long, 'job-canceled');
  watcher.ws.close();
});
