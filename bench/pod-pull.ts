// New namespace → its first pod Running with a private image, on the testbed's node: what a user waits
// for. One fresh bed with its registry and node; for each system (`imps`: IMPS, built by
// bench/imps/build.sh, out of cluster with the bed's admin kubeconfig; `pullsecret-sync`: the built
// daemon with the image's node flags, likewise; `in-cluster`: pullsecret-sync's image built from the
// Dockerfile and the chart installed on the node, bench/in-cluster.ts), a resource selecting namespaces by label with the registry's login as its source,
// a warm-up namespace whose pod pulls the image once (the node then holds its layers), and then N
// namespaces, K in flight: each created with its pod right behind it (naming the Secret the system is to
// write, `imagePullPolicy: Always`, so every pull asks the registry with that Secret), timed from the
// namespace create call's response to the pod seen Running by a watch, then deleted. Also counted: the
// kubelet's failed pulls (`ErrImagePull`, `ImagePullBackOff` events) and the namespace → Secret time.
// `npm run bench:pods -- [namespaces=100] [in flight=5] [--system=imps|pullsecret-sync|in-cluster]…` (needs root)
import { join } from 'node:path';
import { isStatus } from '../src/kube/rest.ts';
import { installImpsCrd, startImps, type Controller } from './imps/imps.ts';
import { installChart } from './in-cluster.ts';
import { createPod, pushImage, registrySecret, watchPods, type PodWatch } from './pods.ts';
import { create, freshBed, IMAGE_NODE_FLAGS, load, pool, root, startDaemon, until, type Bed } from './support.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench:pods -- [namespaces=100] [in-flight=5] [--system=imps|pullsecret-sync|in-cluster]…
A fresh bed with a registry and a node (needs root); per system (default: all three, in that order),
namespace created -> its pod Running, p50/p99, and the kubelet's failed pulls. imps and pullsecret-sync
run out of cluster; in-cluster installs the chart with the image built from the Dockerfile. Results as
one JSON line per system on stdout.`);
  process.exit(0);
}
const positional = args.filter((a) => !a.startsWith('--'));
const NAMESPACES = Number(positional[0] ?? 100);
const IN_FLIGHT = Number(positional[1] ?? 5);
const SYSTEMS = ['imps', 'pullsecret-sync', 'in-cluster'] as const;
type System = (typeof SYSTEMS)[number];
const asked = args.filter((a) => a.startsWith('--system=')).map((a) => a.slice('--system='.length));
for (const s of asked) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--system=${s}: expected one of ${SYSTEMS.join(', ')}`);
const systems = SYSTEMS.filter((s) => asked.length === 0 || asked.includes(s));
if (!Number.isInteger(NAMESPACES) || NAMESPACES < 1 || !Number.isInteger(IN_FLIGHT) || IN_FLIGHT < 1) throw new Error('namespaces and in-flight must be positive integers (see --help)');
/** How long one pod may take to run before it counts as never running (a back-off reaches 5 minutes). */
const POD_DEADLINE_MS = 600_000;
const LABEL = 'bench-pods';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const ms = (x: number) => Number(x.toFixed(1));

/** When each namespace's Secret `name` was first seen by a watch. */
function watchSecrets(bed: Bed, name: string, signal: AbortSignal): Map<string, number> {
  const seen = new Map<string, number>();
  void bed.rest.watch({ path: '/api/v1/secrets', query: { fieldSelector: `metadata.name=${name}`, timeoutSeconds: 3600 } }, (e) => {
    const ns = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (e.type === 'ADDED' && ns && !seen.has(ns)) seen.set(ns, performance.now());
  }, signal).catch(() => undefined);
  return seen;
}

async function startController(system: System, bed: Bed): Promise<Controller> {
  if (system === 'imps') return startImps(bed);
  if (system === 'in-cluster') return installChart(bed, (line) => { console.error(line); });
  const daemon = await startDaemon(bed, [], IMAGE_NODE_FLAGS, join(root, 'dist/main.js'));
  return { peakMb: () => daemon.memory().peakMb, stop: () => daemon.stop() };
}

interface Probe { ms?: number; secretMs?: number; podCreatedMs: number; errImagePull: number; imagePullBackOff: number }

const admittedFirst = (r: Probe) => r.secretMs === undefined || r.podCreatedMs < r.secretMs;

/** One namespace with its pod: created, timed until Running (or the deadline), its failures read, deleted. */
async function probe(bed: Bed, pods: PodWatch, secrets: Map<string, number>, system: System, name: string, image: string): Promise<Probe> {
  await create(bed.rest, '/api/v1/namespaces', { metadata: { name, labels: { [LABEL]: system } } });
  const created = performance.now();
  await createPod(bed.rest, name, image, `pull-${system}`);
  const podCreatedMs = performance.now() - created;
  await until(`pod ${name}/app Running`, () => pods.running.has(`${name}/app`), POD_DEADLINE_MS, 10).catch(() => undefined);
  const ran = pods.running.get(`${name}/app`);
  const secret = secrets.get(name);
  const result = { ms: ran === undefined ? undefined : ran - created, podCreatedMs, secretMs: secret === undefined ? undefined : secret - created, ...pods.failures(name, 'app') };
  await bed.rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch((err: unknown) => { if (!isStatus(err, 404)) throw err; });
  return result;
}

