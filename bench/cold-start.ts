// Cold start (BENCHMARKS.md): 5,000 selected namespaces converge within 1.1x the time a bare client
// takes to create the same 5,000 Secrets at the same client QPS, both measured in one run on one fresh
// bed. First the bare client (KubeRest with the given QPS and burst, 16 requests in flight) creates a
// Secret of the same size in every namespace; then 20 resources select the namespaces (250 each) and the
// built daemon starts with the same --kube-qps/--kube-burst; its time runs from process start to the last
// Secret seen by a watch, so it includes start-up, cache sync, finalizers, status and Events.
// `npm run build && node --import tsx bench/cold-start.ts [namespaces] [qps] [burst]`
import { KubeRest } from '../src/kube/rest.ts';
import { create, createSource, freshBed, load, pool, startDaemon, until } from './support.ts';

const NAMESPACES = Number(process.argv[2] ?? 5000);
const QPS = Number(process.argv[3] ?? 50);
const BURST = Number(process.argv[4] ?? 100);
const RESOURCES = 20;
const DOCKER_CONFIG = JSON.stringify({ auths: { 'registry.example.com': { username: 'u', password: 'p', auth: 'dTpw' } } });

async function main(): Promise<void> {
  const bed = await freshBed();
  const { rest } = bed;
  await createSource(rest);
  const names = Array.from({ length: NAMESPACES }, (_, i) => `cold-${String(i)}`);
  await pool(names, 32, (name) => create(rest, '/api/v1/namespaces', { metadata: { name, labels: { 'bench-group': String(Number(name.slice(5)) % RESOURCES) } } }));

  const bare = new KubeRest(bed.kc, { qps: QPS, burst: BURST });
  const bareStarted = performance.now();
  await pool(names, 16, (name) => bare.call({ method: 'POST', path: `/api/v1/namespaces/${name}/secrets`, body: { metadata: { name: 'bare-copy',
    labels: { 'app.kubernetes.io/part-of': 'bench' }, annotations: { 'pullsecret-sync.dev/data-hash': `sha256:${'0'.repeat(64)}` } },
    type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': DOCKER_CONFIG } } }));
  const bareSeconds = (performance.now() - bareStarted) / 1000;
  bare.close();

  for (let i = 0; i < RESOURCES; i++) {
    await create(rest, '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', {
      apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `cold-${String(i)}` },
      spec: { registry: { credentials: [{ name: 'hub', namespace: 'bench-src' }] },
        target: { namespaces: { labels: [{ matchLabels: { 'bench-group': String(i) } }] }, secret: { name: `pull-${String(i)}` } } },
    });
  }
  const seen = new Set<string>();
  let last = 0;
  const watch = new AbortController();
  void rest.watch({ path: '/api/v1/secrets', query: { labelSelector: 'app.kubernetes.io/managed-by=pullsecret-sync', timeoutSeconds: 3600 } }, (e) => {
    const ns = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (e.type === 'ADDED' && ns && !seen.has(ns)) { seen.add(ns); last = performance.now(); }
  }, watch.signal).catch(() => undefined);
  const daemonStarted = performance.now();
  const daemon = await startDaemon(bed, [`--kube-qps=${String(QPS)}`, `--kube-burst=${String(BURST)}`]);
  await until('every Secret', () => seen.size >= NAMESPACES, 3600_000, 100);
  const daemonSeconds = (last - daemonStarted) / 1000;
  console.log(JSON.stringify({ namespaces: NAMESPACES, resources: RESOURCES, qps: QPS, burst: BURST, bareClientSeconds: Number(bareSeconds.toFixed(1)),
    daemonSeconds: Number(daemonSeconds.toFixed(1)), ratio: Number((daemonSeconds / bareSeconds).toFixed(3)), peakRssMb: daemon.memory().peakMb, load: load() }));
  watch.abort();
  await daemon.stop();
  await bed.stop();
}

await main();
