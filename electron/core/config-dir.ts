/**
 * The user's configuration folder, where the studio and the CLI keep what the user made (the
 * pronunciation lexicon): the same folder for both, found the way each platform expects.
 *
 * The core reads nothing from it on its own: a shell (the CLI, the Electron app, browser mode) calls
 * configDir() and hands the paths it needs to the core's functions.
 */
import os from 'node:os';
import path from 'node:path';

const APP_DIR = 'spear-studio';

/**
 * $SPEAR_CONFIG_DIR if set; else Windows %APPDATA%\spear-studio, macOS ~/Library/Application
 * Support/spear-studio, elsewhere $XDG_CONFIG_HOME/spear-studio (an absolute XDG_CONFIG_HOME only, as
 * the XDG spec says) or ~/.config/spear-studio. The arguments exist for tests.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string {
  if (env.SPEAR_CONFIG_DIR) return path.resolve(env.SPEAR_CONFIG_DIR);
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), APP_DIR);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_DIR);
  const xdg = env.XDG_CONFIG_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.config'), APP_DIR);
}