async function run(bed: Bed, system: System, image: string, pods: PodWatch): Promise<Record<string, unknown>> {
  const group = system === 'imps' ? 'images.banzaicloud.io/v1alpha1' : 'pullsecret-sync.dev/v1alpha1';
  if (system === 'imps') await installImpsCrd(bed);
  await create(bed.rest, `/apis/${group}/imagepullsecrets`, { apiVersion: group, kind: 'ImagePullSecret', metadata: { name: `pods-${system}` },
    spec: { registry: { credentials: [{ name: 'registry', namespace: 'bench-src' }] },
      target: { namespaces: { labels: [{ matchLabels: { [LABEL]: system } }] }, secret: { name: `pull-${system}` } } } });
  const watch = new AbortController();
  const secrets = watchSecrets(bed, `pull-${system}`, watch.signal);
  const controller = await startController(system, bed);
  // Warm-up: the controller serves the resource, and the node holds the image's layers.
  const warm = await probe(bed, pods, secrets, system, `${system}-warm-up`, image);
  if (warm.ms === undefined) throw new Error(`${system}: the warm-up pod did not run within ${String(POD_DEADLINE_MS / 1000)} s`);
  pods.pullErrors.clear();
  const loadBefore = load();
  const window = { from: new Date().toISOString() };
  const names = Array.from({ length: NAMESPACES }, (_, i) => `${system}-pods-${String(i)}`);
  const results: Probe[] = [];
  await pool(names, IN_FLIGHT, async (name) => { results.push(await probe(bed, pods, secrets, system, name, image)); });
  const latencies = results.flatMap((r) => (r.ms === undefined ? [] : [r.ms]));
  const secretLatencies = results.flatMap((r) => (r.secretMs === undefined ? [] : [r.secretMs]));
  const result = {
    system, namespaces: NAMESPACES, inFlight: IN_FLIGHT, window: { ...window, to: new Date().toISOString() },
    podRunningMs: { p50: ms(percentile(latencies, 50)), p90: ms(percentile(latencies, 90)), p99: ms(percentile(latencies, 99)), max: ms(Math.max(...latencies)) },
    neverRan: results.length - latencies.length,
    podsWithFailedPull: results.filter((r) => r.errImagePull + r.imagePullBackOff > 0).length,
    errImagePullEvents: results.reduce((n, r) => n + r.errImagePull, 0),
    imagePullBackOffEvents: results.reduce((n, r) => n + r.imagePullBackOff, 0),
    pullErrors: [...pods.pullErrors],
    // A pod admitted before its Secret existed can be pulled without it: how often that happened, and how often it then failed.
    podsAdmittedBeforeSecret: results.filter(admittedFirst).length,
    failedPullsAdmittedBeforeSecret: results.filter((r) => admittedFirst(r) && r.errImagePull > 0).length,
    podCreatedMs: { p50: ms(percentile(results.map((r) => r.podCreatedMs), 50)), p99: ms(percentile(results.map((r) => r.podCreatedMs), 99)) },
    secretMs: { p50: ms(percentile(secretLatencies, 50)), p99: ms(percentile(secretLatencies, 99)), missing: results.length - secretLatencies.length },
    ...(system === 'in-cluster' ? {} : { peakRssMb: Number(controller.peakMb().toFixed(1)) }), load: { before: loadBefore, after: load() },
  };
  console.log(JSON.stringify(result));
  await controller.stop();
  watch.abort();
  // The next system starts on a quiet node: every namespace of this one gone, its pods with it.
  await until(`${system}'s namespaces deleted`, async () => {
    const list = await bed.rest.call<{ items?: unknown[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { labelSelector: LABEL } });
    return (list.items ?? []).length === 0;
  }, 300_000, 1000);
  return result;
}

async function main(): Promise<void> {
  const bed = await freshBed({ registry: true, node: true });
  let pods: PodWatch | undefined;
  try {
    const { image, host, user } = await pushImage(bed.state, 'bench');
    await create(bed.rest, '/api/v1/namespaces', { metadata: { name: 'bench-src' } });
    await create(bed.rest, '/api/v1/namespaces/bench-src/secrets', registrySecret('registry', host, user));
    pods = watchPods(bed.rest);
    for (const system of systems) await run(bed, system, image, pods);
  } finally {
    pods?.stop();
    await bed.stop();
  }
}

await main();
