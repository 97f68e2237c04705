// Injection at admission against ServiceAccount patching, on the testbed's node, as GitOps applies a
// workload: N namespaces, each created with a one-replica Deployment right behind it (no wait between
// the two), whose pods name no pull Secret and run a private image. One fresh bed with its registry and
// node, and the built daemon (the image's node flags). Two phases, each with a resource of its own:
// - inject: `target.pods.inject` (the admission engine the daemon finds by discovery);
// - serviceaccounts: `target.serviceAccounts: {names: [default]}` alone.
// For each: how many pods were admitted without the entry, how many ran, the kubelet's failed pulls, and
// namespace created → its pod Running (p50, p99) for the pods that ran. The namespaces of a phase are
// deleted before the next one (the node holds at most 250 pods).
// `npm run bench:inject -- [namespaces=200] [in-flight=20] [--phase=inject|serviceaccounts]… [--no-token]` (needs root)
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatus } from '../src/kube/rest.ts';
import { NODE_TOLERATION } from '../test/testbed/node.ts';
import { POD_LABEL, pushImage, registrySecret, watchPods } from './pods.ts';
import { create, freshBed, IMAGE_NODE_FLAGS, load, pool, startDaemon, until, type Bed } from './support.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench:inject -- [namespaces=200] [in-flight=20] [--phase=inject|serviceaccounts]… [--no-token]
A fresh bed with a registry and a node (needs root). Per phase, N namespaces each applied with a Deployment
whose pods name no pull Secret: pods admitted without the entry, pods Running, failed pulls, and
namespace -> pod Running p50/p99. One JSON line per phase on stdout. --no-token: pods mount no
ServiceAccount token (the default pods mount it, as Kubernetes does).`);
  process.exit(0);
}
const positional = args.filter((a) => !a.startsWith('--'));
const NAMESPACES = Number(positional[0] ?? 200);
const IN_FLIGHT = Number(positional[1] ?? 20);
/**
 * Pods without the ServiceAccount token volume: the kubelet then reads the pull Secret the moment the pod
 * reaches it, with nothing mounted first (by default pods mount the token, as most Deployments do).
 */
const NO_TOKEN = args.includes('--no-token');
const PHASES = ['inject', 'serviceaccounts'] as const;
type Phase = (typeof PHASES)[number];
const asked = args.filter((a) => a.startsWith('--phase=')).map((a) => a.slice('--phase='.length));
for (const p of asked) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--phase=${p}: expected one of ${PHASES.join(', ')}`);
const phases = PHASES.filter((p) => asked.length === 0 || asked.includes(p));
if (!Number.isInteger(NAMESPACES) || NAMESPACES < 1 || NAMESPACES > 240 || !Number.isInteger(IN_FLIGHT) || IN_FLIGHT < 1) {
  throw new Error('namespaces must be 1-240 (the node holds 250 pods) and in-flight a positive integer (see --help)');
}
/** How long the pods that have the entry may take to run (a loaded node starting 200 pods at once). */
const RUN_DEADLINE_MS = 600_000;
/** How long to wait for pods without the entry before calling them failed (their pulls never succeed). */
const MISSED_GRACE_MS = 60_000;
const SECRET = 'registry-pull';

/** A copy of the node's and the registry's logs, for a phase with failed pulls (the bed's go with it). */
function keepLogs(bed: Bed): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-inject-logs-'));
  for (const p of [...bed.state.processes, ...bed.state.node?.processes ?? []]) {
    if (['kubelet', 'containerd', 'docker-registry'].includes(p.name)) copyFileSync(p.log, join(dir, `${p.name}.log`));
  }
  return dir;
}

