// The one interface every cloud credential provider implements. A provider turns a
// source of the spec (plus the data of the Secret it references, which the controller resolved) into
// registry entries with an expiry. Providers get SDK clients from injected factories and never call the
// Kubernetes API; caching, refresh and backoff live in the token cache, not here.
import type { AuthEntry } from '../dockerconfig/index.ts';

/** The decoded data of a referenced Secret (values as UTF-8 strings), or undefined for none. */
export type SecretData = Readonly<Record<string, string>>;

export interface FetchedCredentials {
  /** One entry per registry host of the source fetched for, keys already canonical (normalizeRegistryKey). */
  entries: AuthEntry[];
  expiresAt: Date;
  /** Non-secret facts of the response that decide where the login is written (ECR: the caller's account). */
  context?: Readonly<Record<string, string>>;
}

export interface CredentialProvider<S> {
  /** The kind of its module (registry.ts): status, `plan` and metric labels name the provider by it. */
  readonly kind: string;
  /** Pure: problems with `source` as written, as user-facing messages. Empty when usable. */
  validate(source: S): string[];
  /**
   * A deterministic key naming everything that decides whom the provider authenticates as and which
   * token it gets, and nothing else: the registries a token is written for are not part of it, so two
   * sources of one identity share one fetch. Secret material enters only as a hash.
   */
  identity(source: S, secret: SecretData | undefined): string;
  /**
   * Pure: the entries `source` gets from credentials fetched for another source of the same identity,
   * i.e. the same login written under `source`'s registries. Throws (safe message) when it cannot say.
   */
  retarget(source: S, fetched: FetchedCredentials): AuthEntry[];
  /**
   * Fetches fresh credentials. Rejects with an error whose message is safe to show: it must not carry
   * keys, tokens or passwords (the token cache scrubs secret values once more as a second line).
   */
  fetch(source: S, secret: SecretData | undefined, signal?: AbortSignal): Promise<FetchedCredentials>;
}

/** The login of `fetched` (every entry of one fetch carries the same) written under each of `registries`. */
export function entriesFor(registries: readonly string[], fetched: FetchedCredentials): AuthEntry[] {
  const first = fetched.entries[0];
  if (!first) throw new Error('the fetch returned no login');
  const { registry: _, ...login } = first;
  return registries.map((registry) => ({ registry, ...login }));
}
