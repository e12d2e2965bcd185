import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped voice, relative to this package (overridden by --voice or SPEAR_VOICE). */
export const DEFAULT_VOICE_DIR = process.env.SPEAR_VOICE ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native-models/voice');
