// Benchmark of SPEC 8's first service level (and issue 12's p99 ≤ 50 ms): with 20 resources and 2,000
// selected namespaces converged, how long a new namespace waits for its Secret (create call returned ->
// Secret seen by a watch), plus the cold convergence time and the daemon's resident memory. The built
// daemon runs as its own process with the container image's node flags unless `--node-flags=` says
// otherwise (comma-separated; empty for none).
// `npm run bench -- [namespaces] [probes] [--node-flags=--optimize-for-size,--max-semi-space-size=2]`
import type { KubeRest } from '../src/kube/rest.ts';
import { createSource, freshBed, IMAGE_NODE_FLAGS, load, pool, SOURCE, startDaemon, until } from './support.ts';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const NAMESPACES = Number(positional[0] ?? 2000);
const PROBES = Number(positional[1] ?? 200);
const nodeFlagsArg = args.find((a) => a.startsWith('--node-flags='))?.slice('--node-flags='.length);
const NODE_FLAGS = nodeFlagsArg === undefined ? IMAGE_NODE_FLAGS : nodeFlagsArg.split(',').filter(Boolean);
const RESOURCES = 20;
const LABEL = 'bench-group';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const ms = (x: number) => Number(x.toFixed(1));

/** Records when each namespace's first managed Secret is seen by a watch of its own. */
function watchManagedSecrets(rest: KubeRest, signal: AbortSignal): Map<string, number> {
  const seen = new Map<string, number>();
  void rest.watch({ path: '/api/v1/secrets', query: { labelSelector: 'app.kubernetes.io/managed-by=pullsecret-sync', timeoutSeconds: 3600 } }, (e) => {
    const ns = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (e.type === 'ADDED' && ns && !seen.has(ns)) seen.set(ns, performance.now());
  }, signal).catch(() => undefined);
  return seen;
}

async function main(): Promise<void> {
  const bed = await freshBed();
  const { rest } = bed;
  await createSource(rest);
  for (let i = 0; i < RESOURCES; i++) {
    await rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', body: {
      apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `latency-${String(i)}` },
      spec: { registry: { credentials: [{ ...SOURCE }] },
        target: { namespaces: { labels: [{ matchLabels: { [LABEL]: String(i) } }] }, secret: { name: `pull-${String(i)}` } } } } });
  }
  const watch = new AbortController();
  const seen = watchManagedSecrets(rest, watch.signal);
  const daemon = await startDaemon(bed, ['--kube-qps=200', '--kube-burst=200'], NODE_FLAGS);
  const coldStart = performance.now();
  const names = Array.from({ length: NAMESPACES }, (_, i) => `latency-${String(i)}`);
  await pool(names, 50, (name) => rest.call({ method: 'POST', path: '/api/v1/namespaces',
    body: { metadata: { name, labels: { [LABEL]: String(Number(name.slice('latency-'.length)) % RESOURCES) } } } }));
  await until('cold convergence', () => names.every((n) => seen.has(n)), 600_000);
  const converged = (performance.now() - coldStart) / 1000;
  const loadBefore = load();

  const latencies: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const name = `probe-${String(i)}`;
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels: { [LABEL]: String(i % RESOURCES) } } } });
    const created = performance.now();
    await until(`the Secret in ${name}`, () => seen.has(name), 30_000, 1);
    latencies.push((seen.get(name) ?? created) - created);
  }
  const { rssMb, peakMb } = daemon.memory();
  console.log(JSON.stringify({ namespaces: NAMESPACES, resources: RESOURCES, probes: PROBES, nodeFlags: NODE_FLAGS,
    coldConvergenceSeconds: Number(converged.toFixed(1)),
    newNamespaceToSecretMs: { p50: ms(percentile(latencies, 50)), p90: ms(percentile(latencies, 90)), p99: ms(percentile(latencies, 99)),
      max: ms(Math.max(...latencies)) }, daemonRssMb: rssMb, daemonPeakMb: peakMb, load: { beforeProbes: loadBefore, afterProbes: load() } }));
  await daemon.stop();
  watch.abort();
  await bed.stop();
}

await main();
