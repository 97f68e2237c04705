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
//
// Which kubeconfig, for every command (`run`, `plan`, `migrate`), as kubectl chooses: --kubeconfig; else
// KUBECONFIG, a path list (":"-separated) merged as kubectl merges it — the first file that names a
// cluster, user or context wins, so does the first current-context, missing files are skipped; else
// ~/.kube/config; else the Pod's ServiceAccount (in-cluster). --kubeconfig takes a path list too.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
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

/** The default order in one line, for help texts. */
export const KUBECONFIG_DEFAULT = 'KUBECONFIG (a ":"-separated list, first wins), else ~/.kube/config, else in-cluster';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigOptions {
  /** A kubeconfig file or path list (--kubeconfig, else KUBECONFIG); without, ~/.kube/config, else in-cluster. */
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

type KubeConfigClass = new () => KubeConfig;

/** A path list merged as kubectl merges KUBECONFIG: first wins, missing files skipped (a lone path must exist). */
function loadPaths(KubeConfigOf: KubeConfigClass, kc: KubeConfig, list: string): void {
  const paths = list.split(delimiter).filter((p) => p !== '');
  const present = paths.length === 1 ? paths : paths.filter((p) => existsSync(p));
  if (present.length === 0) throw new KubeConfigError(`kubeconfig ${list}: none of its files exists`);
  const clusters = new Map<string, KubeConfig['clusters'][number]>();
  const users = new Map<string, KubeConfig['users'][number]>();
  const contexts = new Map<string, KubeConfig['contexts'][number]>();
  let currentContext = '';
  for (const file of present) {
    const one = new KubeConfigOf();
    loadFile(one, file);
    for (const c of one.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.users) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.contexts) if (!contexts.has(c.name)) contexts.set(c.name, c);
    currentContext ||= one.currentContext;
  }
  kc.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext });
}

/** ~/.kube/config, else the Pod's ServiceAccount; neither is one clear error. */
function loadDefault(kc: KubeConfig): void {
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) loadFile(kc, home);
  else if (existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
  else throw new KubeConfigError(`no kubeconfig: pass --kubeconfig or set KUBECONFIG, create ${home}, or run in a Pod with a ServiceAccount token`);
}

/** Loads the kubeconfig the daemon talks to the API server with; throws KubeConfigError, one line, when unusable. */
export async function loadKubeConfig(opts: KubeConfigOptions): Promise<KubeConfig> {
  for (const deferral of DEFERRALS) deferImports(deferral);
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kc = new KubeConfig();
  if (opts.kubeconfig) loadPaths(KubeConfig, kc, opts.kubeconfig);
  else loadDefault(kc);
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
