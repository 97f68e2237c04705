// Kubeconfig loading. client-node stays the one source of kubeconfig handling (in-cluster service
// account, files, contexts, exec and auth-provider plugins), but the daemon does not keep its generated
// API surface resident: `dist/config.js` imports the whole generated client (`./gen/index.js`, about 60
// MB of heap and code once evaluated) and undici and three proxy libraries (another 30 MB), and an ES
// module once loaded is never collected. KubeConfig reaches those only from makeApiClient, fetch-style
// requests and proxied clusters, which KubeRest never uses.
//
// So, before config.js is first imported, src/util/defer-imports.ts hands config.js a small stand-in for
// each of those imports, which loads the real module the first time anything touches it: code that does
// use them (tests building a typed API client) still works; the daemon never pays.
// Measured in BENCHMARKS.md ("Module loading").
import type { KubeConfig } from '@kubernetes/client-node';
import { deferImports, type Deferral } from '../util/defer-imports.ts';

/** What config.js imports that KubeConfig's loading and applyToHTTPSOptions never reach: specifier -> names. */
export const DEFERRED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  './gen/index.js': ['createConfiguration', 'ServerConfiguration'],
  undici: ['Agent', 'ProxyAgent'],
  'socks-proxy-agent': ['SocksProxyAgent'],
  socks: ['SocksClient'],
  hpagent: ['HttpProxyAgent', 'HttpsProxyAgent'],
  // Only a kubeconfig file is YAML; in a pod the service account is read without it.
  'js-yaml': ['load'],
  // Not deferred (proxied clusters use its Agent) but taken without an ES module facade: see standInSource.
  'node:http': ['default'],
};

const DEFERRALS: readonly Deferral[] = [
  { importer: '/@kubernetes/client-node/dist/config.js', imports: DEFERRED_IMPORTS },
  // Only the gcp and azure auth-provider plugins of old kubeconfigs read token paths with JSONPath.
  { importer: '/@kubernetes/client-node/dist/gcp_auth.js', imports: { 'jsonpath-plus': ['JSONPath'] } },
  { importer: '/@kubernetes/client-node/dist/azure_auth.js', imports: { 'jsonpath-plus': ['JSONPath'] } },
];

export interface KubeConfigOptions {
  /** A kubeconfig file; without, client-node's default order: $KUBECONFIG, ~/.kube/config, in-cluster. */
  kubeconfig?: string;
  /** A context other than the current one. */
  context?: string;
}

/** A kubeconfig that cannot be used as given: a file that cannot be read or parsed, a context it lacks. */
export class KubeConfigError extends Error {}

function loadFile(kc: KubeConfig, file: string): void {
  try {
    kc.loadFromFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied'
      : `not a kubeconfig (${(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''})`;
    throw new KubeConfigError(`kubeconfig ${file}: ${why}`);
  }
}

/** Loads the kubeconfig the daemon talks to the API server with; throws KubeConfigError, one line, when unusable. */
export async function loadKubeConfig(opts: KubeConfigOptions): Promise<KubeConfig> {
  for (const deferral of DEFERRALS) deferImports(deferral);
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kc = new KubeConfig();
  if (opts.kubeconfig) loadFile(kc, opts.kubeconfig);
  else kc.loadFromDefault();
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(`context "${opts.context}" is not in the kubeconfig; ${known.length ? `its contexts: ${known.join(', ')}` : 'it has none'}`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new KubeConfigError(`the kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''} has no current context with a cluster; set its current-context or pass --context`);
  }
  return kc;
}
