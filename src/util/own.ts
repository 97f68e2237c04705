// Maps that come from the API (labels, annotations, Secret data, docker config `auths`) are data: a key
// such as `constructor` or `__proto__` is an ordinary key there. Look keys up as own properties only.

/** The value the map itself holds under `key`; never one inherited from Object.prototype. */
export const ownValue = <V>(map: Readonly<Record<string, V>> | undefined, key: string): V | undefined =>
  map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;

/** A map without a prototype, built from entries: every key, `__proto__` included, is an own property. */
export const dataMap = <V>(entries: Iterable<readonly [string, V]>): Record<string, V> =>
  Object.assign(Object.create(null) as Record<string, V>, Object.fromEntries(entries));

/** A JSON object: not null, not an array. */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
