// A worker entry for tests/core/worker.test.ts: answers a number with its double, its workerData's
// greeting, its import.meta.url, and a package import's result.
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { double } from './echo-double.ts';

parentPort!.on('message', (n: number) => {
  parentPort!.postMessage({
    greeting: (workerData as { greeting: string }).greeting,
    doubled: double(n),
    metaUrl: import.meta.url,
    zod: z.string().parse('ok'),
  });
});
