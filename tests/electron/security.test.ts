/**
 * The main process and the preload against the security list of issue #5, with `electron` replaced
 * by a recording fake (mock-electron-hooks.mjs): window options, navigation and new windows denied,
 * permissions denied, every IPC payload validated and its sender checked, files written only where
 * the save dialog said, sessions released on quit; the renderer's CSP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_CHANNEL, INVOKE_CHANNEL_PREFIX, INVOKE_METHODS, type StudioApi, type StudioEvent } from '../../electron/ipc-contract.ts';
import { META_CONTENT_SECURITY_POLICY } from '../../electron/server/csp.ts';

register('./mock-electron-hooks.mjs', import.meta.url);
process.env.SPEAR_MAIN_NO_AUTOSTART = '1';
const fake = await import('./fake-electron.ts');
const { recorded } = fake;
const { startStudio } = await import('../../electron/app/main.ts');

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.resolve(here, '../../renderer/index.html');
let main: Awaited<ReturnType<typeof startStudio>>;
let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'spear-main-'));
  main = await startStudio({
    rendererIndex,
    preload: '/app/preload.cjs',
    service: { backendModule: new URL('../helpers/fake-synthesizer.ts', import.meta.url).href },
  });
});

after(async () => {
  await main.service.dispose();
  await rm(tmp, { recursive: true, force: true });
});

/** Calls a registered handler as the window's own top frame would (or as `sender`). */
function invoke(method: string, args: unknown[], sender?: { sender: unknown; senderFrame: unknown }): Promise<unknown> {
  const handler = recorded.handlers.get(`${INVOKE_CHANNEL_PREFIX}${method}`);
  assert.ok(handler, `a handler for ${method}`);
  const contents = main.window.webContents as unknown as InstanceType<typeof fake.FakeWebContents>;
  const event = sender ?? { sender: contents, senderFrame: contents.mainFrame };
  return Promise.resolve(handler(event, ...args));
}

test('one window: context isolation, sandbox, no node integration; sandbox for every renderer', () => {
  assert.equal(recorded.windows.length, 1);
  const prefs = recorded.windows[0].options.webPreferences;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.webviewTag, false);
  assert.notEqual(prefs.webSecurity, false);
  assert.notEqual(prefs.allowRunningInsecureContent, true);
  assert.equal(prefs.preload, '/app/preload.cjs');
  assert.equal(recorded.sandboxEnabled, true);
  assert.equal(recorded.windows[0].loadedFile, rendererIndex);
});

test('navigation, redirects, webviews and new windows are denied, here and in any web contents created later', () => {
  for (const contents of [recorded.windows[0].webContents, new fake.FakeWebContents()]) {
    if (contents !== recorded.windows[0].webContents) fake.app.emit('web-contents-created', {}, contents);
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      let prevented = false;
      contents.emit(name, { preventDefault: () => (prevented = true) }, 'https://example.com/');
      assert.ok(prevented, `${name} is prevented`);
    }
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'https://example.com/' }), { action: 'deny' });
  }
});

test('permission requests and checks are refused', () => {
  let granted: boolean | undefined;
  recorded.permissionRequestHandler?.({}, 'media', (answer: boolean) => (granted = answer));
  assert.equal(granted, false);
  assert.equal(recorded.permissionCheckHandler?.({}, 'media'), false);
});

test('one IPC handler per contract verb, no more', () => {
  assert.deepEqual([...recorded.handlers.keys()].sort(), INVOKE_METHODS.map((m) => `${INVOKE_CHANNEL_PREFIX}${m}`).sort());
});

test('a request from another web contents or another frame or page is refused', async () => {
  const contents = main.window.webContents as unknown as InstanceType<typeof fake.FakeWebContents>;
  const stranger = new fake.FakeWebContents();
  stranger.mainFrame.url = contents.mainFrame.url;
  await assert.rejects(invoke('segment', ['Hi.'], { sender: stranger, senderFrame: stranger.mainFrame }), /IPC refused/);
  await assert.rejects(invoke('segment', ['Hi.'], { sender: contents, senderFrame: { url: contents.mainFrame.url } }), /IPC refused/);
  const navigated = { url: 'https://evil.example/' };
  await assert.rejects(invoke('segment', ['Hi.'], { sender: { ...contents, mainFrame: navigated }, senderFrame: navigated }), /IPC refused/);
  assert.deepEqual(await invoke('segment', ['One. Two.']), [
    { index: 0, text: 'One.', start: 0, end: 4 },
    { index: 1, text: 'Two.', start: 5, end: 9 },
  ]);
});

