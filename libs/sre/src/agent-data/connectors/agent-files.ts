import * as path from 'node:path';
import type { AgentDefinition } from '../agent-data.backend';

/** The extensions of agent files: the original's `.smyth`, and plain `.json`. */
export const AGENT_FILE_EXTENSIONS: readonly string[] = ['.smyth', '.json'];

/** Settings naming the domains an agent serves. */
const DOMAIN_SETTINGS = ['agentStageDomain', 'agentProdDomain'] as const;

export function isAgentFile(name: string): boolean {
  return AGENT_FILE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The definition in an agent file's text, or the sentence saying why it is none (never a quote of
 * the content). The file is the original's `.smyth` JSON: an object, `id` optional (the file name
 * without its extension stands in for it), `components` optional; `settings` and `embodiments`,
 * when present, must be an object and an array.
 */
export function parseAgentFile(file: string, text: string): { id: string; data: AgentDefinition } | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (!isPlainObject(data)) return 'not a JSON object';
  if (data.id !== undefined && (typeof data.id !== 'string' || data.id === ''))
    return "'id' must be a non-empty string";
  if (data.settings !== undefined && !isPlainObject(data.settings)) return "'settings' must be an object";
  if (data.components !== undefined && !Array.isArray(data.components)) return "'components' must be an array";
  if (data.embodiments !== undefined && !Array.isArray(data.embodiments)) return "'embodiments' must be an array";
  if (data.version !== undefined && typeof data.version !== 'string') return "'version' must be a string";
  const id = typeof data.id === 'string' ? data.id : path.basename(file, path.extname(file));
  return { id, data: data as AgentDefinition };
}

/** The domains a definition serves: its `agentStageDomain` / `agentProdDomain` settings and its `domains`. */
export function domainsOf(data: AgentDefinition): string[] {
  const fromSettings = DOMAIN_SETTINGS.map((key) => data.settings?.[key]);
  const listed = Array.isArray(data.domains) ? (data.domains as unknown[]) : [];
  return [...fromSettings, ...listed].filter((value): value is string => typeof value === 'string' && value !== '');
}

/** The team a definition names (`teamId`, or `team`), if any. */
export function teamOf(data: AgentDefinition): string | undefined {
  const team = data.teamId ?? data.team;
  return typeof team === 'string' && team !== '' ? team : undefined;
}

/** The embodiments a definition lists, or `[]`. */
export function embodimentsOf(data: AgentDefinition | undefined): unknown[] {
  return Array.isArray(data?.embodiments) ? structuredClone(data.embodiments) : [];
}
