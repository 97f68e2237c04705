// The testbed's kube-apiserver as the OIDC issuer that cloud workload identity federation trusts: its
// issuer URL and signing keys as the API server publishes them (/.well-known/openid-configuration and
// /openid/v1/jwks, what one uploads to a GCP workload identity pool provider or an Entra federated
// credential), and ServiceAccount tokens from the TokenRequest API written to a file, as the kubelet
// projects them into a pod. The fake STS and Entra verify subject tokens against this trust.
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rest } from '../cluster.ts';
import type { OidcTrust } from './jwt.ts';

/** The API server's issuer and JWKS. */
export async function kubernetesIssuer(): Promise<OidcTrust> {
  const discovery = await rest.call<{ issuer: string }>({ method: 'GET', path: '/.well-known/openid-configuration' });
  const jwks = await rest.call<{ keys: (JsonWebKey & { kid: string })[] }>({ method: 'GET', path: '/openid/v1/jwks', accept: 'application/jwk-set+json' });
  return { issuer: discovery.issuer, keys: new Map(jwks.keys.map((jwk) => [jwk.kid, createPublicKey({ key: jwk, format: 'jwk' })])) };
}

export interface ProjectedToken {
  /** `system:serviceaccount:<namespace>:<name>`, the token's `sub`. */
  subject: string;
  token: string;
  /** The file holding the token, as a projected volume would. */
  path: string;
}

/** Creates ServiceAccount `name` in the existing `namespace`. */
export async function createServiceAccount(namespace: string, name: string): Promise<void> {
  await rest.call({ method: 'POST', path: `/api/v1/namespaces/${namespace}/serviceaccounts`, body: { metadata: { name } } });
}

/** A token for ServiceAccount `namespace/name` with `audience`, written to `<dir>/<file>`. */
export async function projectedToken(namespace: string, name: string, audience: string, dir: string, file = 'token'): Promise<ProjectedToken> {
  const request = await rest.call<{ status: { token: string } }>({
    method: 'POST', path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [audience], expirationSeconds: 3600 } },
  });
  const path = join(dir, file);
  writeFileSync(path, request.status.token, { mode: 0o600 });
  return { subject: `system:serviceaccount:${namespace}:${name}`, token: request.status.token, path };
}