test('every payload is validated: wrong types, unknown fields, out-of-range values are refused', async () => {
  await assert.rejects(invoke('segment', [42]), /segment: invalid argument 0/);
  await assert.rejects(invoke('synthesize', ['Hi.', { gamma: 99 }]), /synthesize: invalid argument 1\.gamma/);
  await assert.rejects(invoke('synthesize', ['Hi.', { strategy: 'magic' }]), /strategy/);
  await assert.rejects(invoke('synthesize', ['Hi.', { gamma: 2, nodeIntegration: true }]), /invalid argument 1/);
  await assert.rejects(invoke('synthesize', ['x'.repeat(1_000_001), {}]), /at most 1000000 characters/);
  await assert.rejects(invoke('setSettings', [{ threads: -1 }]), /threads/);
  await assert.rejects(invoke('cancel', ['../../etc']), /job id/);
  await assert.rejects(invoke('listProviders', ['extra']), /listProviders/);
});

test('export writes only to the path chosen in the save dialog; the renderer cannot name one', async () => {
  const events: StudioEvent[] = [];
  main.service.onEvent((e) => events.push(e));
  const jobId = (await invoke('synthesize', ['One sentence here. And another one.', { gamma: 2 }])) as string;
  while (!events.some((e) => e.type === 'job' && e.jobId === jobId && e.event.type === 'done')) await new Promise((r) => setTimeout(r, 10));
  const contents = main.window.webContents as unknown as InstanceType<typeof fake.FakeWebContents>;
  assert.ok(
    contents.sent.some((s) => s.channel === EVENT_CHANNEL),
    'service events reach the window',
  );

  await assert.rejects(invoke('exportAudio', [jobId, 'wav', { exportId: 'x1', path: '/tmp/evil.wav' }]), /invalid argument 2/);
  await assert.rejects(invoke('exportAudio', [jobId, 'wav', { exportId: 'x1' }, '/tmp/evil.wav']), /invalid argument/);
  assert.equal(existsSync('/tmp/evil.wav'), false);

  recorded.saveDialogResult = { canceled: true };
  assert.deepEqual(await invoke('exportAudio', [jobId, 'wav', { exportId: 'x2' }]), { status: 'canceled' });

  const chosen = path.join(tmp, 'chosen.wav');
  recorded.saveDialogResult = { canceled: false, filePath: chosen };
  const result = (await invoke('exportAudio', [jobId, 'wav', { exportId: 'x3' }])) as { status: string; path: string; bytes: number };
  assert.equal(result.status, 'saved');
  assert.equal(result.path, chosen);
  const wav = await readFile(chosen);
  assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
  assert.equal(wav.length, result.bytes);
  assert.equal(recorded.saveDialogCalls.length, 2, 'each export asked the user');
});

test('the preload exposes the contract verbs only, and its subscription can be undone', async () => {
  await import('../../electron/app/preload.ts');
  const api = recorded.exposed.get('spear') as StudioApi;
  assert.deepEqual(Object.keys(api).sort(), [...INVOKE_METHODS, 'onDecodeEvent'].sort());
  assert.ok(!('ipcRenderer' in api) && !('invoke' in api));
  assert.equal(await api.cancel('j1'), 'spear:cancel result');
  assert.deepEqual(recorded.invokes.at(-1), { channel: 'spear:cancel', args: ['j1'] });
  const seen: unknown[] = [];
  const unsubscribe = api.onDecodeEvent((e) => seen.push(e));
  for (const l of recorded.rendererListeners.get(EVENT_CHANNEL) ?? []) l({}, { type: 'job-canceled', jobId: 'j1' });
  unsubscribe();
  assert.equal(recorded.rendererListeners.get(EVENT_CHANNEL)?.length, 0);
  assert.deepEqual(seen, [{ type: 'job-canceled', jobId: 'j1' }]);
});

test("the renderer's CSP is strict and allows blob: media for previews", async () => {
  const html = await readFile(rendererIndex, 'utf8');
  const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
  assert.equal(meta, META_CONTENT_SECURITY_POLICY);
  assert.match(meta!, /default-src 'none'/);
  assert.match(meta!, /script-src 'self'(;|$)/);
  assert.match(meta!, /media-src 'self' blob:/);
  assert.doesNotMatch(meta!, /unsafe-inline|unsafe-eval/);
});

test('quitting releases the service before the app exits', async () => {
  let prevented = false;
  fake.app.emit('before-quit', { preventDefault: () => (prevented = true) });
  assert.ok(prevented, 'the first quit waits for the release');
  assert.equal(recorded.handlers.size, 0, 'IPC handlers are removed');
  for (let i = 0; i < 200 && recorded.quitCalls === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(recorded.quitCalls, 1);
  await assert.rejects(main.service.call('listProviders', []), /stopped/);
});
