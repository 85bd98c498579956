import type { VectorFilterValue, VectorMetadataFilter } from './vectordb.backend';

/** Field names a filter may use: safe inside every backend's filter syntax (W35). */
export const FILTER_FIELD = /^[A-Za-z0-9_]{1,64}$/;
export const MAX_FILTER_FIELDS = 16;
export const MAX_FILTER_VALUES = 100;

function isFilterValue(value: unknown): value is VectorFilterValue {
  return (
    typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * The filter as the service hands it to backends, or the reason it is refused: a plain object of
 * at most 16 safe field names, each a scalar or `{ $in: [1-100 scalars] }`.
 */
export function checkMetadataFilter(filter: unknown): VectorMetadataFilter | string {
  if (filter === undefined || filter === null) return {};
  if (typeof filter !== 'object' || Array.isArray(filter)) return 'filter must be an object of metadata fields';
  const fields = Object.keys(filter);
  if (fields.length > MAX_FILTER_FIELDS) return `a filter names at most ${MAX_FILTER_FIELDS} fields`;
  const checked: VectorMetadataFilter = {};
  for (const field of fields) {
    if (!FILTER_FIELD.test(field)) return `filter field '${field.slice(0, 64)}' must be 1-64 of A-Z a-z 0-9 _`;
    const condition = (filter as Record<string, unknown>)[field];
    if (isFilterValue(condition)) {
      checked[field] = condition;
      continue;
    }
    const values =
      typeof condition === 'object' && condition !== null && !Array.isArray(condition)
        ? (condition as { $in?: unknown }).$in
        : undefined;
    if (
      Object.keys(condition ?? {}).length !== 1 ||
      !Array.isArray(values) ||
      values.length === 0 ||
      values.length > MAX_FILTER_VALUES ||
      !values.every(isFilterValue)
    )
      return `filter field '${field}' must be a string, finite number or boolean, or { $in: [1-${MAX_FILTER_VALUES} of them] }`;
    checked[field] = { $in: [...values] };
  }
  return checked;
}

/** Does a datasource's user metadata match the filter (see `VectorMetadataFilter`)? */
export function matchesMetadataFilter(metadata: Record<string, unknown>, filter: VectorMetadataFilter): boolean {
  for (const field in filter) {
    if (!Object.prototype.hasOwnProperty.call(metadata, field)) return false;
    const value = metadata[field];
    const condition = filter[field];
    if (typeof condition === 'object') {
      if (!condition.$in.some((candidate) => candidate === value)) return false;
    } else if (condition !== value) return false;
  }
  return true;
}

/** True when the filter restricts nothing. */
export function isEmptyFilter(filter: VectorMetadataFilter): boolean {
  for (const _ in filter) return false;
  return true;
}
