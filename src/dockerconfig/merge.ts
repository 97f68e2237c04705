// The deterministic merge: sources contribute in spec order, the first source to name a
// registry wins it and later ones are reported as shadowed; output keys are sorted so equal input gives
// equal bytes (and therefore no write). Pure.
import { canonicalJson } from '../util/json.ts';
import { sha256Hex } from '../util/hash.ts';
import type { AuthEntry } from './parse.ts';

export interface Contribution {
  /** Non-secret name of the source, e.g. `Secret registry-access/dockerhub`. */
  source: string;
  entries: readonly AuthEntry[];
}

export interface Shadowing {
  registry: string;
  winner: string;
  loser: string;
}

export type DockerAuth = Omit<AuthEntry, 'registry'>;

export interface DockerConfig {
  auths: Record<string, DockerAuth>;
}

export interface Merged {
  config: DockerConfig;
  shadowed: Shadowing[];
}

export function mergeContributions(contributions: readonly Contribution[]): Merged {
  const winners = new Map<string, { source: string; entry: AuthEntry }>();
  const shadowed: Shadowing[] = [];
  for (const { source, entries } of contributions) {
    for (const entry of entries) {
      const won = winners.get(entry.registry);
      if (!won) winners.set(entry.registry, { source, entry });
      else if (won.source !== source) shadowed.push({ registry: entry.registry, winner: won.source, loser: source });
    }
  }
  // Built with fromEntries (own data properties), never by assignment: a `__proto__` key stays a key.
  const auths = Object.fromEntries([...winners.keys()].sort().flatMap((registry) => {
    const won = winners.get(registry);
    if (!won) return [];
    const { registry: _, ...auth } = won.entry;
    return [[registry, auth]];
  })) as Record<string, DockerAuth>;
  return { config: { auths }, shadowed };
}

/** The `.dockerconfigjson` bytes: compact JSON with every object's keys sorted. */
export const serialize = (config: DockerConfig): string => canonicalJson(config);

/** The value of the data-hash annotation. */
export const dataHash = (bytes: string): string => `sha256:${sha256Hex(bytes)}`;

/** The data-hash of bytes given as base64 (a Secret's data value), without decoding them into a string first. */
export const encodedDataHash = (data: string): string => `sha256:${sha256Hex(data, 'base64')}`;
