/**
 * Exits with code 143 while a decoder pool's workers decode (tests/core/engine/pool.test.ts): after
 * stopWorkersNow() with `stop`, at once with `now`.
 *
 *   node --import tsx tests/helpers/exit-mid-decode.mts VOICE_DIR stop|now
 */
import { loadModel } from '../../electron/core/engine/model.ts';
import { DecoderPool, stopWorkersNow } from '../../electron/core/engine/pool.ts';

const [dir, how] = process.argv.slice(2);
const model = await loadModel(dir);
const pool = new DecoderPool(dir, 2);
await pool.ready;
const prompts = Array.from({ length: 8 }, (_, i) => [1, 10 + i, 20, 30, 40, 2]);
const controller = new AbortController();
pool.decode(model, prompts, { maxNewTokens: 300, stopToken: null, signal: controller.signal }).catch(() => undefined);
await new Promise((r) => setTimeout(r, 300));
controller.abort();
if (how === 'stop') await stopWorkersNow();
process.exit(143);
