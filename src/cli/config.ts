// The daemon's configuration: every flag of SPEC section 4 with its environment variable, parsed and
// validated in one place into one typed object. Flags win over environment variables.
import { parseArgs } from 'node:util';
import { parseAddress } from '../util/address.ts';
import { ConfigError, rejectUnknownFlags } from './args.ts';

export { ConfigError };

export interface Config {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  leaderElect: boolean;
  metricsAddr: string;
  healthAddr: string;
  builderAddr: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  concurrency: number;
  kubeQps: number;
  kubeBurst: number;
  /** Refresh a token after this fraction of its remaining lifetime. */
  tokenRefreshFraction: number;
  /** Deadline of one cloud token request, ms. */
  tokenTimeoutMs: number;
  /** Longest a SIGTERM (or a lost Lease) takes to end the process, ms. */
  shutdownTimeoutMs: number;
  builderAudience: string;
  builderTlsCert?: string;
  builderTlsKey?: string;
  builderTlsCa?: string;
  /** Name of the Service in front of the builder API, for the generated certificate's DNS names. */
  builderService: string;
}

interface FlagSpec {
  env: string;
  type: 'string' | 'boolean' | 'int' | 'number';
  default?: string;
  help: string;
}

export const flags: Record<string, FlagSpec> = {
  kubeconfig: { env: 'KUBECONFIG', type: 'string', help: 'kubeconfig file; default: in-cluster, then ~/.kube/config' },
  context: { env: 'PULLSECRET_SYNC_CONTEXT', type: 'string', help: 'kubeconfig context' },
  namespace: { env: 'POD_NAMESPACE', type: 'string', default: 'pullsecret-sync', help: 'namespace of the leader-election Lease' },
  'leader-elect': { env: 'PULLSECRET_SYNC_LEADER_ELECT', type: 'boolean', default: 'true', help: 'elect a leader among replicas' },
  'metrics-addr': { env: 'PULLSECRET_SYNC_METRICS_ADDR', type: 'string', default: ':8080', help: 'address of /metrics' },
  'health-addr': { env: 'PULLSECRET_SYNC_HEALTH_ADDR', type: 'string', default: ':8081', help: 'address of /healthz and /readyz' },
  'builder-addr': { env: 'PULLSECRET_SYNC_BUILDER_ADDR', type: 'string', default: ':8443', help: 'address of the builder API' },
  'log-level': { env: 'PULLSECRET_SYNC_LOG_LEVEL', type: 'string', default: 'info', help: 'trace, debug, info, warn or error' },
  concurrency: { env: 'PULLSECRET_SYNC_CONCURRENCY', type: 'int', default: '4', help: 'concurrent reconciles' },
  'kube-qps': { env: 'PULLSECRET_SYNC_KUBE_QPS', type: 'number', default: '50', help: 'API requests per second' },
  'kube-burst': { env: 'PULLSECRET_SYNC_KUBE_BURST', type: 'int', default: '100', help: 'API request burst' },
  'token-refresh-fraction': { env: 'PULLSECRET_SYNC_TOKEN_REFRESH_FRACTION', type: 'number', default: '0.5',
    help: 'refresh cloud tokens after this fraction of their lifetime (0 < f < 1)' },
  'token-timeout': { env: 'PULLSECRET_SYNC_TOKEN_TIMEOUT', type: 'number', default: '30',
    help: 'seconds a cloud token request may take before it fails its sources' },
  'shutdown-timeout': { env: 'PULLSECRET_SYNC_SHUTDOWN_TIMEOUT', type: 'number', default: '10',
    help: 'seconds from SIGTERM to exit, whatever is in flight (keep below terminationGracePeriodSeconds)' },
  'builder-audience': { env: 'PULLSECRET_SYNC_BUILDER_AUDIENCE', type: 'string', default: 'pullsecret-sync', help: 'audience builder tokens must carry' },
  'builder-tls-cert': { env: 'PULLSECRET_SYNC_BUILDER_TLS_CERT', type: 'string', help: 'PEM certificate of the builder API; default: self-signed' },
  'builder-tls-key': { env: 'PULLSECRET_SYNC_BUILDER_TLS_KEY', type: 'string', help: 'PEM key of the builder API certificate' },
  'builder-tls-ca': { env: 'PULLSECRET_SYNC_BUILDER_TLS_CA', type: 'string', help: 'PEM CA served at /v1/ca.crt with a mounted certificate' },
  'builder-service': { env: 'PULLSECRET_SYNC_BUILDER_SERVICE', type: 'string', default: 'pullsecret-sync',
    help: 'Service name of the builder API (names in a generated certificate)' },
};

