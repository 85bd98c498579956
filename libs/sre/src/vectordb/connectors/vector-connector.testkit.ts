import type { SecretReader } from '../../llm/llm-credentials';
import type { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { NamespaceRecord, VectorNamespace } from '../vectordb.backend';

/** A namespace as the service hands it to a connector: the storage key `<r>_<ownerId>_<name>`. */
export function namespaceOf(owner: AccessCandidate, name = 'docs'): VectorNamespace {
  return { name, key: `${owner.role[0]}_${owner.id}_${name}`, owner };
}

/** The record the service writes for a new namespace: its owner holds it, nobody else. */
export function namespaceRecordOf(ns: VectorNamespace): NamespaceRecord {
  return {
    namespace: ns.key,
    displayName: ns.name,
    candidateId: ns.owner.id,
    candidateRole: ns.owner.role,
    metadata: {},
    acl: new ACL().grant(ns.owner, 'owner'),
  };
}

/**
 * A vault in which each team holds its own `openai` key (users read their team's) and anyone in no
 * team has `sk-anyone-else`; a team whose key is `''` has none, to test a missing key.
 */
export function teamVault(teamKeys: Record<string, string>, teamOf: Record<string, string>): SecretReader {
  return {
    requester: (candidate) => ({
      get: async (key) => {
        if (key !== 'openai') return undefined;
        const team = candidate.role === 'team' ? candidate.id : teamOf[candidate.id];
        return team === undefined ? 'sk-anyone-else' : teamKeys[team] || undefined;
      },
    }),
  };
}
