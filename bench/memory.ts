// Memory at scale (BENCHMARKS.md): the daemon's peak and final RSS with 10,000 namespaces,
// 50,000 pods and 10,000 managed Secrets. On a fresh bed a bare client creates the namespaces (labelled
// into 20 groups) and five pods in each (Pending forever: no scheduler, no kubelet), with the labels and
// annotations pods usually carry. Then the built daemon starts against the populated cluster, 20 resources
// each select one group (500 namespaces), and resource 0 also selects by pods, so pods are watched. Peak is
// the kernel's VmHWM after convergence plus 30 s of steady state.
// Each `--daemon=DIST[,node flags]` is measured in turn on the same populated bed (default: this
// checkout's dist/): the first writes the 10,000 Secrets, later ones start on a converged cluster.
// `npm run build && node --import tsx bench/memory.ts [namespaces] [podsPerNamespace] [--daemon=dist,--max-semi-space-size=2]…`
import { join } from 'node:path';
import { countManagedSecrets, create, createSource, daemonArgs, freshBed, load, pool, startDaemon, until } from './support.ts';

const args = process.argv.slice(2);
const { positional: [nsArg, podArg], daemons } = daemonArgs(args);
const NAMESPACES = Number(nsArg ?? 10_000);
const PODS_PER_NAMESPACE = Number(podArg ?? 5);
const RESOURCES = 20;

function pod(namespace: string, group: number, k: number) {
  return {
    metadata: {
      name: `web-${String(k)}-${Math.random().toString(36).slice(2, 7)}`, namespace,
      labels: { app: `web-${String(k)}`, 'pod-template-hash': Math.random().toString(36).slice(2, 12), tier: 'backend',
        'bench-pod': group === 0 && k === 0 ? 'selected' : 'other' },
      annotations: { 'kubectl.kubernetes.io/default-container': 'app', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
    },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }] },
  };
}

async function main(): Promise<void> {
  const bed = await freshBed();
  const { rest } = bed;
  await createSource(rest, 'bench', 'not-a-secret');
  const started = performance.now();
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => ({ name: `bench-${String(i)}`, group: i % RESOURCES }));
  await pool(namespaces, 64, (ns) => create(rest, '/api/v1/namespaces', { metadata: { name: ns.name, labels: { 'bench-group': String(ns.group) } } }));
  const pods = namespaces.flatMap((ns) => Array.from({ length: PODS_PER_NAMESPACE }, (_, k) => ({ ns, k })));
  // A pod needs the namespace's default ServiceAccount, which the controller-manager adds: the pool retries.
  await pool(pods, 64, ({ ns, k }) => create(rest, `/api/v1/namespaces/${ns.name}/pods`, pod(ns.name, ns.group, k)));
  console.error(`created ${String(NAMESPACES)} namespaces and ${String(pods.length)} pods in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (let i = 0; i < RESOURCES; i++) {
    await create(rest, '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', {
      apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `bench-${String(i)}` },
      spec: { registry: { credentials: [{ name: 'hub', namespace: 'bench-src' }] }, target: {
        namespaces: { labels: [{ matchLabels: { 'bench-group': String(i) } }] }, secret: { name: `pull-${String(i)}` },
        ...(i === 0 ? { namespacesWithPods: { labels: [{ matchLabels: { 'bench-pod': 'selected' } }] } } : {}),
      } },
    });
  }
  for (const { dist, nodeFlags } of daemons) {
    const daemon = await startDaemon(bed, ['--kube-qps=200', '--kube-burst=200'], nodeFlags, join(dist, 'main.js'));
    const daemonStarted = performance.now();
    // Converged: every Secret there, and the daemon's Secrets watch has seen them (its gauge counts them).
    await until('every managed Secret', async () => (await countManagedSecrets(rest)) >= NAMESPACES
      && (await daemon.managedSecretsGauge()) >= NAMESPACES, 1800_000, 2000);
    const converged = (performance.now() - daemonStarted) / 1000;
    const atConvergence = daemon.memory();
    await new Promise((r) => setTimeout(r, 30_000));
    const end = daemon.memory();
    console.log(JSON.stringify({ dist, nodeFlags, namespaces: NAMESPACES, pods: pods.length, managedSecrets: await countManagedSecrets(rest),
      convergedSeconds: Number(converged.toFixed(1)), rssAtConvergenceMb: atConvergence.rssMb, rssAfter30sMb: end.rssMb, peakRssMb: end.peakMb, load: load() }));
    await daemon.stop();
  }
  await bed.stop();
}

await main();
