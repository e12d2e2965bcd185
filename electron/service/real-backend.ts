/**
 * The real pipeline behind the service: the shipped voice, the engine's providers, the audio writer.
 * (Tests that must run without the trained voice load tests/helpers/fake-synthesizer.ts instead.)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioFileWriter, writeAudioFile } from '../core/audio/write.ts';
import { calibrate, loadCalibration } from '../core/calibration/calibrate.ts';
import { currentMachine, describeMachine } from '../core/calibration/machine.ts';
import { gammaLimit, STRATEGIES, STRATEGY_GRAPHS, treeRefusal } from '../core/engine/decode.ts';
import { availableProviders } from '../core/engine/model.ts';
import { synthesize } from '../core/pipeline/synthesize.ts';
import { openVoice, type Voice } from '../core/pipeline/voice.ts';
import type { SynthesisBackend } from './backend.ts';

/** native-models/voice/ next to the sources (development); the packaged app passes resources/voice. */
export const DEFAULT_VOICE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native-models/voice');

export function createBackend(options: { voiceDir?: string; calibrationDir?: string } = {}): SynthesisBackend<Voice> {
  const { calibrationDir } = options;
  return {
    name: 'shipped voice',
    voiceDir: options.voiceDir ?? DEFAULT_VOICE_DIR,
    availableProviders,
    openVoice: (dir, o) => openVoice(dir, o),
    strategies: (voice) => STRATEGIES.filter((s) => STRATEGY_GRAPHS[s].every((role) => voice.decoder.graphs[role])),
    gammaLimit: (voice, strategy) => gammaLimit(voice.decoder, strategy),
    verifiesTrees: (voice) => treeRefusal(voice.decoder) === null,
    ...(calibrationDir
      ? {
          calibration: {
            machine: describeMachine(currentMachine()),
            load: (dir) => loadCalibration(dir, calibrationDir),
            run: async (voice, o) =>
              (await calibrate({ dir: voice.dir, configDir: calibrationDir, decoder: voice.decoder, signal: o.signal, onProgress: (f) => o.onProgress(f) }))
                .calibration,
          },
        }
      : {}),
    synthesize: (voice, text, settings, hooks) => synthesize(voice, text, settings, hooks),
    openAudioWriter: (file, sampleRate, format) => AudioFileWriter.create(file, sampleRate, format),
    writeAudioFile: (file, samples, sampleRate, format, o) => writeAudioFile(file, samples, sampleRate, format, o),
  };
}
