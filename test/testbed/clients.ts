// Clients for tests: the admin KubeConfig, ServiceAccount tokens minted through the TokenRequest API,
// and KubeConfigs that authenticate with such a token.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { adminKubeConfig, currentTestbed, type TestbedState } from './testbed.ts';

export { adminKubeConfig };

export interface TokenOptions {
  namespace: string;
  serviceAccount: string;
  audiences?: string[];
  expirationSeconds?: number;
  /** Create the ServiceAccount first when it does not exist. */
  create?: boolean;
}

/** A ServiceAccount token from the TokenRequest API, as a projected volume would carry it. */
export async function mintToken(opts: TokenOptions, kc: KubeConfig = adminKubeConfig()): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  if (opts.create) {
    await core.createNamespacedServiceAccount({ namespace: opts.namespace, body: { metadata: { name: opts.serviceAccount } } })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 409) throw err;
      });
  }
  const response = await core.createNamespacedServiceAccountToken({
    name: opts.serviceAccount,
    namespace: opts.namespace,
    body: { spec: { audiences: opts.audiences ?? [], expirationSeconds: opts.expirationSeconds ?? 3600 } },
  });
  const token = response.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  return token;
}

/** A KubeConfig for the test API server that authenticates with a bearer token. */
export function tokenKubeConfig(token: string, state: TestbedState = currentTestbed()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'testbed', server: state.server, caData: readFileSync(state.pki.ca.cert).toString('base64') }],
    users: [{ name: 'token', token }],
    contexts: [{ name: 'testbed', cluster: 'testbed', user: 'token' }],
    currentContext: 'testbed',
  });
  return kc;
}
