// The daemon's configuration: every flag of `run` with its environment variable, parsed and
// validated in one place into one typed object. Flags win over environment variables; an empty
// environment variable counts as unset. A bad value is refused with one line naming the flag (or the
// environment variable it came from), what a good value looks like, and what was given.
import { ConfigError, parseStrict, type Values } from '../cli/args.ts';
import { KUBECONFIG_DEFAULT } from '../kube/kubeconfig.ts';
import { ADMISSION_ENGINE_CHOICES, type AdmissionEngineChoice } from './admission-engine.ts';
import { address, bool, count, dirList, dnsLabel, dnsName, duration, fraction, hostList, httpsUrl, kubeconfigPaths, oneOf, rate, readableFile, text, webhookTimeout, type ValueKind } from './flag-values.ts';

export { ConfigError };

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

export interface Config {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  leaderElect: boolean;
  metricsAddr: string;
  healthAddr: string;
  builderAddr: string;
  logLevel: (typeof LOG_LEVELS)[number];
  concurrency: number;
  kubeQps: number;
  kubeBurst: number;
  /** Refresh a token after this fraction of its remaining lifetime. */
  tokenRefreshFraction: number;
  /** Deadline of one cloud token request, ms. */
  tokenTimeoutMs: number;
  /** Longest a SIGTERM (or a lost Lease) takes to end the process, ms. */
  shutdownTimeoutMs: number;
  /** /healthz fails once the work loop has had work this long without finishing a reconcile, ms. */
  workStallTimeoutMs: number;
  builderAudience: string;
  builderTlsCert?: string;
  builderTlsKey?: string;
  builderTlsCa?: string;
  /** Name of the Service in front of the builder API, for the generated certificate's DNS names. */
  builderService: string;
  /** Hosts Secret and resource content may name beyond the public cloud endpoints (docs/security.md). */
  outboundHosts: string[];
  /** Directories whose files Secret content may name (docs/security.md). */
  outboundFiles: string[];
  /** This replica's name in the leader-election Lease (the pod name in a cluster). */
  identity?: string;
  /** The projected token file of Azure workload identity. */
  azureFederatedTokenFile?: string;
  /** The Google universe whose endpoints GCP credentials may name. */
  gcpUniverseDomain?: string;
  /** Replace Secrets IMPS wrote for a resource of the same name (docs/adr/0006-imps-adoption.md). */
  adoptImpsSecrets: boolean;
  /** How pods get the entry at admission: by discovery (`auto`), or forced (docs/adr/0008-admission-engines.md). */
  admissionEngine: AdmissionEngineChoice;
  /** Where the webhook engine listens (docs/adr/0011-admission-webhook.md). */
  webhookAddr: string;
  /** The configuration's timeoutSeconds, in ms (whole seconds, 1 to 30). */
  webhookTimeoutMs: number;
  /** How long a stopping replica still answers reviews after asking its clients to move on (src/webhook/server.ts); at most half the shutdown timeout. */
  webhookDrainMs: number;
  /** Where the API server calls the webhook instead of the Service (outside a cluster, tests). */
  webhookUrl?: string;
}

interface FlagSpec {
  env: string;
  default?: string;
  help: string;
}

