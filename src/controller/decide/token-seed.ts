// What a restarted daemon reads back instead of fetching a token again: the login a resource's Secrets
// already carry for one cloud source, with the expiry and fetch time its status recorded for that source.
// Taken only when the status says the token was fetched for the identity the source names now (a digest,
// see TokenCache.digest) and the Secrets carry it under every registry the source wins. So a restart with
// nothing changed fetches no token and rewrites no Secret. Pure.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { payloadEntries, type AuthEntry } from '../../dockerconfig/index.ts';
import type { FetchedCredentials } from '../../credentials/index.ts';

export interface TokenSeed {
  fetched: FetchedCredentials;
  fetchedAt: Date;
}

const sameLogin = (a: AuthEntry, b: AuthEntry): boolean =>
  a.auth === b.auth && a.password === b.password && a.identitytoken === b.identitytoken && a.username === b.username;

function dateOf(text: string | undefined): Date | undefined {
  const date = text === undefined ? undefined : new Date(text);
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** The account of an ECR registry host, which a source without accountIDs writes its login for. */
function contextOf(registry: string): Record<string, string> | undefined {
  const account = /^(\d{12})\.dkr\.ecr\./.exec(registry)?.[1];
  return account === undefined ? undefined : { account };
}

/**
 * The token source `reference` of `ips` last received, read back from `payload` (the value its Secrets
 * carry), when its status names `identity` and records when the token was fetched and expires.
 */
export function tokenSeed(ips: ImagePullSecret, payload: string | undefined, reference: string, identity: string): TokenSeed | undefined {
  const s = ips.status?.sources?.find((x) => x.reference === reference);
  // Not with a failure on record, nor when the status lists only some of the source's registries.
  if (payload === undefined || !s || s.identity !== identity || s.message !== undefined || s.registryCount !== undefined) return undefined;
  const expiresAt = dateOf(s.expiresAt);
  const fetchedAt = dateOf(s.lastRefreshTime);
  if (!expiresAt || !fetchedAt) return undefined;
  const lost = new Set(s.shadowed ?? []);
  const registries = s.registries.filter((r) => !lost.has(r));
  const carried = new Map((payloadEntries(payload) ?? []).map((e) => [e.registry, e]));
  const entries = registries.map((r) => carried.get(r));
  const [first] = entries;
  if (!first || !entries.every((e): e is AuthEntry => e !== undefined && sameLogin(e, first))) return undefined;
  const context = contextOf(first.registry);
  return { fetched: { entries, expiresAt, ...(context ? { context } : {}) }, fetchedAt };
}
