// IMPS side by side (BENCHMARKS.md): banzaicloud/imps, built from source by bench/imps/build.sh, and
// pullsecret-sync at IMPS's client limits (QPS 20, burst 30), each on its own fresh bed with the same
// workload: N labelled namespaces (created before the controller starts), 20 resources each selecting
// N/20 of them, then P new namespaces one at a time. Per system: cold start (controller start to the
// last of the N Secrets), new namespace → Secret latency (create response to the Secret's ADDED event on
// a separate watch), peak RSS (VmHWM), and the API requests the API server counted from controller start
// to the end (`apiserver_request_total`, resource requests only, less the benchmark's own creates).
// Each `--daemon=DIST[,node flags]` is a pullsecret-sync run of its own, on a fresh bed (default: this
// checkout's dist/ with the image's node flags).
// `npm run build && node --import tsx bench/imps/compare.ts [namespaces] [probes] [--daemon=DIST[,node flags]]…`
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { create, createSource, daemonArgs, freshBed, IMAGE_NODE_FLAGS, load, pool, root, startDaemon, until } from '../support.ts';
import { installImpsCrd, startImps, type Controller } from './imps.ts';

const args = process.argv.slice(2);
const { positional: [nsArg, probeArg] } = daemonArgs(args);
const daemons = args.some((a) => a.startsWith('--daemon=')) ? daemonArgs(args).daemons : [{ dist: join(root, 'dist'), nodeFlags: IMAGE_NODE_FLAGS }];
const NAMESPACES = Number(nsArg ?? 2000);
const PROBES = Number(probeArg ?? 50);
const RESOURCES = 20;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

function apiRequests(kubeconfig: string): number {
  const text = execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  // Non-resource requests (/metrics, /healthz) carry resource="" (mind subresource="", which every line has).
  return text.split('\n').filter((l) => l.startsWith('apiserver_request_total{') && !/[{,]resource=""/.test(l))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

type Daemon = (typeof daemons)[number];

async function run(system: 'imps' | 'pullsecret-sync', daemon?: Daemon): Promise<Record<string, unknown>> {
  const bed = await freshBed();
  const { rest } = bed;
  const group = system === 'imps' ? 'images.banzaicloud.io/v1alpha1' : 'pullsecret-sync.dev/v1alpha1';
  if (system === 'imps') await installImpsCrd(bed);
  await createSource(rest);
  const names = Array.from({ length: NAMESPACES }, (_, i) => `imps-bench-${String(i)}`);
  await pool(names, 32, (name) => create(rest, '/api/v1/namespaces', { metadata: { name, labels: { 'bench-group': String(Number(name.split('-').pop()) % RESOURCES) } } }));
  for (let i = 0; i < RESOURCES; i++) {
    await create(rest, `/apis/${group}/imagepullsecrets`, { apiVersion: group, kind: 'ImagePullSecret', metadata: { name: `bench-${String(i)}` },
      spec: { registry: { credentials: [{ name: 'hub', namespace: 'bench-src' }] },
        target: { namespaces: { labels: [{ matchLabels: { 'bench-group': String(i) } }] }, secret: { name: `pull-${String(i)}` } } } });
  }
  const seen = new Map<string, number>();
  const watch = new AbortController();
  void rest.watch({ path: '/api/v1/secrets', query: { timeoutSeconds: 3600 } }, (e) => {
    const m = (e.object as { metadata?: { namespace?: string; name?: string } }).metadata;
    if (e.type === 'ADDED' && m?.namespace && m.name?.startsWith('pull-') && !seen.has(m.namespace)) seen.set(m.namespace, performance.now());
  }, watch.signal).catch(() => undefined);
  const requestsBefore = apiRequests(bed.state.kubeconfig);
  const started = performance.now();
  const controller: Controller = system === 'imps' ? startImps(bed) : await (async () => {
    const d = await startDaemon(bed, ['--kube-qps=20', '--kube-burst=30'], daemon?.nodeFlags ?? IMAGE_NODE_FLAGS, join(daemon?.dist ?? join(root, 'dist'), 'main.js'));
    return { peakMb: () => d.memory().peakMb, stop: () => d.stop() };
  })();
  await until('every Secret', () => names.every((n) => seen.has(n)), 1800_000, 100);
  const coldStart = (Math.max(...names.map((n) => seen.get(n) ?? 0)) - started) / 1000;
  const latencies: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const name = `imps-probe-${String(i)}`;
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels: { 'bench-group': String(i % RESOURCES) } } } });
    const created = performance.now();
    await until(`the Secret in ${name}`, () => seen.has(name), 600_000, 1);
    latencies.push((seen.get(name) ?? created) - created);
  }
  const requests = apiRequests(bed.state.kubeconfig) - requestsBefore - PROBES;
  const result = { system, ...(daemon ? { dist: daemon.dist, nodeFlags: daemon.nodeFlags } : {}), namespaces: NAMESPACES, resources: RESOURCES, probes: PROBES, coldStartSeconds: Number(coldStart.toFixed(1)),
    p50Ms: Number(percentile(latencies, 50).toFixed(1)), p99Ms: Number(percentile(latencies, 99).toFixed(1)),
    peakRssMb: Number(controller.peakMb().toFixed(1)), apiRequests: requests, load: load() };
  console.log(JSON.stringify(result));
  await controller.stop();
  watch.abort();
  await bed.stop();
  return result;
}

const imps = await run('imps');
for (const daemon of daemons) {
  const ours = await run('pullsecret-sync', daemon);
  const ratio = (k: string) => Number(((ours[k] as number) / (imps[k] as number)).toFixed(3));
  console.log(JSON.stringify({ nodeFlags: daemon.nodeFlags, ratios: { coldStart: ratio('coldStartSeconds'), p99: ratio('p99Ms'), peakRss: ratio('peakRssMb'), apiRequests: ratio('apiRequests') } }));
}