export const flags: Record<string, FlagSpec> = {
  kubeconfig: { env: 'KUBECONFIG', help: `kubeconfig file, or a path list as kubectl reads KUBECONFIG; default: ${KUBECONFIG_DEFAULT}` },
  context: { env: 'PULLSECRET_SYNC_CONTEXT', help: 'kubeconfig context' },
  namespace: { env: 'POD_NAMESPACE', default: 'pullsecret-sync', help: 'namespace of the leader-election Lease' },
  'leader-elect': { env: 'PULLSECRET_SYNC_LEADER_ELECT', default: 'true', help: 'elect a leader among replicas (true or false)' },
  'metrics-addr': { env: 'PULLSECRET_SYNC_METRICS_ADDR', default: ':8080', help: 'address of /metrics' },
  'health-addr': { env: 'PULLSECRET_SYNC_HEALTH_ADDR', default: ':8081', help: 'address of /healthz and /readyz' },
  'builder-addr': { env: 'PULLSECRET_SYNC_BUILDER_ADDR', default: ':8443', help: 'address of the builder API' },
  'log-level': { env: 'PULLSECRET_SYNC_LOG_LEVEL', default: 'info', help: LOG_LEVELS.join(', ') },
  concurrency: { env: 'PULLSECRET_SYNC_CONCURRENCY', default: '4', help: 'concurrent reconciles' },
  'kube-qps': { env: 'PULLSECRET_SYNC_KUBE_QPS', default: '50', help: 'API requests per second' },
  'kube-burst': { env: 'PULLSECRET_SYNC_KUBE_BURST', default: '100', help: 'API request burst' },
  'token-refresh-fraction': { env: 'PULLSECRET_SYNC_TOKEN_REFRESH_FRACTION', default: '0.5',
    help: 'refresh cloud tokens after this fraction of their lifetime (0 < f < 1)' },
  'token-timeout': { env: 'PULLSECRET_SYNC_TOKEN_TIMEOUT', default: '30s',
    help: 'how long a cloud token request may take before it fails its sources' },
  'shutdown-timeout': { env: 'PULLSECRET_SYNC_SHUTDOWN_TIMEOUT', default: '10s',
    help: 'from SIGTERM to exit, whatever is in flight (keep below terminationGracePeriodSeconds)' },
  'work-stall-timeout': { env: 'PULLSECRET_SYNC_WORK_STALL_TIMEOUT', default: '3m',
    help: 'with work waiting and no reconcile finished for this long, /healthz fails (keep above --token-timeout)' },
  'builder-audience': { env: 'PULLSECRET_SYNC_BUILDER_AUDIENCE', default: 'pullsecret-sync', help: 'audience builder tokens must carry' },
  'builder-tls-cert': { env: 'PULLSECRET_SYNC_BUILDER_TLS_CERT', help: 'PEM certificate of the builder API; default: self-signed' },
  'builder-tls-key': { env: 'PULLSECRET_SYNC_BUILDER_TLS_KEY', help: 'PEM key of the builder API certificate' },
  'builder-tls-ca': { env: 'PULLSECRET_SYNC_BUILDER_TLS_CA', help: 'PEM CA served at /v1/ca.crt with a mounted certificate' },
  'builder-service': { env: 'PULLSECRET_SYNC_BUILDER_SERVICE', default: 'pullsecret-sync',
    help: 'Service name of the builder API (names in a generated certificate)' },
  'outbound-hosts': { env: 'PULLSECRET_SYNC_OUTBOUND_HOSTS',
    help: 'hosts (host, host:port, *.domain; comma-separated) that Secrets and resources may name besides the public cloud endpoints, '
      + 'over http or https; loopback and link-local addresses only when listed here (docs/security.md)' },
  'outbound-files': { env: 'PULLSECRET_SYNC_OUTBOUND_FILES',
    help: 'directories (comma-separated) whose files a GCP credential_source.file may name; default none (docs/security.md)' },
  identity: { env: 'POD_NAME', help: 'this replica\'s name in the leader-election Lease; default: host name and process ID' },
  'azure-federated-token-file': { env: 'AZURE_FEDERATED_TOKEN_FILE',
    help: 'token file of Azure workload identity (its webhook sets the variable); without it, managed identity' },
  'gcp-universe-domain': { env: 'GOOGLE_CLOUD_UNIVERSE_DOMAIN', help: 'Google universe whose endpoints GCP credentials may name; default googleapis.com' },
  'adopt-imps-secrets': { env: 'PULLSECRET_SYNC_ADOPT_IMPS_SECRETS', default: 'false',
    help: 'replace in place the Secrets banzaicloud/imps wrote for a resource of the same name, instead of reporting a Conflict; '
      + 'stop IMPS first (README, Migrating from IMPS)' },
  'admission-engine': { env: 'PULLSECRET_SYNC_ADMISSION_ENGINE', default: 'auto',
    help: 'what adds the Secret to pods of resources with target.pods.inject: auto (policy where the API server serves '
      + 'MutatingAdmissionPolicy v1, else webhook), policy, webhook, or off (docs/adr/0008-admission-engines.md)' },
  'webhook-addr': { env: 'PULLSECRET_SYNC_WEBHOOK_ADDR', default: ':9443',
    help: 'address of the admission webhook; the Service port the configuration names is this port' },
  'webhook-timeout': { env: 'PULLSECRET_SYNC_WEBHOOK_TIMEOUT', default: '2s',
    help: 'timeoutSeconds of the webhook: the most a pod creation waits for it when no replica answers' },
  'webhook-drain': { env: 'PULLSECRET_SYNC_WEBHOOK_DRAIN', default: '3s',
    help: 'how long a stopping replica still answers reviews after telling the API server to move to another '
      + 'replica (the route to a deleted pod outlives its removal from the Service by a moment); at most half of --shutdown-timeout' },
  'webhook-url': { env: 'PULLSECRET_SYNC_WEBHOOK_URL',
    help: 'https URL the API server calls instead of the Service --builder-service (outside a cluster)' },
};

