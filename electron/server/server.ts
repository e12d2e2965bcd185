/**
 * Browser mode: a small HTTP server on the loopback interface that serves the built renderer and
 * speaks the IPC contract over a WebSocket to the same synthesis service the Electron app runs.
 *
 * Who may talk to it: only a page that knows the random token printed at start (in the URL; the
 * first page load turns it into an HttpOnly, SameSite=Strict cookie for the assets), whose Host is
 * the loopback address and port (no DNS rebinding), and whose WebSocket Origin is this server. Every
 * request frame is validated with zod before it reaches the service.
 *
 * Export: the browser has no save dialog this server could drive, so the service writes the file into
 * this server's own temporary folder and the page downloads it (the browser's own save prompt or
 * download folder decides where it lands). No request can name a path on this machine.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ExportResult, InvokeMethod, StudioEvent, WsMessage } from '../ipc-contract.ts';
import { ServiceClient, type ExportMethod, type ServiceClientOptions } from '../service/client.ts';
import { parseArgs, wsRequestSchema } from '../service/schemas.ts';
import { encodeAudioFrame } from './frames.ts';
import { CONTENT_SECURITY_POLICY } from './csp.ts';

export interface ServerOptions {
  /** Default 0: a random free port. */
  port?: number;
  /** The built renderer (vite build's outDir). */
  rendererDir: string;
  /** How to start the service (backend module, voice, settings file). */
  service?: ServiceClientOptions;
  /** Default: 24 random bytes, base64url. */
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  service: ServiceClient;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const COOKIE = 'spear_token';
/**
 * What one connection may hold of this server (tests/server/soak.test.ts drives each past its bound).
 * A page sends a few requests at a time and reads what it is sent at once; these stop a stuck or
 * misbehaving client from growing the server's memory or disk without end.
 */
export const SERVER_LIMITS = {
  /** Bytes of one incoming frame; a larger one closes its connection (1009). */
  maxFrameBytes: 8 * 1024 * 1024,
  /** Requests of one connection awaiting their replies; more are refused at once. */
  maxRequestsInFlight: 32,
  /** Bytes queued for a client that is not reading (audio frames, events); past this it is dropped. */
  maxBacklogBytes: 16 * 1024 * 1024,
  /** Export files kept for download; an older one is deleted when a new one is written. */
  keptExports: 8,
} as const;
/** Media types of exported audio, by the extension the server names the file with. */
const CONTENT_TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  opus: 'audio/ogg; codecs=opus',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

