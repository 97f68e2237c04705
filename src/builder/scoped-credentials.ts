// Credentials narrowed to repositories, for callers a `builder.repositories` allow-list limits: such a
// caller never receives the resource's own (registry-wide) credential. A registry that speaks Distribution
// token auth (a `Bearer realm=…` challenge on `GET /v2/`) issues the narrowed credential itself: the daemon
// asks the realm, with the resource's credential, for a bearer token scoped to
// `repository:<name>:pull,push` of each repository and hands that token out. An ECR registry gets a token
// requested under an STS session policy allowing only those repositories (an ECR token carries the
// permissions of the principal that asked for it), when an EcrScoper is configured. Anything else cannot be
// narrowed and the caller is refused with the reason (ScopeUnsupported → 403).
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import type { AuthEntry } from '../dockerconfig/index.ts';
import { parseEcrHost } from './ecr-repositories.ts';
import type { FetchLike } from '../util/fetch.ts';
import { discoverChallenge, requestToken, type RegistryToken } from './registry-token.ts';
import type { OutboundPolicy } from '../util/outbound.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { deadline } from '../util/deadline.ts';

/** The credential cannot be narrowed to the repositories; `message` says why and is safe to return. */
export class ScopeUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeUnsupported';
  }
}

export interface ScopeRequest {
  ips: ImagePullSecret;
  /** Registry host (with port) serving the v2 API. */
  host: string;
  /** The resource's own credential for the registry. */
  entry: AuthEntry;
  /** Repository names on `host`, each admitted by the resource's allow-list. */
  repositories: string[];
  /** The allow-list entries on `host` (normalised, `host/…`), for policies that can express prefixes. */
  prefixes: string[];
}

/** A narrowed credential: a bearer token, or (ECR) a login whose principal is narrowed. */
export interface ScopedCredential extends RegistryToken {
  login?: { username: string; password: string };
}

export interface CredentialScoper {
  /** A credential good for pull and push on the requested repositories only. */
  scope(req: ScopeRequest): Promise<ScopedCredential>;
}

/** Narrows ECR credentials; the daemon's implementation uses STS (ecr-scoped-token.ts). */
export interface EcrScoper {
  scope(req: ScopeRequest & { region: string; accountId: string }): Promise<ScopedCredential>;
}

export interface ScoperOptions {
  fetch?: FetchLike;
  timeoutMs?: number;
  ecr?: EcrScoper;
  /** Which realms beyond the registry's own host may be asked (registry-token.ts); default none. */
  outbound?: OutboundPolicy;
  /** Times the deadline and the token's lifetime; default realClock. */
  clock?: Clock;
}

export function pushPullScopes(repositories: readonly string[]): string[] {
  return repositories.map((r) => `repository:${r}:pull,push`);
}

export function createScoper(opts: ScoperOptions): CredentialScoper {
  const fetchFn: FetchLike = opts.fetch ?? (globalThis.fetch);
  return {
    async scope(req) {
      const ecrHost = parseEcrHost(req.host);
      if (ecrHost) {
        if (!opts.ecr) throw new ScopeUnsupported(`ECR credentials for ${req.host} cannot be narrowed to repositories by this server`);
        return opts.ecr.scope({ ...req, region: ecrHost.region, accountId: ecrHost.accountId });
      }
      if (req.repositories.length === 0) {
        throw new ScopeUnsupported('name the repositories (serverURL host/repository, or "repositories" in the body): '
          + 'the builder.repositories entries for this registry are prefixes, and a registry token names repositories');
      }
      const ms = opts.timeoutMs ?? 15_000;
      const clock = opts.clock ?? realClock;
      const { signal, clear } = deadline({ clock, ms, timeoutError: () => new Error(`no answer within ${String(ms / 1000)} s`) });
      try {
        const challenge = await discoverChallenge(fetchFn, req.host, signal);
        if (!challenge) {
          throw new ScopeUnsupported(`${req.host} does not use token authentication, so its credentials cannot be narrowed to repositories`);
        }
        return await requestToken(fetchFn, challenge, req.entry, pushPullScopes(req.repositories), signal,
          { registry: req.host, clock, ...(opts.outbound ? { outbound: opts.outbound } : {}) });
      } finally {
        clear();
      }
    },
  };
}
