// IMPS (banzaicloud/imps, built by bench/imps/build.sh) as the benchmarks run it: its CRD applied to a
// bed, and its controller as a process of its own outside the cluster, with the bed's admin kubeconfig.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, until, type Bed } from '../support.ts';

export interface Controller { peakMb(): number; stop(): Promise<void> }

/** The built IMPS controller's path (building it on first use). */
const impsBinary = (): string => execFileSync(join(root, 'bench/imps/build.sh'), { encoding: 'utf8' }).trim();

/** Applies IMPS's CRD from its source tree and waits until its API answers. */
export async function installImpsCrd(bed: Bed): Promise<void> {
  execFileSync('kubectl', ['--kubeconfig', bed.state.kubeconfig, 'apply', '-f', join(impsBinary(), '../../config/crd/bases')], { stdio: 'ignore' });
  await until('the IMPS CRD', async () => (await bed.rest.call({ method: 'GET', path: '/apis/images.banzaicloud.io/v1alpha1/imagepullsecrets' }).then(() => true, () => false)), 60_000, 500);
}

export function startImps(bed: Bed): Controller {
  // Its logs (status-update conflicts at error level) go to stderr, not into the results on stdout.
  const proc = spawn(impsBinary(), ['--metrics-addr=127.0.0.1:0'], { env: { ...process.env, KUBECONFIG: bed.state.kubeconfig, LOG_LEVEL: 'error' },
    stdio: ['ignore', process.stderr, process.stderr] });
  const exited = new Promise<void>((r) => { proc.once('exit', () => { r(); }); });
  return {
    peakMb: () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${String(proc.pid)}/status`, 'utf8'))?.[1] ?? 0) / 1024,
    stop: async () => { proc.kill('SIGTERM'); await exited; },
  };
}
