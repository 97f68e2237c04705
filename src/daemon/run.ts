// `pullsecret-sync run`: the daemon. Wires the controller to the API server, the metrics and health
// endpoints and leader election. Every replica keeps its caches warm; only the leader runs workers.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Controller } from '../controller/manager.ts';
import { createProviders, TokenCache, type CloudProviders, type TokenCacheOptions } from '../credentials/index.ts';
import { EventRecorder } from '../kube/events.ts';
import { LEASE_CLIENT, LeaderElector } from '../kube/leader-election.ts';
import { KubeRest, type RestOptions } from '../kube/rest.ts';
import { Writes } from '../kube/writes.ts';
import { createLogger } from '../log/logger.ts';
import { registerResourceCollectors } from '../metrics/collectors.ts';
import { serveHealth, serveMetrics, type HttpServer } from '../metrics/http.ts';
import { Metrics } from '../metrics/metrics.ts';
import { realClock, sleep } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { OutboundPolicy } from '../util/outbound.ts';
import type { FetchLike } from '../util/fetch.ts';
import type { BuilderServer } from '../builder/server.ts';
import { startBuilder } from './builder.ts';
import { startWebhook, webhookCleaner, type Webhook, type WebhookDeps } from './webhook.ts';
import { removeStalePolicies } from './stale-admission.ts';
import { ConfigError, type Config } from './config.ts';
import { guardProcess } from './process-guard.ts';
import { commandKubeConfig } from '../cli/kube-access.ts';
import { chooseAdmissionEngine, discoverPolicySupport, type AdmissionEngine, type EngineDecision } from './admission-engine.ts';

export const LEASE_NAME = 'pullsecret-sync';

/** Writes every replica makes whether it leads or not: its own Lease and the builder API's reviews. */
const UNGATED = new Set(['leases', 'tokenreviews', 'subjectaccessreviews']);

export interface Daemon {
  controller: Controller;
  metrics: Metrics;
  metricsPort: number;
  healthPort: number;
  /** `https://host:port` of the builder API. */
  builderUrl: string;
  /** What injects pull Secrets into pods at admission (docs/adr/0008-admission-engines.md). */
  admissionEngine: AdmissionEngine;
  /** `https://host:port` of the admission webhook, when it is served (--admission-engine=webhook, or auto without MutatingAdmissionPolicy). */
  webhookUrl?: string;
  isLeader(): boolean;
  /** Resolves when this replica lost the Lease it held (the process should exit and restart). */
  lostLeadership: Promise<void>;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** This replica's identity in the Lease; default: the host name (the pod name in a cluster). */
  identity?: string;
  /** Cloud providers to use instead of the defaults (tests aim them at local servers). */
  providers?: CloudProviders;
  /** Token cache tuning (tests shorten the refresh floor and backoff). */
  tokenCache?: Pick<TokenCacheOptions, 'floorMs' | 'backoff' | 'jitter'>;
  /** How the builder front reaches registries; default globalThis.fetch (tests add their CA). */
  builderFetch?: FetchLike;
  /** How often mounted builder TLS files are checked for changes; default 10 s (tests shorten it). */
  builderTlsCheckMs?: number;
}

function defaultProviders(config: Config, opts: DaemonOptions, outbound: OutboundPolicy): CloudProviders {
  const { azureFederatedTokenFile, gcpUniverseDomain } = config;
  return {
    ...createProviders({ outbound, ...(azureFederatedTokenFile ? { azureFederatedTokenFile } : {}), ...(gcpUniverseDomain ? { gcpUniverseDomain } : {}) }),
    ...opts.providers,
  };
}

/** The one message an operator gets when the Lease namespace is missing: what is wrong and both fixes. */
export function missingLeaseNamespace(namespace: string): string {
  return `Leader election needs the namespace "${namespace}" for its Lease, and it does not exist: create it, `
    + 'or pass --namespace (POD_NAMESPACE) naming an existing namespace, or run a single replica with '
    + '--leader-elect=false. Not ready and not reconciling until then; retrying with backoff';
}

/** Why an address cannot be listened on, as a fix for the user; undefined when the error is not about the address. */
function addressProblem(err: unknown): string | undefined {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE': return 'the address is in use; choose a free port';
    case 'EACCES': return 'permission denied; choose a port from 1024 up, or let the process bind low ports';
    case 'EADDRNOTAVAIL': return 'not an address of this host; name one of its addresses, or none (":port") for all';
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return 'unknown host; name an address of this host, or none (":port") for all';
    default: return undefined;
  }
}

/** Runs `start`, which listens on `addr` given by `--flag`; an address it cannot bind is a usage error naming the flag. */
async function listening<T>(flag: string, addr: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const problem = addressProblem(err);
    if (problem) throw new ConfigError(`run: --${flag} ${addr}: ${problem}`);
    throw err;
  }
}

const webhookUrlOf = (webhook: Webhook | undefined): { webhookUrl?: string } => (webhook?.server ? { webhookUrl: webhook.server.url } : {});

