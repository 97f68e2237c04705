// The one interface every cloud credential provider implements (STYLE principle 5). A provider turns a
// source of the spec (plus the data of the Secret it references, which the controller resolved) into
// registry entries with an expiry. Providers get SDK clients from injected factories and never call the
// Kubernetes API; caching, refresh and backoff live in the token cache, not here.
import type { AuthEntry } from '../dockerconfig/index.ts';

export type ProviderKind = 'ECR' | 'GCP' | 'Azure';

/** The decoded data of a referenced Secret (values as UTF-8 strings), or undefined for none. */
export type SecretData = Readonly<Record<string, string>>;

export interface FetchedCredentials {
  /** One entry per registry host, keys already canonical (normalizeRegistryKey). */
  entries: AuthEntry[];
  expiresAt: Date;
}

export interface CredentialProvider<S> {
  readonly kind: ProviderKind;
  /** Pure: problems with `source` as written, as user-facing messages. Empty when usable. */
  validate(source: S): string[];
  /**
   * A deterministic key naming everything that decides whom the provider authenticates as and what it
   * returns: two sources with equal identity share one token. Secret material enters only as a hash.
   */
  identity(source: S, secret: SecretData | undefined): string;
  /**
   * Fetches fresh credentials. Rejects with an error whose message is safe to show: it must not carry
   * keys, tokens or passwords (the token cache scrubs secret values once more as a second line).
   */
  fetch(source: S, secret: SecretData | undefined, signal?: AbortSignal): Promise<FetchedCredentials>;
}
