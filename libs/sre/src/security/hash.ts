import { xxh64 } from '@node-rs/xxhash';

/**
 * Owner-id hashing of the original's ACLs: XXH64 with seed 0 (the original calls it "xxh3"),
 * lowercase hex without leading zeros. A native XXH64 plus a memo keeps it off the hot path: the
 * original spent ~100 µs per operation hashing ids in pure JavaScript.
 */
export type HashAlgorithm = 'xxh3' | 'none';

const MEMO_LIMIT = 50_000;
const memo = new Map<string, string>();

export function hashOwnerId(id: string, algorithm: HashAlgorithm = 'xxh3'): string {
  if (algorithm === 'none') return id;
  let hashed = memo.get(id);
  if (hashed === undefined) {
    hashed = xxh64(id).toString(16);
    // ids are few (teams, users, agents); a full reset keeps the memo bounded without LRU bookkeeping
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(id, hashed);
  }
  return hashed;
}
