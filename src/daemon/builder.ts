// Wires the builder front (docs/builder-security.md) to the controller: its view of resources and credentials (including
// ServiceAccount deletions, for revocation), TokenReview through an API client of its own, ECR repository
// creation with each resource's own ECR identity, repository-scoped credentials, the builder requests
// metric, and TLS from files (watched and reloaded) or a certificate generated at start for the Service.
import type { Logger } from 'pino';
import { EcrRepositoryManager } from '../builder/ecr-repositories.ts';
import { createEcrScoper } from '../builder/ecr-scoped-token.ts';
import type { FetchLike } from '../util/fetch.ts';
import { createScoper } from '../builder/scoped-credentials.ts';
import { startBuilderServer, type BuilderServer } from '../builder/server.ts';
import { resolveTls, servingHosts, watchTls, type TlsFiles } from '../builder/tls.ts';
import type { Controller } from '../controller/manager.ts';
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { defaultAwsCredentials, defaultEcrClient, ecrEndpointProblem, staticKeysOf } from '../credentials/index.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../kube/rest.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { errorMessage } from '../util/errors.ts';
import type { OutboundPolicy } from '../util/outbound.ts';
import { ConfigError, type Config } from './config.ts';

/** Builder requests per ServiceAccount: a burst for a multi-stage build, then a steady trickle. */
export const RATE_LIMIT = { qps: 5, burst: 20 };
/**
 * The TokenReview client's own limit, above the review gate's (DEFAULT_REVIEW_LIMITS), so the gate refuses
 * before this client would ever wait; its deadline bounds a review the API server is slow to answer.
 */
const REVIEW_CLIENT = { qps: 50, burst: 100, timeoutMs: 5000 };

function tlsFiles(config: Config): TlsFiles | undefined {
  if (!config.builderTlsCert || !config.builderTlsKey) return undefined;
  return { certFile: config.builderTlsCert, keyFile: config.builderTlsKey, ...(config.builderTlsCa ? { caFile: config.builderTlsCa } : {}) };
}

export interface BuilderDeps {
  controller: Controller;
  /** The daemon's kubeconfig: TokenReviews get a client of their own, never queued behind the controller's. */
  kc: KubeConfig;
  metrics: Metrics;
  log: Logger;
  fetch?: FetchLike;
  /** What resource content may make the builder front reach: token realms, ECR endpoints (docs/security.md). */
  outbound: OutboundPolicy;
  /** How often mounted TLS files are checked for changes; default watchTls's. */
  tlsCheckMs?: number;
}

export async function startBuilder(config: Config, deps: BuilderDeps): Promise<BuilderServer> {
  const view = deps.controller.builderView();
  const awsCredentials = defaultAwsCredentials();
  const log = deps.log.child({ component: 'builder' });
  // A resource's ECR endpoint reaches the builder's own ECR clients only if the outbound policy allows it.
  const ecrSource = (ips: ImagePullSecret, region: string): ReturnType<typeof view.ecrSource> => {
    const found = view.ecrSource(ips, region);
    const refused = found ? ecrEndpointProblem(found.source, deps.outbound) : undefined;
    if (refused) throw new Error(`ImagePullSecret ${ips.metadata.name}: ECR ${region}: ${refused}`);
    return found;
  };
  const ecr = new EcrRepositoryManager({
    client: (ips, region) => {
      const found = ecrSource(ips, region);
      if (!found) throw new Error(`ImagePullSecret ${ips.metadata.name} has no usable ECR source for region ${region}`);
      const { source, secret } = found;
      const staticKeys = staticKeysOf(secret);
      return defaultEcrClient({ region, ...(source.endpoint ? { endpoint: source.endpoint } : {}),
        credentials: awsCredentials({ region, ...(source.roleARN ? { roleARN: source.roleARN } : {}), ...(staticKeys ? { staticKeys } : {}) }) });
    },
  });
  const files = tlsFiles(config);
  const tls = await resolveTls(files ?? {}, servingHosts({ name: config.builderService, namespace: config.namespace })).catch((err: unknown) => {
    if (!files) throw err;
    throw new ConfigError(`run: --builder-tls-cert ${files.certFile}, --builder-tls-key ${files.keyFile}: ${errorMessage(err)}`);
  });
  const reviews = new KubeRest(deps.kc, {
    ...REVIEW_CLIENT, onWrite: (verb, resource, code) => { deps.metrics.apiWrite(verb, resource, code); },
  });
  let server: BuilderServer;
  try {
    server = await startBuilderServer({
      addr: config.builderAddr, tls, access: view, rest: reviews, audience: config.builderAudience, ecr, rateLimit: RATE_LIMIT,
      scoper: createScoper({ ecr: createEcrScoper({ source: ecrSource,
        baseCredentials: (region, staticKeys) => awsCredentials({ region, ...(staticKeys ? { staticKeys } : {}) }) }), outbound: deps.outbound, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
      outbound: deps.outbound, ...(deps.fetch ? { fetch: deps.fetch } : {}),
      logger: log,
      onRequest: (route, result) => { deps.metrics.builderRequests.inc({ endpoint: route, result }); },
    });
  } catch (err) {
    reviews.close();
    throw err;
  }
  const closeAll = async () => { await server.close(); reviews.close(); };
  if (!files) return { ...server, close: closeAll };
  const stop = watchTls(files, tls, {
    ...(deps.tlsCheckMs === undefined ? {} : { intervalMs: deps.tlsCheckMs }),
    onChange: (next) => {
      server.setTls(next);
      log.info({ certFile: files.certFile }, 'builder TLS certificate reloaded');
    },
    onError: (reason) => { log.warn({ reason }, 'builder TLS files changed but cannot be used; serving the previous certificate'); },
  });
  return { ...server, close: async () => { stop(); await closeAll(); } };
}
