/**
 * A recording stand-in for the `electron` module (tests/electron/mock-electron-hooks.mjs routes the
 * import here): it keeps what the main process and the preload asked for, so tests can inspect
 * window options, handlers and IPC registrations, and drive them.
 */
type Listener = (...args: any[]) => unknown;

class Emitter {
  readonly listeners = new Map<string, Listener[]>();
  on(name: string, listener: Listener): this {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return this;
  }
  once(name: string, listener: Listener): this {
    return this.on(name, listener);
  }
  emit(name: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(name) ?? []) l(...args);
  }
}

export const recorded = {
  windows: [] as FakeBrowserWindow[],
  handlers: new Map<string, Listener>(),
  removedHandlers: [] as string[],
  sandboxEnabled: false,
  permissionRequestHandler: null as Listener | null,
  permissionCheckHandler: null as Listener | null,
  saveDialogResult: { canceled: true, filePath: '' } as { canceled: boolean; filePath?: string },
  saveDialogCalls: [] as unknown[],
  exposed: new Map<string, unknown>(),
  invokes: [] as { channel: string; args: unknown[] }[],
  rendererListeners: new Map<string, Listener[]>(),
  quitCalls: 0,
};

export class FakeWebContents extends Emitter {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  windowOpenHandler: Listener | null = null;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  mainFrame = { url: '' };
  setWindowOpenHandler(handler: Listener): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
}

export class FakeBrowserWindow extends Emitter {
  readonly webContents = new FakeWebContents();
  loadedFile: string | null = null;
  destroyed = false;
  constructor(readonly options: Record<string, any>) {
    super();
    recorded.windows.push(this);
  }
  async loadFile(file: string): Promise<void> {
    this.loadedFile = file;
    this.webContents.mainFrame.url = new URL(`file://${file}`).href;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  show(): void {}
}

class FakeApp extends Emitter {
  isPackaged = false;
  enableSandbox(): void {
    recorded.sandboxEnabled = true;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  getPath(name: string): string {
    return `/tmp/spear-fake-electron/${name}`;
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  quit(): void {
    recorded.quitCalls++;
  }
  exit(): void {}
}

export const app = new FakeApp();
export const BrowserWindow = FakeBrowserWindow;
export const ipcMain = {
  handle(channel: string, listener: Listener): void {
    if (recorded.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    recorded.handlers.set(channel, listener);
  },
  removeHandler(channel: string): void {
    recorded.handlers.delete(channel);
    recorded.removedHandlers.push(channel);
  },
};
export const dialog = {
  async showSaveDialog(...args: unknown[]) {
    recorded.saveDialogCalls.push(args);
    return recorded.saveDialogResult;
  },
  showErrorBox(): void {},
};
export const session = {
  defaultSession: {
    setPermissionRequestHandler(handler: Listener): void {
      recorded.permissionRequestHandler = handler;
    },
    setPermissionCheckHandler(handler: Listener): void {
      recorded.permissionCheckHandler = handler;
    },
  },
};
export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown): void {
    recorded.exposed.set(key, api);
  },
};
export const ipcRenderer = {
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    recorded.invokes.push({ channel, args });
    return Promise.resolve(`${channel} result`);
  },
  on(channel: string, listener: Listener): void {
    recorded.rendererListeners.set(channel, [...(recorded.rendererListeners.get(channel) ?? []), listener]);
  },
  removeListener(channel: string, listener: Listener): void {
    recorded.rendererListeners.set(
      channel,
      (recorded.rendererListeners.get(channel) ?? []).filter((l) => l !== listener),
    );
  },
};
export default { app, BrowserWindow, ipcMain, dialog, session, contextBridge, ipcRenderer };
