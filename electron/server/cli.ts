/**
 * `npm run serve`: browser mode. Prints the URL (with its access token) to open in a browser.
 *
 *   npm run serve -- [--port N] [--voice DIR] [--renderer DIR] [--settings FILE] [--lexicon FILE]
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startServer } from './server.ts';
import { configDir } from '../core/config-dir.ts';
import { lexiconPath } from '../core/text/lexicon-file.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    voice: { type: 'string' },
    renderer: { type: 'string', default: path.join(root, 'dist/renderer') },
    settings: { type: 'string', default: path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'spear-studio/settings.json') },
    // The file `spear lexicon` edits.
    lexicon: { type: 'string', default: lexiconPath(configDir()) },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`serve: --port ${values.port} is not a port number (0 picks a free one)\n`);
  process.exit(2);
}
const server = await startServer({
  port,
  rendererDir: values.renderer!,
  service: {
    voiceDir: values.voice && path.resolve(values.voice),
    settingsFile: values.settings,
    calibrationDir: configDir(),
    lexiconFile: path.resolve(values.lexicon!),
  },
});
process.stdout.write(`Spear Studio (browser mode) on the loopback interface only.\nOpen: ${server.url}\n`);
const stop = async (): Promise<void> => {
  await server.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
