/**
 * The Electron main process, kept thin: one window, the synthesis service in a worker thread
 * (electron/service/host.ts, so decoding never stalls the UI), IPC handlers that check the sender and
 * validate every payload (electron/service/schemas.ts), the export save dialog, and a quit that
 * releases the voice's ONNX sessions before the process ends.
 *
 * Security: contextIsolation, sandbox, no nodeIntegration, a strict CSP (renderer/index.html), every
 * navigation and new window denied, every permission request denied. Files are written only to a path
 * the user chose in this process's save dialog; no path ever arrives from the renderer.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, session, type IpcMainInvokeEvent, type WebContents } from 'electron';
import {
  EVENT_CHANNEL,
  INVOKE_CHANNEL_PREFIX,
  INVOKE_METHODS,
  type ExportResult,
  type InvokeMethod,
  type StudioEvent,
  type AudioFormat,
} from '../ipc-contract.ts';
import { ServiceClient, type ExportMethod, type ServiceClientOptions } from '../service/client.ts';
import { configDir } from '../core/config-dir.ts';
import { lexiconPath } from '../core/text/lexicon-file.ts';
import { parseArgs } from '../service/schemas.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface StudioMainOptions {
  /** How to start the service; default: the shipped voice (resources/voice when packaged). */
  service?: ServiceClientOptions;
  /** The built renderer's index.html; default dist/renderer/index.html. */
  rendererIndex?: string;
  /** The bundled preload script; default preload.cjs next to this file. */
  preload?: string;
}

export interface StudioMain {
  window: BrowserWindow;
  service: ServiceClient;
}

/** Where the sandboxed preload and the renderer live, built (dist/electron, dist/renderer) or from sources. */
function defaultPaths(): { rendererIndex: string; preload: string } {
  const built = path.basename(here) === 'electron' && path.basename(path.dirname(here)) === 'dist';
  const dist = built ? path.dirname(here) : path.resolve(here, '../../dist');
  return { rendererIndex: path.join(dist, 'renderer/index.html'), preload: path.join(dist, 'electron/preload.cjs') };
}

function defaultServiceOptions(): ServiceClientOptions {
  return {
    voiceDir: app.isPackaged ? path.join(process.resourcesPath, 'voice') : undefined,
    settingsFile: path.join(app.getPath('userData'), 'settings.json'),
    // The same file as `spear lexicon`, so both read and edit one lexicon.
    lexiconFile: lexiconPath(configDir()),
    // The CLI's config directory: `spear calibrate` and the studio share one calibration.
    calibrationDir: configDir(),
  };
}

/** Navigation, new windows, webviews and permissions: denied for every web contents the app creates. */
function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export async function startStudio(options: StudioMainOptions = {}): Promise<StudioMain> {
  app.enableSandbox();
  await app.whenReady();
  const paths = { ...defaultPaths(), ...options };
  const rendererUrl = pathToFileURL(paths.rendererIndex).href;

  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_event, contents) => lockDown(contents));

  const service = new ServiceClient(options.service ?? defaultServiceOptions());
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 680,
    show: false,
    backgroundColor: '#14161b',
    title: 'Spear Studio',
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  lockDown(window.webContents);
  window.once('ready-to-show', () => window.show());

  /** Only our window's top frame, showing our renderer, may call the service. */
  const checkSender = (event: IpcMainInvokeEvent): void => {
    const frame = event.senderFrame;
    if (event.sender !== window.webContents || !frame || frame !== event.sender.mainFrame || !frame.url.startsWith(rendererUrl)) {
      throw new Error('IPC refused: the request did not come from the Spear Studio window');
    }
  };

  for (const method of INVOKE_METHODS) {
    ipcMain.handle(`${INVOKE_CHANNEL_PREFIX}${method}`, async (event, ...args: unknown[]) => {
      checkSender(event);
      if (method === 'exportAudio') return exportAudio(args);
      if (method === 'exportCompare') return exportCompare(args);
      const m: Exclude<InvokeMethod, ExportMethod> = method;
      return service.call(m, parseArgs(m, args));
    });
  }

  const EXPORT_FILTERS: Record<AudioFormat, { name: string; extensions: string[] }> = {
    wav: { name: 'WAV audio', extensions: ['wav'] },
    mp3: { name: 'MP3 audio', extensions: ['mp3'] },
    flac: { name: 'FLAC audio', extensions: ['flac'] },
    opus: { name: 'Ogg Opus audio', extensions: ['opus', 'ogg'] },
  };

  async function exportAudio(args: unknown[]): Promise<ExportResult> {
    const [jobId, format, exportOptions] = parseArgs('exportAudio', args);
    const name = exportOptions.sentence === undefined ? 'document' : `sentence-${exportOptions.sentence + 1}`;
    const choice = await dialog.showSaveDialog(window, {
      title: 'Export audio',
      defaultPath: path.join(app.getPath('music'), `spear-${name}.${format}`),
      filters: [EXPORT_FILTERS[format]],
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    });
    if (choice.canceled || !choice.filePath) return { status: 'canceled' };
    const { bytes } = await service.exportTo([jobId, format, exportOptions], choice.filePath);
    return { status: 'saved', path: choice.filePath, bytes };
  }

  async function exportCompare(args: unknown[]): Promise<ExportResult> {
    const [jobId, format] = parseArgs('exportCompare', args);
    const choice = await dialog.showSaveDialog(window, {
      title: 'Export comparison',
      defaultPath: path.join(app.getPath('documents'), `spear-compare.${format}`),
      filters: [format === 'json' ? { name: 'JSON', extensions: ['json'] } : { name: 'CSV', extensions: ['csv'] }],
      properties: ['createDirectory', 'showOverwriteConfirmation'],
    });
    if (choice.canceled || !choice.filePath) return { status: 'canceled' };
    const { bytes } = await service.exportCompareTo([jobId, format], choice.filePath);
    return { status: 'saved', path: choice.filePath, bytes };
  }

  const unsubscribe = service.onEvent((event: StudioEvent) => {
    if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
  });

  window.on('closed', () => unsubscribe());
  app.on('window-all-closed', () => app.quit());
  let released = false;
  app.on('before-quit', (event) => {
    if (released) return;
    // Release the voice's ONNX sessions and stop the worker before the process exits.
    event.preventDefault();
    released = true;
    for (const method of INVOKE_METHODS) ipcMain.removeHandler(`${INVOKE_CHANNEL_PREFIX}${method}`);
    void service.dispose().finally(() => app.quit());
  });

  await window.loadFile(paths.rendererIndex);
  return { window, service };
}

// NOTE: tests import this module with `electron` mocked and call startStudio themselves.
if (process.env.SPEAR_MAIN_NO_AUTOSTART !== '1') {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
  } else {
    startStudio().catch((error: unknown) => {
      dialog.showErrorBox('Spear Studio could not start', error instanceof Error ? error.message : String(error));
      app.exit(1);
    });
  }
}