function sameSecret(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const rendererDir = path.resolve(options.rendererDir);
  const exportDir = await mkdtemp(path.join(os.tmpdir(), 'spear-exports-'));
  const exports = new Map<string, { file: string; fileName: string }>();
  const service = new ServiceClient(options.service);
  await service.ready;

  let port = 0;
  const allowedHosts = (): string[] => [`${HOST}:${port}`, `localhost:${port}`];
  const authorized = (req: http.IncomingMessage, url: URL): boolean =>
    sameSecret(url.searchParams.get('token') ?? undefined, token) || sameSecret(cookieValue(req.headers.cookie, COOKIE), token);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const deny = (code: number, text: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text);
    };
    if (!allowedHosts().includes(req.headers.host ?? '')) return deny(421, 'wrong Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(405, 'method not allowed');
    if (!authorized(req, url)) {
      return deny(403, 'Spear Studio: open the URL printed by `npm run serve`; it carries the access token.');
    }
    const headers: Record<string, string> = {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': CONTENT_SECURITY_POLICY,
    };
    if (url.searchParams.has('token')) headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;

    const exportMatch = /^\/exports\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
    if (exportMatch) {
      const entry = exports.get(exportMatch[1]);
      if (!entry) return deny(404, 'no such export');
      const { size } = await stat(entry.file);
      res.writeHead(200, {
        ...headers,
        'content-type': CONTENT_TYPES[path.extname(entry.fileName).slice(1)] ?? 'application/octet-stream',
        'content-length': String(size),
        'content-disposition': `attachment; filename="${entry.fileName}"`,
      });
      createReadStream(entry.file).pipe(res);
      return;
    }

    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.resolve(rendererDir, relative);
    if (!file.startsWith(rendererDir + path.sep)) return deny(404, 'not found');
    try {
      const info = await stat(file);
      if (!info.isFile()) return deny(404, 'not found');
      res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': String(info.size) });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      deny(404, relative === 'index.html' ? `the renderer is not built: run \`npm run build:renderer\` (looked in ${rendererDir})` : 'not found');
    }
  });

  /** Remembers an export for download; past SERVER_LIMITS.keptExports the oldest file is deleted. */
  const keepExport = async (exportId: string, entry: { file: string; fileName: string }): Promise<void> => {
    exports.delete(exportId);
    exports.set(exportId, entry);
    const dropped: string[] = [];
    for (const [oldId, old] of exports) {
      if (exports.size <= SERVER_LIMITS.keptExports) break;
      exports.delete(oldId);
      if (old.file !== entry.file) dropped.push(old.file);
    }
    // NOTE: a download still streaming keeps its open file on POSIX; elsewhere the removal may fail.
    await Promise.all(dropped.map((file) => rm(file, { force: true }).catch(() => undefined)));
  };

  const sockets = new Set<WebSocket>();
  /** The connection that started each running job, sweep, comparison or export, so leaving cancels it. */
  const owners = new Map<string, WebSocket>();
  /** Sends unless the client has stopped reading: past the backlog bound it is dropped, freeing what it held. */
  const sendTo = (ws: WebSocket, frame: string | Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > SERVER_LIMITS.maxBacklogBytes) {
      ws.terminate();
      return;
    }
    ws.send(frame);
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: SERVER_LIMITS.maxFrameBytes });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const origin = req.headers.origin ?? '';
    const ok =
      url.pathname === '/ws' && allowedHosts().includes(req.headers.host ?? '') && allowedHosts().some((h) => origin === `http://${h}`) && authorized(req, url);
    if (!ok) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const unsubscribe = service.onEvent((event: StudioEvent) => {
    const ended =
      event.type === 'job-canceled' ||
      event.type === 'job-error' ||
      event.type === 'sweep-done' ||
      event.type === 'compare-done' ||
      (event.type === 'job' && event.event.type === 'done');
    if (ended) owners.delete(event.jobId);
    const frame = event.type === 'job' && event.event.type === 'audio' ? encodeAudioFrame(event) : JSON.stringify({ kind: 'event', event } satisfies WsMessage);
    for (const ws of sockets) sendTo(ws, frame);
  });

  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    let inFlight = 0;
    // A frame past maxFrameBytes (or one that breaks the protocol) makes ws close the connection
    // (1009, 1002) and emit 'error': without a listener that error would end the whole server.
    ws.on('error', () => undefined);
    ws.on('close', () => {
      sockets.delete(ws);
      // A page that is closed or reloaded leaves nobody to hear its job: stop what it started.
      for (const [jobId, owner] of owners) {
        if (owner !== ws) continue;
        owners.delete(jobId);
        service.call('cancel', [jobId]).catch(() => undefined);
      }
    });
    ws.on('message', async (data, isBinary) => {
      const reply = (message: WsMessage): void => sendTo(ws, JSON.stringify(message));
      let id = -1;
      inFlight++;
      try {
        if (isBinary) throw new Error('binary requests are not part of the protocol');
        const frame: unknown = JSON.parse(data.toString());
        if (frame && typeof frame === 'object' && Number.isSafeInteger((frame as { id?: unknown }).id)) id = (frame as { id: number }).id;
        if (inFlight > SERVER_LIMITS.maxRequestsInFlight) {
          throw new Error(`too many requests in flight on this connection (at most ${SERVER_LIMITS.maxRequestsInFlight}); wait for their replies`);
        }
        const parsed = wsRequestSchema.safeParse(frame);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new Error(`invalid request frame: ${issue?.path.join('.') || 'frame'}: ${issue?.message ?? 'rejected'}`);
        }
        const request = parsed.data;
        let value: unknown;
        if (request.method === 'exportAudio') {
          const [jobId, format, exportOptions] = parseArgs('exportAudio', request.args);
          const fileName = `spear-${exportOptions.sentence === undefined ? 'document' : `sentence-${exportOptions.sentence + 1}`}.${format}`;
          const file = path.join(exportDir, `${exportOptions.exportId}.${format}`);
          owners.set(exportOptions.exportId, ws);
          const { bytes } = await service.exportTo([jobId, format, exportOptions], file).finally(() => owners.delete(exportOptions.exportId));
          await keepExport(exportOptions.exportId, { file, fileName });
          value = { status: 'download', url: `/exports/${exportOptions.exportId}`, fileName, bytes } satisfies ExportResult;
        } else if (request.method === 'exportCompare') {
          const [jobId, format] = parseArgs('exportCompare', request.args);
          const exportId = `compare-${randomBytes(12).toString('hex')}`;
          const fileName = `spear-compare.${format}`;
          const file = path.join(exportDir, `${exportId}.${format}`);
          const { bytes } = await service.exportCompareTo([jobId, format], file);
          await keepExport(exportId, { file, fileName });
          value = { status: 'download', url: `/exports/${exportId}`, fileName, bytes } satisfies ExportResult;
        } else {
          const method: Exclude<InvokeMethod, ExportMethod> = request.method;
          value = await service.call(method, parseArgs(method, request.args));
          if ((method === 'synthesize' || method === 'sweep' || method === 'compare') && typeof value === 'string') {
            if (ws.readyState === ws.OPEN) owners.set(value, ws);
            else service.call('cancel', [value]).catch(() => undefined);
          }
        }
        reply({ kind: 'result', id, ok: true, value });
      } catch (error) {
        reply({ kind: 'result', id, ok: false, error: error instanceof Error ? error.message : String(error) });
      } finally {
        inFlight--;
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => resolve());
  });
  port = (server.address() as { port: number }).port;

  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    service,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.dispose();
      await rm(exportDir, { recursive: true, force: true });
    },
  };
}