/** A value as the user gave it, and where: the flag, or the environment variable standing in for it. */
interface Given {
  raw: string;
  origin: string;
}

function given(name: string, values: Values, env: NodeJS.ProcessEnv): Given | undefined {
  const spec = flags[name];
  const flag = values[name];
  if (typeof flag === 'string') return { raw: flag, origin: `--${name}` };
  const fromEnv = spec ? env[spec.env] : undefined;
  if (fromEnv) return { raw: fromEnv, origin: `${spec?.env ?? ''} (--${name})` };
  return spec?.default === undefined ? undefined : { raw: spec.default, origin: `--${name}` };
}

function refuse(g: Given, kind: ValueKind<unknown>): never {
  const why = kind.why?.(g.raw);
  throw new ConfigError(`run: ${g.origin} must be ${kind.expect}; got "${g.raw}"${why ? ` (${why})` : ''} (see pullsecret-sync run --help)`);
}

/** Reads flag `name` as `kind`: its value, or undefined when neither it nor its variable is set and it has no default. */
function optional<T>(name: string, kind: ValueKind<T>, values: Values, env: NodeJS.ProcessEnv): T | undefined {
  const g = given(name, values, env);
  if (!g) return undefined;
  const value = kind.parse(g.raw);
  return value === undefined ? refuse(g, kind) : value;
}

function required<T>(name: string, kind: ValueKind<T>, values: Values, env: NodeJS.ProcessEnv): T {
  const value = optional(name, kind, values, env);
  if (value === undefined) throw new Error(`flag --${name} has no default`);
  return value;
}

/** The builder's TLS files: certificate and key together or neither; the CA only with them. */
function tlsFiles(read: <T>(name: string, kind: ValueKind<T>) => T | undefined): Pick<Config, 'builderTlsCert' | 'builderTlsKey' | 'builderTlsCa'> {
  const named = (name: string) => read(name, text) !== undefined;
  if (named('builder-tls-cert') !== named('builder-tls-key')) {
    throw new ConfigError('run: --builder-tls-cert and --builder-tls-key go together: give both, or neither for a generated certificate');
  }
  if (named('builder-tls-ca') && !named('builder-tls-cert')) {
    throw new ConfigError('run: --builder-tls-ca goes with --builder-tls-cert and --builder-tls-key (a generated certificate serves its own CA)');
  }
  const [cert, key, ca] = ['builder-tls-cert', 'builder-tls-key', 'builder-tls-ca'].map((n) => read(n, readableFile));
  return { ...(cert && key ? { builderTlsCert: cert, builderTlsKey: key } : {}), ...(ca ? { builderTlsCa: ca } : {}) };
}

