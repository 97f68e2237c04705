// Wires the builder front (SPEC 5) to the controller: its view of resources and credentials, TokenReview
// through the daemon's API client, ECR repository creation with each resource's own ECR identity, the
// builder requests metric, and TLS from files or a self-signed certificate made at start.
import type { Logger } from 'pino';
import { EcrRepositoryManager } from '../builder/ecr-repositories.ts';
import type { FetchLike } from '../builder/http-body.ts';
import { createScoper } from '../builder/scoped-credentials.ts';
import { startBuilderServer, type BuilderServer } from '../builder/server.ts';
import { resolveTls, servingHosts } from '../builder/tls.ts';
import type { Controller } from '../controller/controller.ts';
import { defaultAwsCredentials, staticKeysOf } from '../credentials/index.ts';
import type { KubeRest } from '../kube/rest.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Config } from './config.ts';

/** Builder requests per ServiceAccount: a burst for a multi-stage build, then a steady trickle. */
const RATE_LIMIT = { qps: 5, burst: 20 };

export async function startBuilder(config: Config, deps: { controller: Controller; rest: KubeRest; metrics: Metrics; log: Logger; fetch?: FetchLike }): Promise<BuilderServer> {
  const view = deps.controller.builderView();
  const awsCredentials = defaultAwsCredentials();
  const ecr = new EcrRepositoryManager({
    client: async (ips, region) => {
      const found = view.ecrSource(ips, region);
      if (!found) throw new Error(`ImagePullSecret ${ips.metadata.name} has no usable ECR source for region ${region}`);
      const { source, secret } = found;
      const staticKeys = staticKeysOf(secret);
      const { ECRClient } = await import('@aws-sdk/client-ecr'); // on first use: BENCHMARKS.md "Module loading"
      return new ECRClient({ region, ...(source.endpoint ? { endpoint: source.endpoint } : {}),
        credentials: awsCredentials({ region, ...(source.roleARN ? { roleARN: source.roleARN } : {}), ...(staticKeys ? { staticKeys } : {}) }) });
    },
  });
  const tls = resolveTls({ ...(config.builderTlsCert ? { certFile: config.builderTlsCert } : {}), ...(config.builderTlsKey ? { keyFile: config.builderTlsKey } : {}) },
    servingHosts({ name: 'pullsecret-sync', namespace: config.namespace }));
  return startBuilderServer({
    addr: config.builderAddr, tls, access: view, rest: deps.rest, audience: config.builderAudience, ecr, rateLimit: RATE_LIMIT,
    scoper: createScoper(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}),
    logger: deps.log.child({ component: 'builder' }),
    onRequest: (route, result) => { deps.metrics.builderRequests.inc({ endpoint: route, result }); },
  });
}