/** When the Secret named SECRET was first seen in each namespace. */
function watchSecrets(rest: Bed['rest']): { seen: Map<string, number>; stop(): void } {
  const seen = new Map<string, number>();
  const stop = new AbortController();
  void rest.watch({ path: '/api/v1/secrets', query: { fieldSelector: `metadata.name=${SECRET}`, timeoutSeconds: 3600 } }, (e) => {
    const ns = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (ns && e.type !== 'DELETED' && !seen.has(ns)) seen.set(ns, performance.now());
  }, stop.signal).catch(() => undefined);
  return { seen, stop: () => { stop.abort(); } };
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

interface PodObject { metadata?: { namespace?: string; name?: string }; spec?: { imagePullSecrets?: { name: string }[] }; status?: { phase?: string } }

async function podsOf(bed: Bed, namespace: string): Promise<PodObject[]> {
  return (await bed.rest.call<{ items: PodObject[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods` })).items;
}

/**
 * Ready says the resource's Secrets are written, not that the API server applies its admission policy
 * yet (the policy reaches the API server's cache a few hundred ms later): a platform team applies the
 * resource before the namespaces it serves, so wait until a dry-run pod in a selected namespace gets the
 * entry, as node-inject does.
 */
async function injecting(bed: Bed, label: string, image: string): Promise<void> {
  const probe = `${label}-probe`;
  await create(bed.rest, '/api/v1/namespaces', { metadata: { name: probe, labels: { [label]: 'yes' } } });
  await until('admission injects the entry', async () => {
    const pod = await bed.rest.call<PodObject>({ method: 'POST', path: `/api/v1/namespaces/${probe}/pods`, query: { dryRun: 'All' }, body: {
      metadata: { name: 'probe' }, spec: { containers: [{ name: 'app', image }], automountServiceAccountToken: false },
    } }).catch(() => undefined);
    return (pod?.spec?.imagePullSecrets ?? []).some((s) => s.name === SECRET);
  }, 60_000, 100);
  await bed.rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${probe}` });
}

async function runPhase(bed: Bed, phase: Phase, image: string, source: string): Promise<object> {
  const label = `bench-inject-${phase}`;
  const target = phase === 'inject' ? { pods: { inject: true } } : { serviceAccounts: { names: ['default'] } };
  await create(bed.rest, '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name: label }, spec: {
      registry: { credentials: [{ name: 'registry', namespace: source }] },
      target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: SECRET }, ...target },
    } });
  await until(`${label} Ready`, async () => {
    const ips = await bed.rest.call<{ status?: { conditions?: { type: string; status: string }[] } }>({ method: 'GET', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${label}` });
    return ips.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  }, 60_000, 200);
  if (phase === 'inject') await injecting(bed, label, image);
  const watch = watchPods(bed.rest);
  const secrets = watchSecrets(bed.rest);
  const names = Array.from({ length: NAMESPACES }, (_, i) => `${label}-${String(i)}`);
  const created = new Map<string, number>();
  const loadBefore = load();
  const started = performance.now();
  await pool(names, IN_FLIGHT, async (name) => {
    await create(bed.rest, '/api/v1/namespaces', { metadata: { name, labels: { [label]: 'yes' } } });
    if (!created.has(name)) created.set(name, performance.now());
    await create(bed.rest, `/apis/apps/v1/namespaces/${name}/deployments`, { metadata: { name: 'web' }, spec: {
      replicas: 1, selector: { matchLabels: POD_LABEL },
      template: { metadata: { labels: POD_LABEL }, spec: {
        containers: [{ name: 'app', image, imagePullPolicy: 'Always' }], tolerations: [NODE_TOLERATION],
        terminationGracePeriodSeconds: 1, ...(NO_TOKEN ? { automountServiceAccountToken: false } : {}),
      } },
    } });
  });
  const applyMs = performance.now() - started;
  // Every Deployment's pod admitted (the controller manager creates them), then each pod's entry read.
  let pods: PodObject[] = [];
  await until('a pod in every namespace', async () => {
    pods = (await Promise.all(names.map((n) => podsOf(bed, n)))).flat();
    return new Set(pods.map((p) => p.metadata?.namespace)).size === names.length;
  }, 300_000, 1000);
  const missed = new Set(pods.filter((p) => !(p.spec?.imagePullSecrets ?? []).some((s) => s.name === SECRET)).map((p) => p.metadata?.namespace ?? ''));
  const ranIn = (ns: string) => [...watch.running.keys()].some((k) => k.startsWith(`${ns}/`));
  const withEntry = names.filter((n) => !missed.has(n));
  await until('the pods with the entry Running', () => withEntry.every(ranIn), RUN_DEADLINE_MS, 500).catch((err: unknown) => { console.error(String(err)); });
  await new Promise((r) => setTimeout(r, missed.size > 0 ? MISSED_GRACE_MS : 0));
  const latencies = names.flatMap((n) => {
    const ran = [...watch.running.entries()].find(([k]) => k.startsWith(`${n}/`))?.[1];
    const at = created.get(n);
    return ran !== undefined && at !== undefined ? [ran - at] : [];
  });
  const failedPull = (p: PodObject): boolean => {
    const f = watch.failures(p.metadata?.namespace ?? '', p.metadata?.name ?? '');
    return f.errImagePull + f.imagePullBackOff > 0;
  };
  const failedPods = new Set(pods.filter(failedPull).map((p) => p.metadata?.namespace));
  // Each pod's story, from its namespace's create call: admitted, bound, the Secret seen, first failed pull.
  const since = (ns: string, at: number | undefined) => (at === undefined ? null : Math.round(at - (created.get(ns) ?? NaN)));
  const timeline = (p: PodObject) => {
    const ns = p.metadata?.namespace ?? '';
    const key = `${ns}/${p.metadata?.name ?? ''}`;
    return { ns, admitted: since(ns, watch.admitted.get(key)), scheduled: since(ns, watch.scheduled.get(key)),
      secret: since(ns, secrets.seen.get(ns)), failed: since(ns, watch.firstFailure(ns, p.metadata?.name ?? '')) };
  };
  const toSecret = names.flatMap((n) => { const t = since(n, secrets.seen.get(n)); return t === null ? [] : [t]; });
  const boundFirst = pods.filter((p) => { const t = timeline(p); return t.scheduled !== null && (t.secret === null || t.scheduled < t.secret); });
  const logs = failedPods.size > 0 ? keepLogs(bed) : undefined;
  const kubeletSays = logs ? readFileSync(join(logs, 'kubelet.log'), 'utf8').split('\n')
    .filter((l) => /pull secret/i.test(l) && [...failedPods].some((ns) => ns && l.includes(ns))).slice(0, 5) : [];
  watch.stop();
  secrets.stop();
  const result = {
    phase, namespaces: NAMESPACES, inFlight: IN_FLIGHT, token: !NO_TOKEN, applyMs: Math.round(applyMs),
    admittedWithoutEntry: missed.size, running: names.filter(ranIn).length, podsWithFailedPull: failedPods.size,
    runningP50Ms: Math.round(percentile(latencies, 50)), runningP99Ms: Math.round(percentile(latencies, 99)),
    secretMs: { p50: percentile(toSecret, 50), p99: percentile(toSecret, 99), max: Math.max(...toSecret) },
    boundBeforeSecret: boundFirst.length, failed: pods.filter(failedPull).map(timeline), kubeletSays, logs,
    pullErrors: [...watch.pullErrors].slice(0, 3), load: [loadBefore, load()],
  };
  await pool(names, IN_FLIGHT, async (name) => {
    await bed.rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch((err: unknown) => { if (!isStatus(err, 404)) throw err; });
  });
  await until('the phase\'s namespaces gone', async () => {
    const list = await bed.rest.call<{ items: unknown[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { labelSelector: `${label}=yes` } });
    return list.items.length === 0;
  }, 600_000, 1000);
  return result;
}

const bed = await freshBed({ registry: true, node: true });
try {
  const { image, host, user } = await pushImage(bed.state, 'inject');
  const source = 'bench-inject-src';
  await create(bed.rest, '/api/v1/namespaces', { metadata: { name: source } });
  await create(bed.rest, `/api/v1/namespaces/${source}/secrets`, registrySecret('registry', host, user));
  const daemon = await startDaemon(bed, [], IMAGE_NODE_FLAGS);
  try {
    for (const phase of phases) console.log(JSON.stringify(await runPhase(bed, phase, image, source)));
  } finally {
    await daemon.stop();
  }
} finally {
  await bed.stop();
}
