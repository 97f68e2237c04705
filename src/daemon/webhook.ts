// Wires the pod admission webhook (docs/adr/0011-admission-webhook.md): its HTTPS server on every replica,
// answering from the controller's caches; the serving certificate from the same files as the builder API
// (the chart's Secret, reloaded when it changes) or, without files, one generated at start; and, on the
// leader, the keeper of the MutatingWebhookConfiguration, whose caBundle follows the serving CA.
import type { Logger } from 'pino';
import { resolveTls, servingHosts, watchTls, type ServingTls, type TlsFiles } from '../builder/tls.ts';
import type { Controller } from '../controller/manager.ts';
import type { KubeRest } from '../kube/rest.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { parseAddress } from '../util/address.ts';
import { errorMessage } from '../util/errors.ts';
import type { WebhookSettings } from '../webhook/configuration.ts';
import { WebhookKeeper } from '../webhook/keeper.ts';
import { startWebhookServer, type WebhookServer } from '../webhook/server.ts';
import { ConfigError, type Config } from './config.ts';

export interface WebhookDeps {
  controller: Controller;
  metrics: Metrics;
  log: Logger;
  /** How often mounted TLS files are checked for changes; default watchTls's. */
  tlsCheckMs?: number;
}

export interface Webhook {
  /** The HTTPS server; absent for the cleaner (webhookCleaner). */
  server?: WebhookServer;
  /**
   * Starts keeping the configuration (the leader only) until `leading` aborts; `rest` is the leader's
   * gated client. Stopped with leadership, before that client closes, so its watch ends quietly.
   */
  keep(rest: KubeRest, leading: AbortSignal): void;
  close(): Promise<void>;
}

function tlsFiles(config: Config): TlsFiles | undefined {
  if (!config.builderTlsCert || !config.builderTlsKey) return undefined;
  return { certFile: config.builderTlsCert, keyFile: config.builderTlsKey, ...(config.builderTlsCa ? { caFile: config.builderTlsCa } : {}) };
}

/**
 * What the API server trusts: the CA file when there is one, else the served chain itself (a chain whose
 * root is included, or a self-signed certificate, verifies against itself).
 */
const caBundleOf = (tls: ServingTls): string => tls.ca ?? tls.cert;

/** Starts `keeper` and stops it when leadership ends (before the leader's client closes, so its watch ends quietly). */
function keepWhileLeading(keeper: WebhookKeeper, leading: AbortSignal): void {
  keeper.start();
  leading.addEventListener('abort', () => { void keeper.stop(); }, { once: true });
}

/** The configuration's name: `<service>.<namespace>` (the chart's RBAC names it so). */
const configurationName = (config: Config): string => `${config.builderService}.${config.namespace}`;

/**
 * With any engine but the webhook (`auto` choosing the policy engine, `policy`, `off`), a configuration an
 * earlier webhook engine left is deleted by the leader, so the API server stops calling a webhook nobody
 * serves. No server is started. The chart grants the rules for it with every engine.
 */
export function webhookCleaner(config: Config, log: Logger): Webhook {
  let keeper: WebhookKeeper | undefined;
  const settings = (): WebhookSettings => ({ name: configurationName(config), namespace: config.namespace, target: { url: 'https://unused.invalid' },
    caBundle: '', timeoutSeconds: config.webhookTimeoutMs / 1000 });
  return {
    keep(rest, leading) {
      keepWhileLeading(keeper ??= new WebhookKeeper({ rest, settings, injected: () => [], log: log.child({ component: 'webhook' }) }), leading);
    },
    close: async () => { await keeper?.stop(); },
  };
}

export async function startWebhook(config: Config, deps: WebhookDeps): Promise<Webhook> {
  const log = deps.log.child({ component: 'webhook' });
  const files = tlsFiles(config);
  let tls = await resolveTls(files ?? {}, servingHosts({ name: config.builderService, namespace: config.namespace })).catch((err: unknown) => {
    if (!files) throw err;
    throw new ConfigError(`run: --builder-tls-cert ${files.certFile}, --builder-tls-key ${files.keyFile}: ${errorMessage(err)}`);
  });
  const view = deps.controller.admissionView(config.namespace);
  const server = await startWebhookServer({
    addr: config.webhookAddr, tls, port: view, logger: log,
    ready: () => deps.controller.cachesSynced(),
    onAdmission: (outcome, seconds) => {
      deps.metrics.admissionRequests.inc({ outcome });
      deps.metrics.admissionDuration.observe(seconds);
    },
    onHurry: (resource, namespace) => { deps.controller.hurry(resource, namespace); },
  });
  const port = parseAddress(config.webhookAddr)?.port ?? server.port;
  const settings = (): WebhookSettings => ({
    name: configurationName(config), namespace: config.namespace,
    target: config.webhookUrl ? { url: config.webhookUrl } : { service: config.builderService, port },
    caBundle: caBundleOf(tls), timeoutSeconds: config.webhookTimeoutMs / 1000,
  });
  let keeper: WebhookKeeper | undefined;
  const stopWatch = files && watchTls(files, tls, {
    ...(deps.tlsCheckMs === undefined ? {} : { intervalMs: deps.tlsCheckMs }),
    onChange: (next) => {
      tls = next;
      server.setTls(next);
      keeper?.poke();
      log.info({ certFile: files.certFile }, 'webhook TLS certificate reloaded');
    },
    onError: (reason) => { log.warn({ reason }, 'webhook TLS files changed but cannot be used; serving the previous certificate'); },
  });
  const injected = (): string[] => view.injecting().map((ips) => ips.spec.target.secret.name);
  deps.controller.caches.imagePullSecrets.on({ add: () => keeper?.poke(), update: () => keeper?.poke(), delete: () => keeper?.poke() });
  return {
    server,
    keep(rest, leading) {
      keepWhileLeading(keeper ??= new WebhookKeeper({ rest, settings, injected, log }), leading);
    },
    close: async () => {
      stopWatch?.();
      await keeper?.stop();
      await server.close();
    },
  };
}
