/**
 * The app's reading check against PyTorch for an exported checker: scores parity.json's units and phones
 * with loadReadingCheck (electron/core/pipeline/reading-check.ts) and compares with the score PyTorch wrote.
 * Exit 1 above the tolerance (1e-3 nats per phone).
 *
 *   node --import tsx native-models/tools/checker/check_parity.ts native-models/voice/checker
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadReadingCheck } from '../../../electron/core/pipeline/reading-check.ts';

const TOLERANCE = 1e-3;
const dir = process.argv[2] ?? 'native-models/voice/checker';
const parity = JSON.parse(await readFile(path.join(dir, 'parity.json'), 'utf8')) as { units: number[]; phones: number[]; nats_per_phone: number };
const check = await loadReadingCheck(dir);
// The checker reads phoneme ids; parity.json holds phone labels: any phoneme id of each phone says the same.
const phonemeOf = (phone: number): number => check.manifest.phone_of_phoneme.indexOf(phone);
const score = await check.score(parity.units, parity.phones.map(phonemeOf));
await check.release();
const diff = Math.abs(score - parity.nats_per_phone);
const ok = diff <= TOLERANCE;
console.log(
  `checker parity: app ${score.toFixed(5)} vs PyTorch ${parity.nats_per_phone.toFixed(5)} nats/phone, |diff| ${diff.toExponential(2)} (tolerance ${TOLERANCE}) ${ok ? 'ok' : 'FAILED'}`,
);
process.exit(ok ? 0 : 1);
