/**
 * The service, as the renderer sees it: the preload's `window.spear` in Electron, the WebSocket
 * bridge in browser mode. Both implement the contract's StudioApi.
 */
import type { StudioApi } from '../../electron/ipc-contract.ts';
import { connectWebSocketApi } from './transport/ws-client.ts';

declare global {
  interface Window {
    /** Set by electron/app/preload.ts through contextBridge. */
    spear?: StudioApi;
  }
}

let api: StudioApi | null = null;

export function getApi(onConnection: (state: 'ready' | 'lost') => void = () => undefined): StudioApi {
  if (api) return api;
  if (window.spear) {
    api = window.spear;
    onConnection('ready');
  } else {
    api = connectWebSocketApi(onConnection);
  }
  return api;
}
