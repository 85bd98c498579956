import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where connectors keep data when their settings name no folder: `SRE_DATA_DIR`, else the
 * original's `SMYTH_PATH`, else `./.sre` under the working directory.
 */
export function resolveDataDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(explicit ?? env.SRE_DATA_DIR ?? env.SMYTH_PATH ?? '.sre');
}

/**
 * True under Jest (`JEST_WORKER_ID` is set) or with `NODE_ENV=test`: searches for files the user did
 * not name then leave the home directory out, so a test never reads the developer's own files.
 */
export function isTestRun(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.JEST_WORKER_ID !== undefined || env.NODE_ENV === 'test';
}

/**
 * Folders searched for a file the user did not name, in order, without duplicates: the data dir,
 * then the original's `.smyth` locations (working directory, entry script's folder, home). The
 * home directory is left out in tests (`isTestRun`).
 */
export function searchRoots(dataDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const roots = [dataDir, path.resolve('.smyth')];
  if (process.argv[1]) roots.push(path.join(path.dirname(path.resolve(process.argv[1])), '.smyth'));
  if (!isTestRun(env)) roots.push(path.join(os.homedir(), '.smyth'));
  return [...new Set(roots)];
}
