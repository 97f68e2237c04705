// pullsecret-sync in the cluster, for the pod benchmark (bench/pod-pull.ts --in-cluster): the image built
// from the Dockerfile (test/testbed/image.ts), pushed to the bed's registry under the name the node
// reaches it by, and the chart installed as README's "Install" does it (its two replicas, one leading),
// plus a toleration for the testbed node's taint.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHART_DIR, runHelm } from '../test/support/helm.ts';
import { buildImage, pushImage } from '../test/testbed/image.ts';
import { NODE_TOLERATION } from '../test/testbed/node.ts';
import type { Controller } from './imps/imps.ts';
import { registrySecret } from './pods.ts';
import { create, root, until, type Bed } from './support.ts';

const NAMESPACE = 'pullsecret-sync';
const RELEASE = 'pullsecret-sync';

async function helm(bed: Bed, args: string[]): Promise<void> {
  const result = await runHelm([...args, '--kubeconfig', bed.state.kubeconfig]);
  if (result.code !== 0) throw new Error(`helm ${args[0] ?? ''} failed (${String(result.code)}): ${result.stderr.trim()}`);
}

/** Builds and pushes the image, installs the chart and resolves once both replicas are Ready and one leads. */
export async function installChart(bed: Bed, log: (line: string) => void): Promise<Controller> {
  const registry = bed.state.registry;
  const user = registry?.users[0];
  const host = bed.state.node?.registryHost;
  if (!registry || !user || !host) throw new Error('in-cluster mode needs the bed\'s registry and a node that reaches it');
  const started = performance.now();
  await buildImage(root, log);
  const work = mkdtempSync(join(tmpdir(), 'pod-pull-chart-'));
  const tag = `bench-${Date.now().toString(36)}`;
  try {
    await pushImage(`${host}/bench/pullsecret-sync:${tag}`, registry.certDir, user, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`image built and pushed in ${String(Math.round((performance.now() - started) / 1000))} s`);
  await create(bed.rest, '/api/v1/namespaces', { metadata: { name: NAMESPACE } });
  await create(bed.rest, `/api/v1/namespaces/${NAMESPACE}/secrets`, registrySecret('pullsecret-sync-image', host, user));
  await helm(bed, ['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE,
    '--set', `image.repository=${host}/bench/pullsecret-sync`, '--set', `image.tag=${tag}`, '--set', 'imagePullSecrets[0].name=pullsecret-sync-image',
    '--set-json', `tolerations=${JSON.stringify([NODE_TOLERATION])}`, '--wait', '--timeout', '5m']);
  await until('a leader', async () => {
    const lease = await bed.rest.call<{ spec?: { holderIdentity?: string } }>({ method: 'GET',
      path: `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${RELEASE}` }).catch(() => undefined);
    return Boolean(lease?.spec?.holderIdentity);
  }, 120_000, 500);
  return {
    peakMb: () => NaN,
    stop: () => helm(bed, ['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '90s']),
  };
}
