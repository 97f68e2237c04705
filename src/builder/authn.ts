// Authentication of builder requests: the bearer token must be a ServiceAccount token the API server
// accepts for the builder audience. We ask the API server with a TokenReview (spec.audiences = [audience])
// and accept only `status.authenticated` with the audience echoed in `status.audiences` and a username
// `system:serviceaccount:<namespace>:<name>`. Positive answers are cached briefly under the sha256 of the
// token (never the token itself), for at most `cacheTtlMs` (default 3 s) and never past the token's own
// `exp`, so a builder that calls several times in a row costs one TokenReview. Refused tokens are
// remembered (by hash, briefly) and reviews are admitted by a global gate (review-gate.ts), so refused
// tokens cannot make the daemon queue reviews. Revocation: `revoke(sa)` (the server calls it when the
// watch sees a ServiceAccount deleted) drops every cached answer of the ServiceAccount at once and remembers its UID, and answers naming a
// revoked UID are refused: the API server itself keeps accepting a deleted ServiceAccount's token for a
// while (its own TokenReview cache, 10 s by default), so forgetting our cache alone would not be enough.
// A ServiceAccount created again under the same name has a new UID and works at once. The short TTL
// bounds every other change the API server makes to a token's validity.
import { LRUCache } from 'lru-cache';
import type { KubeRest } from '../kube/rest.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { sha256Hex } from '../util/hash.ts';
import { jwtExpiryMs } from '../util/jwt.ts';
import type { ServiceAccountRef } from './access.ts';
import { ReviewGate } from './review-gate.ts';

const SA_PREFIX = 'system:serviceaccount:';
/** How long a deleted ServiceAccount's UID is refused: far past any API server token cache. */
const REVOKED_TTL_MS = 10 * 60 * 1000;
export const DEFAULT_CACHE_TTL_MS = 3000;
const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

interface TokenReviewStatus {
  authenticated?: boolean;
  /** For ServiceAccount tokens, `uid` is the ServiceAccount's UID. */
  user?: { username?: string; uid?: string };
  audiences?: string[];
  error?: string;
}

/** TokenReview could not be performed (API server unreachable, RBAC missing): answer 503, not 401. */
export class AuthenticationUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationUnavailable';
  }
}

export interface AuthenticatorOptions {
  rest: Pick<KubeRest, 'call'>;
  audience: string;
  clock?: Clock;
  /** Upper bound of the positive cache; default 3 s. */
  cacheTtlMs?: number;
  /** Cached tokens at most; default 10,000. */
  max?: number;
  /** Admission of reviews and the cache of refused tokens; default: DEFAULT_REVIEW_LIMITS. */
  gate?: ReviewGate;
}

/** The ServiceAccount of a `system:serviceaccount:<ns>:<name>` username, or undefined for any other user. */
export function serviceAccountOf(username: string | undefined): ServiceAccountRef | undefined {
  if (!username?.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(':');
  const [namespace, name] = parts;
  if (parts.length !== 2 || !namespace || !name || !NAME_RE.test(namespace) || !NAME_RE.test(name)) return undefined;
  return { namespace, name };
}

export class Authenticator {
  private readonly cache: LRUCache<string, { sa: ServiceAccountRef; untilMs: number }>;
  private readonly revoked: LRUCache<string, true>;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly gate: ReviewGate;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.clock = opts.clock ?? realClock;
    this.gate = opts.gate ?? new ReviewGate(undefined, this.clock);
    this.ttlMs = opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.cache = new LRUCache({ max: opts.max ?? 10_000 });
    this.revoked = new LRUCache({ max: opts.max ?? 10_000, ttl: REVOKED_TTL_MS, perf: { now: () => this.clock.nowMs() } });
  }

  /** Forgets every cached answer for `sa` and refuses its UID from now on (see the file comment). */
  revoke(sa: ServiceAccountRef & { uid?: string }): void {
    if (sa.uid) this.revoked.set(sa.uid, true);
    for (const [key, value] of this.cache.entries()) {
      if (value.sa.namespace === sa.namespace && value.sa.name === sa.name) this.cache.delete(key);
    }
  }

  /** True when the token would be answered from a cache, accepted or refused (no TokenReview needed). */
  isCached(token: string): boolean {
    const key = sha256Hex(token);
    const hit = this.cache.get(key);
    return (hit !== undefined && hit.untilMs > this.clock.nowMs()) || this.gate.wasRefused(key);
  }

  /**
   * The ServiceAccount the token authenticates, or undefined when the token is invalid, expired, for
   * another audience or not a ServiceAccount's. Throws AuthenticationUnavailable when the review fails,
   * ReviewShed when the gate admits no review now.
   */
  async authenticate(token: string): Promise<ServiceAccountRef | undefined> {
    const key = sha256Hex(token);
    const now = this.clock.nowMs();
    const hit = this.cache.get(key);
    if (hit && hit.untilMs > now) return hit.sa;
    if (hit) this.cache.delete(key);
    if (this.gate.wasRefused(key)) return undefined;
    const release = this.gate.admit();
    let status: TokenReviewStatus;
    try {
      status = await this.review(token);
    } finally {
      release();
    }
    const uid = status.user?.uid;
    const sa = status.authenticated === true && (status.audiences ?? []).includes(this.opts.audience) && !(uid && this.revoked.has(uid))
      ? serviceAccountOf(status.user?.username)
      : undefined;
    if (!sa) {
      this.gate.refuse(key);
      return undefined;
    }
    const exp = jwtExpiryMs(token);
    const untilMs = Math.min(now + this.ttlMs, exp ?? now);
    if (untilMs > now) this.cache.set(key, { sa, untilMs });
    return sa;
  }

  private async review(token: string): Promise<TokenReviewStatus> {
    try {
      const review = await this.opts.rest.call<{ status?: TokenReviewStatus }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.opts.audience] } },
      });
      return review.status ?? {};
    } catch (err) {
      // KubeApiError carries the API server's Status message, which never echoes the request body.
      const code = (err as { code?: unknown }).code;
      throw new AuthenticationUnavailable(`TokenReview failed${typeof code === 'number' ? ` with HTTP ${code}` : ''}`);
    }
  }
}
