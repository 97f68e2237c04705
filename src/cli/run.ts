// `pullsecret-sync run`: the daemon.
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Controller } from '../controller/controller.ts';
import { EventRecorder } from '../kube/events.ts';
import { KubeRest } from '../kube/rest.ts';
import { Writes } from '../kube/writes.ts';
import { createLogger } from '../log/logger.ts';
import { errorMessage } from '../util/errors.ts';
import type { Config } from './config.ts';

export function loadKubeConfig(config: Pick<Config, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  if (config.context) kc.setCurrentContext(config.context);
  return kc;
}

export interface Daemon {
  controller: Controller;
  stop(): Promise<void>;
}

/** Builds and starts the daemon; resolves once caches are synced and workers run. */
export async function startDaemon(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Daemon> {
  const kc = loadKubeConfig(config);
  const rest = new KubeRest(kc, { qps: config.kubeQps, burst: config.kubeBurst });
  const events = new EventRecorder(rest, {
    reportingInstance: process.env.HOSTNAME ?? 'pullsecret-sync',
    onError: (err) => { log.warn({ error: errorMessage(err) }, 'Recording an event failed'); },
  });
  const controller = new Controller({ rest, writes: new Writes(rest), events, log, concurrency: config.concurrency });
  log.info({ server: kc.getCurrentCluster()?.server }, 'Starting caches');
  await controller.startCaches();
  log.info('Caches synced; starting workers');
  controller.startWorkers();
  return {
    controller,
    stop: async () => {
      await controller.stop();
      rest.close();
    },
  };
}

export async function run(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const daemon = await startDaemon(config, log);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'Shutting down');
      resolve();
    };
    process.once('SIGTERM', () => { shutdown('SIGTERM'); });
    process.once('SIGINT', () => { shutdown('SIGINT'); });
  });
  await daemon.stop();
  log.info('Stopped');
}
