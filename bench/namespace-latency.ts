// Benchmark of the first service level in BENCHMARKS.md (new namespace → Secret, p99 ≤ 50 ms): with 20
// resources and 2,000 selected namespaces converged, how long a new namespace waits for its Secret
// (create call returned -> Secret seen by a watch), plus the cold convergence time and the daemon's
// resident memory. The built daemon runs as its own process with the container image's node flags unless
// `--node-flags=` says otherwise (comma-separated; empty for none). The API server's own duration
// histogram of the probes' Secret creates is printed beside the latencies. `npm run bench --
// [namespaces] [probes] [--node-flags=--optimize-for-size,--max-semi-space-size=2]`
import { execFileSync } from 'node:child_process';
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

/**
 * The API server's own histogram of Secret creates (`apiserver_request_duration_seconds`, POST secrets):
 * cumulative count per bucket bound in seconds. Read before and after the probes, it shows how much of the
 * latency the API server spent, including NamespaceLifecycle admission's 50 ms wait for its cache.
 */
function secretCreateHistogram(kubeconfig: string): Map<string, number> {
  const text = execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const buckets = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_duration_seconds_bucket{') || !line.includes('resource="secrets"') || !line.includes('verb="POST"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le) buckets.set(le, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return buckets;
}

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

  const serverBefore = secretCreateHistogram(bed.state.kubeconfig);
  const latencies: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const name = `probe-${String(i)}`;
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels: { [LABEL]: String(i % RESOURCES) } } } });
    const created = performance.now();
    await until(`the Secret in ${name}`, () => seen.has(name), 30_000, 1);
    latencies.push((seen.get(name) ?? created) - created);
  }
  const serverAfter = secretCreateHistogram(bed.state.kubeconfig);
  const server = Object.fromEntries(['0.005', '0.025', '0.05', '0.1'].map((le) => [`<=${String(Number(le) * 1000)}ms`, (serverAfter.get(le) ?? 0) - (serverBefore.get(le) ?? 0)]));
  const { rssMb, peakMb } = daemon.memory();
  console.log(JSON.stringify({ namespaces: NAMESPACES, resources: RESOURCES, probes: PROBES, nodeFlags: NODE_FLAGS,
    coldConvergenceSeconds: Number(converged.toFixed(1)),
    newNamespaceToSecretMs: { p50: ms(percentile(latencies, 50)), p90: ms(percentile(latencies, 90)), p99: ms(percentile(latencies, 99)),
      max: ms(Math.max(...latencies)) }, apiServerSecretCreatesDuringProbes: server, daemonRssMb: rssMb, daemonPeakMb: peakMb, load: { beforeProbes: loadBefore, afterProbes: load() } }));
  await daemon.stop();
  watch.abort();
  await bed.stop();
}

await main();
