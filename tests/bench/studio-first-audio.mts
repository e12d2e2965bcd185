/**
 * The studio's first job: how long after Synthesize its first audio arrives, through the same worker
 * and ServiceClient the window uses, on the shipped voice. The "user" types for 1.5 s after the worker
 * is up, then synthesizes two sentences.
 *
 *   node --import tsx tests/bench/studio-first-audio.mts
 */
import { ServiceClient } from '../../electron/service/client.ts';

const TEXT =
  'The old lighthouse stood at the edge of the cliff, watching over the restless sea. Please remember to water the plants while I am away this weekend.';

const client = new ServiceClient({});
await client.ready;
await new Promise((r) => setTimeout(r, 1500));
const t0 = performance.now();
let firstAudioMs = -1;
const done = new Promise<void>((resolve) =>
  client.onEvent((e) => {
    if (e.type === 'job' && e.event.type === 'audio' && firstAudioMs < 0) firstAudioMs = performance.now() - t0;
    if (e.type === 'job' && e.event.type === 'done') resolve();
  }),
);
await client.call('synthesize', [TEXT, {}]);
await done;
console.log(`first job: first audio ${firstAudioMs.toFixed(0)} ms after Synthesize`);
await client.dispose();
process.exit(0);
