// The kubeconfig a command talks to the cluster with, from its --kubeconfig and --context. One that
// cannot be used as given is the user's to fix: a usage error naming the command, one line, exit 2.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError, loadKubeConfig, type KubeConfigOptions } from '../kube/kubeconfig.ts';
import { ConfigError } from './args.ts';

export async function commandKubeConfig(command: string, opts: KubeConfigOptions): Promise<KubeConfig> {
  try {
    return await loadKubeConfig(opts);
  } catch (err) {
    if (err instanceof KubeConfigError) throw new ConfigError(`${command}: ${err.message}`);
    throw err;
  }
}