/**
 * The webhook's server on this replica when the webhook is the engine; with any other engine, only the
 * leader's removal of a configuration an earlier webhook engine left (docs/adr/0011-admission-webhook.md).
 */
async function startWebhookEngine(admission: EngineDecision, config: Config, deps: WebhookDeps): Promise<Webhook | undefined> {
  if (admission.engine !== 'webhook') return webhookCleaner(config, deps.log);
  return listening('webhook-addr', config.webhookAddr, () => startWebhook(config, deps));
}

/** Builds and starts the daemon; resolves once caches are synced (and, without election, workers run). */
export async function startDaemon(config: Config, log: Logger = createLogger(config.logLevel), opts: DaemonOptions = {}): Promise<Daemon> {
  const kc = await commandKubeConfig('run', config);
  const metrics = new Metrics();
  let elector: LeaderElector | undefined;
  const restLog = log.child({ component: 'kube' });
  const restHooks: RestOptions = {
    onWrite: (verb, resource, code) => { metrics.apiWrite(verb, resource, code); },
    log: (level, msg, fields) => { restLog[level](fields, msg); },
  };
  const rest = new KubeRest(kc, {
    qps: config.kubeQps, burst: config.kubeBurst, ...restHooks,
    // Under leader election nothing the controller owns is written unless the Lease is surely ours.
    mayWrite: (_verb, resource) => !elector || UNGATED.has(resource) || elector.isLeader(),
  });
  let leaseRest: KubeRest | undefined;
  const identity = opts.identity ?? hostname();
  const events = new EventRecorder(rest, {
    reportingInstance: identity,
    onError: (err) => { log.warn({ error: errorMessage(err) }, 'Recording an event failed'); },
  });
  // Where Secret and resource content may send the daemon (docs/security.md).
  const outbound = new OutboundPolicy({ hosts: config.outboundHosts, files: config.outboundFiles });
  const cache = new TokenCache({
    clock: realClock, fraction: config.tokenRefreshFraction, timeoutMs: config.tokenTimeoutMs, ...opts.tokenCache,
    onFetch: (kind, result) => { metrics.tokenFetches.inc({ provider: kind, result }); },
  });
  const controller = new Controller({
    rest, writes: new Writes(rest), events, log, concurrency: config.concurrency, adoptImpsSecrets: config.adoptImpsSecrets,
    cloud: { providers: defaultProviders(config, opts, outbound), cache },
    queueObserver: metrics.queueObserver(), reconcileObserver: metrics.reconcileObserver((key) => Controller.controllerOf(key)),
    onNewNamespaceServed: (ms) => { metrics.namespaceToSecret.observe(ms / 1000); },
  });
  registerResourceCollectors(metrics, () => controller.resourceSamples());
  const servers: HttpServer[] = [];
  let leaseProblem: string | undefined;
  const health = {
    healthz: () => {
      const stalled = controller.stalledWatches();
      if (stalled.length) return { ok: false, message: `watches stalled: ${stalled.join(', ')}` };
      const wedgedMs = controller.workStalledMs();
      // A work loop with work that finished no reconcile for this long is wedged.
      if (wedgedMs > config.workStallTimeoutMs) return { ok: false, message: `work loop finished no reconcile in ${Math.round(wedgedMs / 1000)} s` };
      return { ok: true, message: 'ok' };
    },
    readyz: () => {
      if (leaseProblem) return { ok: false, message: leaseProblem };
      return controller.cachesSynced() ? { ok: true, message: 'ok' } : { ok: false, message: 'caches not synced' };
    },
  };
  let builder: BuilderServer;
  let webhook: Webhook | undefined;
  try {
    servers.push(await listening('metrics-addr', config.metricsAddr, () => serveMetrics(config.metricsAddr, metrics)));
    servers.push(await listening('health-addr', config.healthAddr, () => serveHealth(config.healthAddr, health)));
    builder = await listening('builder-addr', config.builderAddr,
      () => startBuilder(config, { controller, kc, metrics, log, outbound, ...(opts.builderFetch ? { fetch: opts.builderFetch } : {}),
        ...(opts.builderTlsCheckMs === undefined ? {} : { tlsCheckMs: opts.builderTlsCheckMs }) }));
  } catch (err) {
    // Nothing may keep the process alive after a failed start: it has to exit with the message.
    await Promise.all(servers.map((s) => s.close()));
    rest.close();
    throw err;
  }
  let admission: EngineDecision;
  try {
    admission = await chooseAdmissionEngine(config.admissionEngine, () => discoverPolicySupport(rest, (error) => {
      log.warn({ error }, 'Discovery of admissionregistration.k8s.io/v1 failed; retrying with backoff');
    }));
    webhook = await startWebhookEngine(admission, config, { controller, metrics, log,
      ...(opts.builderTlsCheckMs === undefined ? {} : { tlsCheckMs: opts.builderTlsCheckMs }) });
  } catch (err) {
    await Promise.all([...servers.map((s) => s.close()), builder.close()]);
    rest.close();
    throw err;
  }
  log.info({ engine: admission.engine, reason: admission.reason }, 'Admission engine chosen');
  if (admission.engine === 'policy') controller.useInjectionPolicies(config.namespace);
  log.info({ server: kc.getCurrentCluster()?.server, builder: builder.url }, 'Starting caches');
  await controller.startCaches();

  const lost = Promise.withResolvers<undefined>();
  // Aborted when this replica stops or stops leading: the removal of the inactive engines' objects ends with it.
  const leading = new AbortController();
  /** What the leader runs: the workers, the webhook's configuration, and the removal of what other engines left. */
  const lead = () => {
    metrics.leader.set(1);
    controller.startWorkers();
    webhook?.keep(rest, leading.signal);
    void removeStalePolicies({ rest, engine: admission.engine, log, signal: leading.signal });
  };
  if (config.leaderElect) {
    // The Lease's own client (connection and rate limit): a renewal never queues behind controller or builder calls.
    leaseRest = new KubeRest(kc, { ...LEASE_CLIENT, ...restHooks });
    elector = new LeaderElector(leaseRest, {
      namespace: config.namespace, name: LEASE_NAME, identity, clock: realClock,
      onStartedLeading: lead,
      // The write gate already refuses every write. Closing the client also fails every request in flight
      // at once (a partition would hold them until their deadlines), so the workers stop and the process
      // exits within moments instead of the shutdown deadline.
      onStoppedLeading: () => {
        metrics.leader.set(0);
        leading.abort();
        rest.close();
        leaseRest?.close();
        void controller.stopWorkers();
        lost.resolve(undefined);
      },
      onBlocked: (problem) => {
        leaseProblem = problem && missingLeaseNamespace(config.namespace);
        if (leaseProblem) log.error({ namespace: config.namespace }, leaseProblem);
        else log.info({ namespace: config.namespace }, 'Lease namespace found; campaigning for leadership');
      },
      log: (level, msg, fields) => { log[level](fields ?? {}, msg); },
    });
    log.info({ lease: `${config.namespace}/${LEASE_NAME}`, identity }, 'Caches synced; campaigning for leadership');
    elector.start();
  } else {
    log.info('Caches synced; starting workers (leader election disabled)');
    lead();
  }
  return {
    controller, metrics, metricsPort: servers[0]?.port ?? 0, healthPort: servers[1]?.port ?? 0, builderUrl: builder.url,
    admissionEngine: admission.engine,
    ...webhookUrlOf(webhook),
    isLeader: () => (elector ? elector.isLeader() : true),
    lostLeadership: lost.promise,
    stop: async () => {
      // In this order, so that nothing in flight delays the hand-over: cancel every reconcile's calls and
      // every token request, release the Lease (every write is gated by leadership, so none can follow),
      // then close the client, which fails whatever is still in flight (a relist, a watch) at once. The
      // webhook drains meanwhile and closes last, answering from the caches as they were (src/webhook/server.ts).
      const drained = webhook?.server ? sleep(realClock, config.webhookDrainMs) : undefined;
      webhook?.server?.drain();
      const workers = controller.stopWorkers();
      leading.abort();
      cache.close();
      await elector?.stop();
      rest.close();
      leaseRest?.close();
      await workers;
      await controller.stop();
      await Promise.all([...servers.map((s) => s.close()), builder.close()]);
      await drained;
      await webhook?.close();
    },
  };
}

