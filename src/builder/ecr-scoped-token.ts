// The daemon's EcrScoper: an ECR authorization token requested by a session of the source's role whose
// STS session policy (ecr-session-policy.ts) allows only the requested repositories, so the token handed
// to a limited caller pulls and pushes those repositories and nothing else. The session comes from
// AssumeRole with the source's roleARN on top of its static keys or the daemon's own identity (one
// provider shared with the rest of the daemon, so its resolved credentials are reused), lasting 15
// minutes. Without a roleARN the credential cannot be narrowed and the caller is told to set one. A login
// is cached per resource (by UID), source and repository set, and handed out again until `reuseMarginMs`
// before it expires; concurrent requests for the same login share one STS and ECR round trip. The cache
// key is a hash: no credential is kept outside the cached login itself. Every call runs under one
// deadline. The AWS SDK is imported lazily, like the ECR provider's.
import type { GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import { LRUCache } from 'lru-cache';
import type { EcrSource, ImagePullSecret } from '../api/v1alpha1/types.ts';
import { decodeAuth } from '../dockerconfig/index.ts';
import { defaultEcrClient, ROLE_SESSION_NAME, staticKeysOf, type AwsCredentials, type EcrClientFactory, type StaticKeys } from '../credentials/ecr.ts';
import type { SecretData } from '../credentials/provider.ts';
import { abortable, deadline } from '../util/deadline.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { sha256Hex } from '../util/hash.ts';
import { ecrSessionPolicy, SCOPED_SESSION_SECONDS } from './ecr-session-policy.ts';
import { ScopeUnsupported, type EcrScoper, type ScopedCredential } from './scoped-credentials.ts';
import { awsCredentialProviders, ecrSdk } from '../credentials/sdks.ts';

/** Temporary credentials of an assumed-role session. */
export type SessionCredentials = Awaited<ReturnType<Exclude<AwsCredentials, { accessKeyId: string }>>>;

export interface AssumeRoleInput {
  roleARN: string;
  region: string;
  /** The session policy (JSON). */
  policy: string;
  base: AwsCredentials;
  timeoutMs: number;
}

/** Logins cached at most (resources × repository sets); the least recently used go first. */
const MAX_CACHED = 1000;
export const DEFAULT_REUSE_MARGIN_MS = 5 * 60_000;

export interface EcrScoperOptions {
  /** The resource's ECR source for a region, with its credentials Secret's data. */
  source(ips: ImagePullSecret, region: string): { source: EcrSource; secret?: SecretData } | undefined;
  ecrClient?: EcrClientFactory;
  timeoutMs?: number;
  /**
   * The identity a session is assumed from: the source's static keys when it has them, else the daemon's
   * own. Default: the static keys, else one AWS default chain for every call of this scoper.
   */
  baseCredentials?: (region: string, staticKeys: StaticKeys | undefined) => AwsCredentials;
  /** Assumes the role under the session policy; default STS through the AWS SDK (tests inject their own). */
  assumeRole?: (input: AssumeRoleInput) => Promise<SessionCredentials>;
  clock?: Clock;
  /** A cached login is handed out until this long before it expires; default 5 minutes. */
  reuseMarginMs?: number;
}

type AuthorizationData = NonNullable<GetAuthorizationTokenCommandOutput['authorizationData']>[number];

/** The login inside an ECR token, expiring with the earlier of the token and the session. */
function narrowedLogin(data: AuthorizationData | undefined, sessionExpiry: Date | undefined, nowMs: number): ScopedCredential {
  const login = data?.authorizationToken ? decodeAuth(data.authorizationToken) : undefined;
  if (!data?.authorizationToken || !login) throw new Error('the ECR response carries no well-formed authorization token');
  const expiries = [data.expiresAt, sessionExpiry].filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  const expiresAt = new Date(expiries.length > 0 ? Math.min(...expiries) : nowMs + SCOPED_SESSION_SECONDS * 1000);
  return { token: data.authorizationToken, expiresAt, login };
}

async function stsAssumeRole(input: AssumeRoleInput): Promise<SessionCredentials> {
  const { fromTemporaryCredentials } = await awsCredentialProviders();
  return fromTemporaryCredentials({
    params: { RoleArn: input.roleARN, RoleSessionName: ROLE_SESSION_NAME, DurationSeconds: SCOPED_SESSION_SECONDS, Policy: input.policy },
    masterCredentials: input.base,
    clientConfig: { region: input.region, requestHandler: { requestTimeout: input.timeoutMs, connectionTimeout: input.timeoutMs } },
  })();
}

/** The static keys, else the AWS default chain: one for every call, so the credentials it resolved are reused. */
function sharedBaseCredentials(): (region: string, staticKeys: StaticKeys | undefined) => AwsCredentials {
  let chain: Promise<() => Promise<SessionCredentials>> | undefined;
  const ambient = async (): Promise<SessionCredentials> => (await (chain ??= awsCredentialProviders().then((p) => p.fromNodeProviderChain())))();
  return (_region, staticKeys) => staticKeys ?? ambient;
}

/** The cache key of one login: a hash over everything that decides it, keys included, so none is kept. */
function cacheKey(ips: ImagePullSecret, region: string, accountId: string, source: EcrSource, staticKeys: StaticKeys | undefined, repositories: string[]): string {
  return sha256Hex(JSON.stringify([ips.metadata.uid ?? ips.metadata.name, region, accountId, source.roleARN, source.endpoint ?? '',
    staticKeys ? [staticKeys.accessKeyId, staticKeys.secretAccessKey, staticKeys.sessionToken ?? ''] : null, [...repositories].sort()]));
}

export function createEcrScoper(opts: EcrScoperOptions): EcrScoper {
  const ecrClient = opts.ecrClient ?? defaultEcrClient;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const clock = opts.clock ?? realClock;
  const margin = opts.reuseMarginMs ?? DEFAULT_REUSE_MARGIN_MS;
  const baseCredentials = opts.baseCredentials ?? sharedBaseCredentials();
  const assumeRole = opts.assumeRole ?? stsAssumeRole;
  const cache = new LRUCache<string, ScopedCredential>({ max: MAX_CACHED });
  const inFlight = new Map<string, Promise<ScopedCredential>>();

  async function fetchLogin(region: string, accountId: string, repositories: string[], source: EcrSource & { roleARN: string }, staticKeys: StaticKeys | undefined): Promise<ScopedCredential> {
    const { signal, clear } = deadline({ clock, ms: timeoutMs, timeoutError: () => new Error(`no answer within ${String(timeoutMs / 1000)} s`) });
    try {
      const session = await abortable(assumeRole({
        roleARN: source.roleARN, region, policy: ecrSessionPolicy(region, accountId, repositories), base: baseCredentials(region, staticKeys), timeoutMs,
      }), signal, 'the STS request did not finish before its deadline');
      const client = ecrClient({ region, credentials: session, ...(source.endpoint ? { endpoint: source.endpoint } : {}) });
      try {
        const { GetAuthorizationTokenCommand } = await ecrSdk();
        const output = await client.send(new GetAuthorizationTokenCommand({}), { abortSignal: signal });
        return narrowedLogin(output.authorizationData?.[0], session.expiration, clock.nowMs());
      } finally {
        client.destroy?.();
      }
    } finally {
      clear();
    }
  }

  return {
    async scope(req): Promise<ScopedCredential> {
      const found = opts.source(req.ips, req.region);
      if (!found) throw new ScopeUnsupported(`ImagePullSecret ${req.ips.metadata.name} has no ECR source for ${req.region}`);
      if (req.repositories.length === 0) {
        throw new ScopeUnsupported('name the repositories (serverURL host/repository, or "repositories" in the body): an ECR session policy names repositories');
      }
      const { source, secret } = found;
      const { roleARN } = source;
      if (!roleARN) {
        throw new ScopeUnsupported(`set roleARN on the ECR source for ${req.region}: the daemon narrows ECR tokens to repositories with an STS AssumeRole session policy`);
      }
      const staticKeys = staticKeysOf(secret);
      const key = cacheKey(req.ips, req.region, req.accountId, source, staticKeys, req.repositories);
      const cached = cache.get(key);
      if (cached && cached.expiresAt.getTime() - margin > clock.nowMs()) return cached;
      const pending = inFlight.get(key) ?? fetchLogin(req.region, req.accountId, req.repositories, { ...source, roleARN }, staticKeys)
        .then((login) => {
          cache.set(key, login);
          return login;
        })
        .finally(() => { inFlight.delete(key); });
      inFlight.set(key, pending);
      return pending;
    },
  };
}
