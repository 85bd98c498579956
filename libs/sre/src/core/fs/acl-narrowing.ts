import type { Level, Role } from '../../security/access-candidate';
import { ACL, type IACL } from '../../security/acl';

/**
 * The ACL to hold while a value guarded by `current` is swapped for one guarded by `next` in two
 * steps (two files, two objects): the rights both grant, or `undefined` when `next` takes nothing
 * away (no intermediate step needed). Written first, it makes every crash point safe: nobody
 * reads a value their ACL at that instant does not cover.
 */
export function narrowedACL(current: ACL, next: ACL): ACL | undefined {
  if (current.hashAlgorithm !== next.hashAlgorithm) return new ACL(current.hashAlgorithm);
  const mine = current.toJSON().entries ?? {};
  const theirs = next.toJSON().entries ?? {};
  const kept: IACL = { hashAlgorithm: current.hashAlgorithm, entries: {} };
  let lost = false;
  for (const [role, owners] of Object.entries(mine) as [Role, Record<string, Level[]>][]) {
    for (const [key, levels] of Object.entries(owners)) {
      const have = effective(levels);
      const allowed = effective(theirs[role]?.[key] ?? []);
      const both = [...have].filter((level) => allowed.has(level));
      if (both.length < have.size) lost = true;
      if (both.length) (kept.entries![role] ??= {})[key] = both;
    }
  }
  return lost ? ACL.fromObject(kept) : undefined;
}

/** What a level list lets a candidate do at decision time (owner implies read and write). */
function effective(levels: readonly Level[]): Set<Level> {
  const set = new Set<Level>(levels.filter((level) => level !== 'none'));
  if (set.has('owner')) set.add('read').add('write');
  return set;
}
