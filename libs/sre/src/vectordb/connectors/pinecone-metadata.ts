import type { VectorFilterValue, VectorMetadataFilter } from '../vectordb.backend';

/**
 * The metadata each vector carries. Pinecone filters on flat metadata only, so the top-level
 * scalar fields of the datasource's user metadata are copied beside the JSON of all of it, each
 * under `m_<field>` (a prefix no field of ours starts with): a filter on them is exact, and a field
 * held as an object or an array is simply absent, so it never matches (as `VectorMetadataFilter`
 * says). Pinecone's metadata has no null: what is optional is left out.
 */
export type PineconeVectorMetadata = {
  text: string;
  namespaceId: string;
  datasourceId: string;
  datasourceLabel: string;
  chunkIndex: number;
  /** Which write of the datasource stored the vector: a replacement removes every other one (W33). */
  generation: string;
  /** The datasource's ACL, compact (as the original stores it). */
  acl: string;
  /** JSON of the whole user metadata. */
  user_metadata: string;
} & Record<string, string | number | boolean>;

export const USER_FIELD_PREFIX = 'm_';

/** The user metadata's top-level scalars, under their prefixed names. */
export function flatUserFields(metadata: Record<string, unknown>): Record<string, string | number | boolean> {
  const flat: Record<string, string | number | boolean> = {};
  for (const [field, value] of Object.entries(metadata)) {
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    )
      flat[USER_FIELD_PREFIX + field] = value;
  }
  return flat;
}

type Condition = Record<string, unknown>;

/**
 * A `VectorMetadataFilter` in Pinecone's language (`undefined` for `{}`): `$eq` per field, `$in`
 * for lists. Pinecone's `$in` takes strings and numbers, so booleans in a list become `$eq`
 * alternatives. Field names are already checked by the service (`A-Z a-z 0-9 _`), so no name can
 * become an operator.
 */
export function pineconeFilter(filter: VectorMetadataFilter): Condition | undefined {
  const parts: Condition[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    const key = USER_FIELD_PREFIX + field;
    if (typeof condition !== 'object') {
      parts.push({ [key]: { $eq: condition } });
      continue;
    }
    const listed = condition.$in.filter((value): value is string | number => typeof value !== 'boolean');
    const flags = [...new Set(condition.$in.filter((value): value is boolean => typeof value === 'boolean'))];
    const options: Condition[] = [
      ...(listed.length ? [{ [key]: { $in: listed } }] : []),
      ...flags.map((flag: VectorFilterValue) => ({ [key]: { $eq: flag } })),
    ];
    parts.push(options.length === 1 ? options[0] : { $or: options });
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

/** The user metadata a vector carries, as an object (`{}` when absent or unreadable). */
export function userMetadataOf(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  const json = metadata?.user_metadata;
  if (typeof json !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
