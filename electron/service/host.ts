/**
 * Worker-thread entry of the synthesis service: decoding and ONNX Runtime run here, never on the
 * thread that serves the window (Electron main) or the sockets (browser-mode server). Speaks the
 * messages of protocol.ts over `parentPort`. Pure Node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendModule } from './backend.ts';
import type { HostRequest, HostResponse, HostWorkerData } from './protocol.ts';
import { fileSettings, memorySettings } from './settings.ts';
import { fileLexicon, memoryLexicon } from './lexicon.ts';
import { StudioService, errorMessage } from './service.ts';

const port = parentPort;
if (!port) throw new Error('electron/service/host.ts runs as a worker thread (see client.ts)');
const data = workerData as HostWorkerData;

// Audio samples are cloned, not transferred: the service keeps its copy for export.
const send = (message: HostResponse): void => port.postMessage(message);

const backendModule = (await import(data.backendModule)) as BackendModule;
const backend = await backendModule.createBackend({ voiceDir: data.voiceDir, calibrationDir: data.calibrationDir });
const settings = data.settingsFile ? await fileSettings(data.settingsFile) : memorySettings();
const lexicon = data.lexiconFile ? fileLexicon(data.lexiconFile) : memoryLexicon();
const service = new StudioService({ backend, settings, lexicon, emit: (event) => send({ kind: 'event', event }) });
// The window shows before anyone asks for speech: open the voice meanwhile.
service.prepare();

port.on('message', async (request: HostRequest) => {
  if (request.kind === 'dispose') {
    await service.dispose();
    send({ kind: 'disposed' });
    return;
  }
  const { id, method, args } = request;
  try {
    let value: unknown;
    switch (method) {
      case 'segment':
        value = service.segment(args[0] as string);
        break;
      case 'importDocument':
        value = await service.importDocument(args[0] as string, args[1] as string);
        break;
      case 'synthesize':
        value = service.synthesize(args[0] as string, args[1] as never);
        break;
      case 'cancel':
        value = service.cancel(args[0] as string);
        break;
      case 'exportAudio':
        if (!request.exportPath) throw new Error('exportAudio needs the path the user chose');
        value = await service.exportAudio(args[0] as string, args[1] as never, args[2] as never, request.exportPath);
        break;
      case 'listProviders':
        value = service.listProviders();
        break;
      case 'sweep':
        value = service.sweep(args[0] as string, args[1] as never);
        break;
      case 'listStrategies':
        value = await service.listStrategies();
        break;
      case 'compare':
        value = await service.compare(args[0] as string, args[1] as never);
        break;
      case 'exportCompare':
        if (!request.exportPath) throw new Error('exportCompare needs the path the user chose');
        value = await service.exportCompare(args[0] as string, args[1] as never, request.exportPath);
        break;
      case 'getSettings':
        value = service.getSettings();
        break;
      case 'setSettings':
        value = await service.setSettings(args[0] as never);
        break;
      case 'getLexicon':
        value = await service.getLexicon();
        break;
      case 'addLexiconEntry':
        value = await service.addLexiconEntry(args[0] as string, args[1] as string);
        break;
      case 'removeLexiconEntry':
        value = await service.removeLexiconEntry(args[0] as string);
        break;
      case 'hearWord':
        value = await service.hearWord(args[0] as string, args[1] as string | null);
        break;
      case 'getCalibration':
        value = service.getCalibration();
        break;
      case 'calibrate':
        value = service.calibrate();
        break;
    }
    send({ kind: 'result', id, ok: true, value });
  } catch (error) {
    send({ kind: 'result', id, ok: false, error: errorMessage(error) });
  }
});
send({ kind: 'ready', backend: backend.name });
