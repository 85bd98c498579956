/**
 * The fourteen connector subsystems of the Smyth Runtime Environment, in the seed's boot order.
 * Leaf file: no imports, so every other file may depend on it.
 */
export const SUBSYSTEMS = [
  'Vault',
  'Account',
  'Cache',
  'Storage',
  'Code',
  'NKV',
  'VectorDB',
  'LLM',
  'ModelsProvider',
  'AgentData',
  'Component',
  'ManagedVault',
  'Log',
  'Router',
] as const;

export type SubsystemName = (typeof SUBSYSTEMS)[number];

export function isSubsystemName(value: string): value is SubsystemName {
  return (SUBSYSTEMS as readonly string[]).includes(value);
}