const levels = ['trace', 'debug', 'info', 'warn', 'error'];

function value(name: string, given: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): string | undefined {
  const spec = flags[name];
  const v = given[name];
  if (v !== undefined) return String(v);
  return (spec ? env[spec.env] : undefined) ?? spec?.default;
}

function integer(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got "${raw ?? ''}"`);
  return n;
}

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--${name} must be a number > 0, got "${raw ?? ''}"`);
  return n;
}

function fraction(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!(n > 0 && n < 1)) throw new ConfigError(`--${name} must be a number between 0 and 1, got "${raw ?? ''}"`);
  return n;
}

function tlsFiles(cert: string | undefined, key: string | undefined): Pick<Config, 'builderTlsCert' | 'builderTlsKey'> {
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--builder-tls-cert and --builder-tls-key go together');
  return cert && key ? { builderTlsCert: cert, builderTlsKey: key } : {};
}

function caFile(ca: string | undefined, cert: string | undefined): Pick<Config, 'builderTlsCa'> {
  if (ca && !cert) throw new ConfigError('--builder-tls-ca goes with --builder-tls-cert and --builder-tls-key');
  return ca ? { builderTlsCa: ca } : {};
}

function dnsLabel(name: string, raw: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(raw)) throw new ConfigError(`--${name} must be a Service name (a DNS label), got "${raw}"`);
  return raw;
}

function bool(name: string, raw: string | undefined): boolean {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`--${name} must be true or false, got "${raw ?? ''}"`);
}

function address(name: string, raw: string | undefined): string {
  if (!raw || !parseAddress(raw)) throw new ConfigError(`--${name} must be [host]:port, got "${raw ?? ''}"`);
  return raw;
}

/** Parses `run`'s arguments and the environment; throws ConfigError with a user-facing message. */
export function parseConfig(args: string[], env: NodeJS.ProcessEnv): Config {
  const options = Object.fromEntries(Object.entries(flags).map(([name, spec]) =>
    [name, { type: spec.type === 'boolean' ? 'string' : 'string' } as const]));
  rejectUnknownFlags('run', args, Object.keys(flags));
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const v = (name: string) => value(name, parsed.values, env);
  const logLevel = v('log-level') ?? 'info';
  if (!levels.includes(logLevel)) throw new ConfigError(`--log-level must be one of ${levels.join(', ')}, got "${logLevel}"`);
  return {
    kubeconfig: v('kubeconfig') || undefined,
    context: v('context') || undefined,
    namespace: v('namespace') ?? 'pullsecret-sync',
    leaderElect: bool('leader-elect', v('leader-elect')),
    metricsAddr: address('metrics-addr', v('metrics-addr')),
    healthAddr: address('health-addr', v('health-addr')),
    builderAddr: address('builder-addr', v('builder-addr')),
    logLevel: logLevel as Config['logLevel'],
    concurrency: integer('concurrency', v('concurrency'), 1),
    kubeQps: positive('kube-qps', v('kube-qps')),
    kubeBurst: integer('kube-burst', v('kube-burst'), 1),
    tokenRefreshFraction: fraction('token-refresh-fraction', v('token-refresh-fraction')),
    tokenTimeoutMs: positive('token-timeout', v('token-timeout')) * 1000,
    shutdownTimeoutMs: positive('shutdown-timeout', v('shutdown-timeout')) * 1000,
    builderAudience: v('builder-audience') || 'pullsecret-sync',
    ...tlsFiles(v('builder-tls-cert') || undefined, v('builder-tls-key') || undefined),
    ...caFile(v('builder-tls-ca') || undefined, v('builder-tls-cert') || undefined),
    builderService: dnsLabel('builder-service', v('builder-service') ?? 'pullsecret-sync'),
  };
}

/** `run --help`: every flag of the table, with its environment variable and default. */
export function usage(): string {
  const width = Math.max(...Object.keys(flags).map((n) => n.length)) + 2;
  const lines = Object.entries(flags).map(([name, s]) =>
    `  --${name.padEnd(width)} ${s.help} (env ${s.env}${s.default ? `, default ${s.default}` : ''})`);
  return ['usage: pullsecret-sync run [flags]', '', 'Runs the controller daemon. Flags win over environment variables.', '', 'flags:', ...lines].join('\n');
}
