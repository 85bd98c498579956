import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '@nestjs/common';
import { searchRoots } from '../../core/data-dir';
import { describeModelMapProblem } from '../models-loader';
import type { ModelMap } from '../models-provider.backend';

/** The folder looked for in the data dir and the `.smyth` locations when `models` is unset. */
export const MODELS_DIR_NAME = 'models';

/** Where configured models come from: inline entries, one `.json` file or a folder of them. */
export type ModelsSource =
  { kind: 'object'; models: ModelMap } | { kind: 'file'; file: string } | { kind: 'dir'; dir: string };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why a `models` setting is not usable, or `undefined`. */
export function modelsSettingProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? 'must not be an empty path' : undefined;
  if (!isPlainObject(value))
    return 'must be a path (a folder of .json files or one .json file) or an object of entries';
  return describeModelMapProblem(value);
}

/**
 * The source a `models` setting names: the entries themselves, the file or folder at a path (which
 * must exist), or, unset, the first `models` folder among the search roots of `dataDir` (else none).
 */
export function resolveModelsSource(models: string | ModelMap | undefined, dataDir: string): ModelsSource | undefined {
  if (isPlainObject(models)) return { kind: 'object', models: structuredClone(models) };
  if (typeof models === 'string') {
    const resolved = path.resolve(models);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(resolved);
    } catch {
      throw new Error(
        `models path ${resolved} does not exist (settings.models: a folder of .json files or a .json file)`,
      );
    }
    return stat.isDirectory() ? { kind: 'dir', dir: resolved } : { kind: 'file', file: resolved };
  }
  for (const root of searchRoots(dataDir)) {
    const dir = path.join(root, MODELS_DIR_NAME);
    if (isDirectory(dir)) return { kind: 'dir', dir };
  }
  return undefined;
}

/**
 * The entries of `files`, in order (a later file's entry replaces an earlier one of the same name),
 * and the entries of each file. `strict`: the first bad file fails; else a bad file keeps its entries
 * in `previous` (or is skipped), with a warning.
 */
export async function loadModelFiles(
  files: string[],
  strict: boolean,
  previous: ReadonlyMap<string, ModelMap>,
  logger: Pick<Logger, 'warn'>,
): Promise<{ models: ModelMap; byFile: Map<string, ModelMap> }> {
  const byFile = new Map<string, ModelMap>();
  for (const file of files) {
    try {
      byFile.set(file, await readModelsFile(file));
    } catch (error) {
      if (strict) throw error;
      const kept = previous.get(file);
      logger.warn(`${(error as Error).message}; ${kept ? 'its last good models are kept' : 'it is skipped'}`);
      if (kept) byFile.set(file, kept);
    }
  }
  const models: ModelMap = {};
  for (const entries of byFile.values()) Object.assign(models, entries);
  return { models, byFile };
}

/**
 * The `.json` files under `dir`, sorted, skipping names that start with a dot (and what is below
 * them). An unreadable folder fails when `strict`, else holds no files, with a warning.
 */
export async function listModelFiles(dir: string, strict: boolean, logger: Pick<Logger, 'warn'>): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await fs.promises.readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) found.push(full);
    }
  };
  try {
    await walk(dir);
  } catch (error) {
    if (strict) throw new Error(`models folder ${dir} cannot be read: ${(error as Error).message}`, { cause: error });
    logger.warn(
      `models folder ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); it holds no models now`,
    );
    return [];
  }
  return found.sort();
}

/**
 * The entries of one models file: a single entry (it has a string `modelId`; keyed by it) or an
 * object of entries by name. Errors name the file and the bad entries, never their content.
 */
export async function readModelsFile(file: string): Promise<ModelMap> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new Error(`models file ${file} cannot be read (${code})`, { cause: error });
    // no cause: a JSON parse error quotes the text, and an entry's credentials may hold keys
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`models file ${file} is not valid JSON`);
  }
  const models: unknown =
    isPlainObject(parsed) && typeof parsed.modelId === 'string' ? { [parsed.modelId]: parsed } : parsed;
  const problem = describeModelMapProblem(models);
  if (problem) throw new Error(`models file ${file}: ${problem}`);
  return models as ModelMap;
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
