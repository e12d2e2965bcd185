/**
 * Browser mode: the contract's verbs over the server's WebSocket (electron/server/server.ts). The
 * access token travels in the URL the user opened, or in the cookie the server set on first load.
 */
import type { InvokeArgs, InvokeMethod, InvokeResult, StudioApi, StudioEvent, WsMessage, WsRequest } from '../../../electron/ipc-contract.ts';
import { decodeAudioFrame } from './frames.ts';

export function connectWebSocketApi(onConnection: (state: 'ready' | 'lost') => void): StudioApi {
  const token = new URLSearchParams(location.search).get('token');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  const listeners = new Set<(event: StudioEvent) => void>();
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => (onConnection('ready'), resolve()));
    socket.addEventListener('error', () => reject(new Error('cannot reach the studio server; is `npm run serve` still running?')));
  });
  socket.addEventListener('close', () => {
    onConnection('lost');
    for (const p of pending.values()) p.reject(new Error('the connection to the studio server was lost; restart `npm run serve` and reload'));
    pending.clear();
  });
  socket.addEventListener('message', (message: MessageEvent) => {
    if (message.data instanceof ArrayBuffer) {
      const event = decodeAudioFrame(message.data);
      for (const l of listeners) l(event);
      return;
    }
    const data = JSON.parse(String(message.data)) as WsMessage;
    if (data.kind === 'event') {
      for (const l of listeners) l(data.event);
    } else {
      const p = pending.get(data.id);
      pending.delete(data.id);
      if (!p) return;
      if (data.ok) p.resolve(data.value);
      else p.reject(new Error(data.error));
    }
  });

  async function invoke<M extends InvokeMethod>(method: M, ...args: InvokeArgs<M>): Promise<InvokeResult<M>> {
    await opened;
    const id = nextId++;
    const request: WsRequest<M> = { id, method, args };
    return new Promise<InvokeResult<M>>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      socket.send(JSON.stringify(request));
    });
  }

  return {
    segment: (...a) => invoke('segment', ...a),
    importDocument: (...a) => invoke('importDocument', ...a),
    synthesize: (...a) => invoke('synthesize', ...a),
    cancel: (...a) => invoke('cancel', ...a),
    exportAudio: (...a) => invoke('exportAudio', ...a),
    listProviders: (...a) => invoke('listProviders', ...a),
    sweep: (...a) => invoke('sweep', ...a),
    listStrategies: (...a) => invoke('listStrategies', ...a),
    compare: (...a) => invoke('compare', ...a),
    exportCompare: (...a) => invoke('exportCompare', ...a),
    getSettings: (...a) => invoke('getSettings', ...a),
    setSettings: (...a) => invoke('setSettings', ...a),
    getLexicon: (...a) => invoke('getLexicon', ...a),
    addLexiconEntry: (...a) => invoke('addLexiconEntry', ...a),
    removeLexiconEntry: (...a) => invoke('removeLexiconEntry', ...a),
    hearWord: (...a) => invoke('hearWord', ...a),
    getCalibration: (...a) => invoke('getCalibration', ...a),
    calibrate: (...a) => invoke('calibrate', ...a),
    onDecodeEvent(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
  };
}