/** The replica's Lease identity and the cloud settings: present only when given (each has a computed default). */
function identityAndClouds(read: <T>(name: string, kind: ValueKind<T>) => T | undefined): Pick<Config, 'identity' | 'azureFederatedTokenFile' | 'gcpUniverseDomain'> {
  const identity = read('identity', text);
  const azureFederatedTokenFile = read('azure-federated-token-file', readableFile);
  const gcpUniverseDomain = read('gcp-universe-domain', dnsName);
  return {
    ...(identity ? { identity } : {}),
    ...(azureFederatedTokenFile ? { azureFederatedTokenFile } : {}),
    ...(gcpUniverseDomain ? { gcpUniverseDomain } : {}),
  };
}

type Read = <T>(name: string, kind: ValueKind<T>) => T | undefined;

function webhookSettings(read: Read, must: <T>(name: string, kind: ValueKind<T>) => T): Pick<Config, 'webhookAddr' | 'webhookTimeoutMs' | 'webhookDrainMs' | 'webhookUrl'> {
  const webhookUrl = read('webhook-url', httpsUrl);
  // The rest of the shutdown (releasing the Lease, ending the reconciles) must fit before the deadline too.
  const webhookDrainMs = Math.min(must('webhook-drain', duration), must('shutdown-timeout', duration) / 2);
  return {
    webhookAddr: must('webhook-addr', address),
    webhookTimeoutMs: must('webhook-timeout', webhookTimeout),
    webhookDrainMs,
    ...(webhookUrl ? { webhookUrl } : {}),
  };
}

/** Parses `run`'s arguments and the environment; throws ConfigError with a user-facing message. */
export function parseConfig(args: string[], env: NodeJS.ProcessEnv): Config {
  const options = Object.fromEntries(Object.entries(flags).map(([name, spec]) => [name, { type: 'string', help: spec.help } as const]));
  const { values } = parseStrict('run', options, args, false);
  const read = <T>(name: string, kind: ValueKind<T>) => optional(name, kind, values, env);
  const must = <T>(name: string, kind: ValueKind<T>) => required(name, kind, values, env);
  const kubeconfig = read('kubeconfig', kubeconfigPaths);
  const context = read('context', text);
  return {
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(context ? { context } : {}),
    namespace: must('namespace', dnsLabel),
    leaderElect: must('leader-elect', bool),
    metricsAddr: must('metrics-addr', address),
    healthAddr: must('health-addr', address),
    builderAddr: must('builder-addr', address),
    logLevel: must('log-level', oneOf(LOG_LEVELS)),
    concurrency: must('concurrency', count),
    kubeQps: must('kube-qps', rate),
    kubeBurst: must('kube-burst', count),
    tokenRefreshFraction: must('token-refresh-fraction', fraction),
    tokenTimeoutMs: must('token-timeout', duration),
    shutdownTimeoutMs: must('shutdown-timeout', duration),
    workStallTimeoutMs: must('work-stall-timeout', duration),
    builderAudience: must('builder-audience', text),
    ...tlsFiles(read),
    builderService: must('builder-service', dnsLabel),
    outboundHosts: read('outbound-hosts', hostList) ?? [],
    outboundFiles: read('outbound-files', dirList) ?? [],
    ...identityAndClouds(read),
    adoptImpsSecrets: must('adopt-imps-secrets', bool),
    admissionEngine: must('admission-engine', oneOf(ADMISSION_ENGINE_CHOICES)),
    ...webhookSettings(read, must),
  };
}

/** `run --help`: every flag of the table, with its environment variable and default. */
export function usage(): string {
  const width = Math.max(...Object.keys(flags).map((n) => n.length)) + 2;
  const lines = Object.entries(flags).map(([name, s]) =>
    `  --${name.padEnd(width)} ${s.help} (env ${s.env}${s.default ? `, default ${s.default}` : ''})`);
  return ['usage: pullsecret-sync run [flags]', '', 'Runs the controller daemon. Flags win over environment variables.',
    'Durations take a unit (500ms, 30s, 2m, 1h); a bare number is seconds.', '', 'flags:', ...lines].join('\n');
}