/**
 * Runs until SIGTERM or SIGINT (exit 0) or until leadership is lost (exit 1, so the pod restarts clean).
 * The process ends within config.shutdownTimeoutMs of either, whatever is in flight: a clean stop
 * usually takes milliseconds, and when it does not, the deadline exits anyway.
 */
export async function run(config: Config): Promise<number> {
  const log = createLogger(config.logLevel);
  const guard = guardProcess(log);
  // In a cluster the chart passes the pod name; two replicas on one host still need distinct identities.
  const identity = config.identity ?? `${hostname()}-${String(process.pid)}`;
  const daemon = await startDaemon(config, log, {
    identity,
  });
  guard.countInto((kind) => { daemon.metrics.processErrors.inc({ kind }); });
  const code = await new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'Shutting down');
      resolve(0);
    };
    process.once('SIGTERM', () => { shutdown('SIGTERM'); });
    process.once('SIGINT', () => { shutdown('SIGINT'); });
    void daemon.lostLeadership.then(() => { log.error('Lost leadership; exiting'); resolve(1); });
  });
  // Armed until the process has exited, not only until stop() returned; unref'd, so it never holds it.
  setTimeout(() => {
    log.warn({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'Shutdown deadline passed; exiting with work in flight');
    process.exit(code);
  }, config.shutdownTimeoutMs).unref();
  await daemon.stop();
  log.info('Stopped');
  // Nothing of ours is left in flight. A socket a cloud SDK still holds to a token endpoint that never
  // answered (its request was abandoned at close()) must not keep the process alive until the deadline.
  setImmediate(() => process.exit(code));
  return code;
}
