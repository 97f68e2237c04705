// The daemon's EcrScoper: an ECR authorization token requested by a session of the source's role whose
// STS session policy (ecr-session-policy.ts) allows only the requested repositories, so the token handed
// to a limited caller pulls and pushes those repositories and nothing else. The session comes from
// AssumeRole with the source's roleARN (on top of its static keys or the daemon's own identity), lasting
// 15 minutes. Without a roleARN the credential cannot be narrowed and the caller is told to set one.
// Every call runs under one deadline. The AWS SDK is imported lazily, like the ECR provider's.
import type { GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import type { EcrSource, ImagePullSecret } from '../api/v1alpha1/types.ts';
import { decodeAuth } from '../dockerconfig/index.ts';
import { defaultEcrClient, ROLE_SESSION_NAME, staticKeysOf, type EcrClientFactory } from '../credentials/ecr.ts';
import type { SecretData } from '../credentials/provider.ts';
import { abortable } from '../util/abortable.ts';
import { ecrSessionPolicy, SCOPED_SESSION_SECONDS } from './ecr-session-policy.ts';
import { ScopeUnsupported, type EcrScoper, type ScopedCredential } from './scoped-credentials.ts';
import { awsCredentialProviders, ecrSdk } from '../credentials/sdks.ts';

export interface EcrScoperOptions {
  /** The resource's ECR source for a region, with its credentials Secret's data. */
  source(ips: ImagePullSecret, region: string): { source: EcrSource; secret?: SecretData } | undefined;
  ecrClient?: EcrClientFactory;
  timeoutMs?: number;
}

type AuthorizationData = NonNullable<GetAuthorizationTokenCommandOutput['authorizationData']>[number];

/** The login inside an ECR token, expiring with the earlier of the token and the session. */
function narrowedLogin(data: AuthorizationData | undefined, sessionExpiry: Date | undefined): ScopedCredential {
  const login = data?.authorizationToken ? decodeAuth(data.authorizationToken) : undefined;
  if (!data?.authorizationToken || !login) throw new Error('the ECR response carries no well-formed authorization token');
  const expiries = [data.expiresAt, sessionExpiry].filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  const expiresAt = new Date(expiries.length > 0 ? Math.min(...expiries) : Date.now() + SCOPED_SESSION_SECONDS * 1000);
  return { token: data.authorizationToken, expiresAt, login };
}

export function createEcrScoper(opts: EcrScoperOptions): EcrScoper {
  const ecrClient = opts.ecrClient ?? defaultEcrClient;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return {
    async scope(req): Promise<ScopedCredential> {
      const found = opts.source(req.ips, req.region);
      if (!found) throw new ScopeUnsupported(`ImagePullSecret ${req.ips.metadata.name} has no ECR source for ${req.region}`);
      if (req.repositories.length === 0) {
        throw new ScopeUnsupported('name the repositories (serverURL host/repository, or "repositories" in the body): an ECR session policy names repositories');
      }
      const { source, secret } = found;
      if (!source.roleARN) {
        throw new ScopeUnsupported(`set roleARN on the ECR source for ${req.region}: the daemon narrows ECR tokens to repositories with an STS AssumeRole session policy`);
      }
      const signal = AbortSignal.timeout(timeoutMs);
      const staticKeys = staticKeysOf(secret);
      const { fromTemporaryCredentials, fromNodeProviderChain } = await awsCredentialProviders();
      const session = await abortable(fromTemporaryCredentials({
        params: {
          RoleArn: source.roleARN, RoleSessionName: ROLE_SESSION_NAME, DurationSeconds: SCOPED_SESSION_SECONDS,
          Policy: ecrSessionPolicy(req.region, req.accountId, req.repositories),
        },
        masterCredentials: staticKeys ?? fromNodeProviderChain(),
        clientConfig: { region: req.region, requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs } },
      })(), signal, 'the STS request did not finish before its deadline');
      const client = ecrClient({ region: req.region, credentials: session, ...(source.endpoint ? { endpoint: source.endpoint } : {}) });
      try {
        const { GetAuthorizationTokenCommand } = await ecrSdk();
        const output = await client.send(new GetAuthorizationTokenCommand({}), { abortSignal: signal });
        return narrowedLogin(output.authorizationData?.[0], session.expiration);
      } finally {
        client.destroy?.();
      }
    },
  };
}
