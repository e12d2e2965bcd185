/**
 * The sandboxed preload: exposes the contract's verbs as `window.spear`, never `ipcRenderer` itself.
 * Bundled to CommonJS (build/vite.electron.config.ts): sandboxed preloads cannot load ES modules.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  EVENT_CHANNEL,
  INVOKE_CHANNEL_PREFIX,
  type InvokeArgs,
  type InvokeMethod,
  type InvokeResult,
  type StudioApi,
  type StudioEvent,
} from '../ipc-contract.ts';

function invoke<M extends InvokeMethod>(method: M): (...args: InvokeArgs<M>) => Promise<InvokeResult<M>> {
  return (...args) => ipcRenderer.invoke(`${INVOKE_CHANNEL_PREFIX}${method}`, ...args) as Promise<InvokeResult<M>>;
}

const api: StudioApi = {
  segment: invoke('segment'),
  importDocument: invoke('importDocument'),
  synthesize: invoke('synthesize'),
  cancel: invoke('cancel'),
  exportAudio: invoke('exportAudio'),
  listProviders: invoke('listProviders'),
  sweep: invoke('sweep'),
  listStrategies: invoke('listStrategies'),
  compare: invoke('compare'),
  exportCompare: invoke('exportCompare'),
  getSettings: invoke('getSettings'),
  setSettings: invoke('setSettings'),
  getLexicon: invoke('getLexicon'),
  addLexiconEntry: invoke('addLexiconEntry'),
  removeLexiconEntry: invoke('removeLexiconEntry'),
  hearWord: invoke('hearWord'),
  getCalibration: invoke('getCalibration'),
  calibrate: invoke('calibrate'),
  onDecodeEvent(callback) {
    const listener = (_event: IpcRendererEvent, studioEvent: StudioEvent): void => callback(studioEvent);
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, listener);
    };
  },
};

contextBridge.exposeInMainWorld('spear', api);
