// What moving a namespace's reconcile to the front of the queue buys. The webhook engine, when it admits
// a pod into a selected namespace whose Secret is not written yet, puts that namespace first in the
// leader's queue; the policy engine runs inside the API server and tells the daemon nothing, so the
// namespace waits its turn. The turn only matters behind a backlog, so: a fresh bed (no node; pods stay
// Pending), B namespaces one resource selects and injects into, its Secrets all written; then the source
// Secret is edited (B Secrets to rewrite, at the daemon's --kube-qps) and, while the daemon works through
// them, P new namespaces are created one a second, each with a pod right behind it naming no pull Secret.
// Per engine: how long each new namespace waited for its Secret (from the namespace's create call, and
// from its pod's admission), whether its pod got the entry, and how long the backlog took to drain.
// `npm run bench:hurry -- [backlog=1000] [probes=10] [--engines=webhook,policy]`
import { join } from 'node:path';
import { isStatus, type KubeRest } from '../src/kube/rest.ts';
import { freePort } from '../test/testbed/processes.ts';
import { countManagedSecrets, create, createSource, freshBed, IMAGE_NODE_FLAGS, load, pool, root, SOURCE, startDaemon, until, type Bed, type DaemonProcess } from './support.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench:hurry -- [backlog=1000] [probes=10] [--engines=webhook,policy]
Per engine, a fresh bed without a node: B selected namespaces with their Secrets written, then the source
edited (B rewrites queued) and P new namespaces created one a second, each with a pod right behind it.
Prints how long each new namespace waited for its Secret, from the namespace and from its pod's
admission, and how long the backlog took; one JSON line per engine on stdout.`);
  process.exit(0);
}
const positional = args.filter((a) => !a.startsWith('--'));
const BACKLOG = Number(positional[0] ?? 1000);
const PROBES = Number(positional[1] ?? 10);
const ENGINES = (args.find((a) => a.startsWith('--engines='))?.slice('--engines='.length) ?? 'webhook,policy').split(',');
for (const e of ENGINES) if (e !== 'webhook' && e !== 'policy') throw new Error(`--engines: ${e} is not one of webhook, policy`);
if (!Number.isInteger(BACKLOG) || BACKLOG < 1 || !Number.isInteger(PROBES) || PROBES < 1) throw new Error('backlog and probes must be positive integers (see --help)');

const LABEL = 'bench-hurry';
const OWN = 'bench-own';
const SECRET = 'pull';
const IPS = '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets';
const MANAGED = 'app.kubernetes.io/managed-by=pullsecret-sync';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const ms = (x: number) => Math.round(x);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface PodObject { spec?: { imagePullSecrets?: { name: string }[] } }

/** Creates a pod naming no pull Secret, retried while the namespace's default ServiceAccount is missing (403). */
async function createPod(rest: KubeRest, namespace: string): Promise<PodObject> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await rest.call<PodObject>({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`,
        body: { metadata: { name: 'app' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } });
    } catch (err) {
      if (!isStatus(err, 403) || Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

/** When each managed Secret was last written (performance.now()), by namespace, from a watch. */
function watchSecrets(rest: KubeRest): { written: Map<string, number>; stop(): void } {
  const written = new Map<string, number>();
  const stop = new AbortController();
  void rest.watch({ path: '/api/v1/secrets', query: { labelSelector: MANAGED, timeoutSeconds: 3600 } }, (e) => {
    if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
    const ns = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (ns) written.set(ns, performance.now());
  }, stop.signal).catch(() => undefined);
  return { written, stop: () => { stop.abort(); } };
}

async function run(engine: string): Promise<void> {
  const bed: Bed = await freshBed();
  let daemon: DaemonProcess | undefined;
  const secrets = watchSecrets(bed.rest);
  try {
    await createSource(bed.rest);
    await create(bed.rest, '/api/v1/namespaces', { metadata: { name: OWN } });
    const backlog = Array.from({ length: BACKLOG }, (_, i) => `hurry-bl-${String(i)}`);
    await pool(backlog, 20, (ns) => create(bed.rest, '/api/v1/namespaces', { metadata: { name: ns, labels: { [LABEL]: 'yes' } } }));
    const port = await freePort();
    daemon = await startDaemon(bed, [`--namespace=${OWN}`, `--admission-engine=${engine}`, ...(engine === 'webhook'
      ? [`--webhook-addr=127.0.0.1:${String(port)}`, `--webhook-url=https://127.0.0.1:${String(port)}`] : [])], IMAGE_NODE_FLAGS, join(root, 'dist/main.js'));
    await create(bed.rest, IPS, { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'hurry' },
      spec: { registry: { credentials: [{ ...SOURCE }] }, target: { namespaces: { labels: [{ matchLabels: { [LABEL]: 'yes' } }] }, secret: { name: SECRET }, pods: { inject: true } } } });
    await until(`${String(BACKLOG)} Secrets written`, async () => (await countManagedSecrets(bed.rest)) === BACKLOG, 300_000, 500);
    // The policy reaches the API server's admission a moment after it is written: wait until it injects.
    await until('admission injects', async () => {
      const pod = await bed.rest.call<PodObject>({ method: 'POST', path: `/api/v1/namespaces/${backlog[0] ?? ''}/pods`, query: { dryRun: 'All' },
        body: { metadata: { name: 'probe' }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } }).catch(() => undefined);
      return (pod?.spec?.imagePullSecrets ?? []).some((e) => e.name === SECRET);
    }, 60_000, 200);

    const loadBefore = load();
    const edited = performance.now();
    const auth = Buffer.from('u:rotated').toString('base64');
    await bed.rest.call({ method: 'PATCH', path: `/api/v1/namespaces/${SOURCE.namespace}/secrets/${SOURCE.name}`, contentType: 'application/merge-patch+json',
      body: { stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example.com': { username: 'u', password: 'rotated', auth } } }) } } });
    // The probes start once the daemon is rewriting, so each lands behind what is left of the backlog.
    await until('the first rewrite', () => backlog.some((ns) => (secrets.written.get(ns) ?? 0) > edited), 60_000, 20);
    const probes = await Promise.all(Array.from({ length: PROBES }, async (_, i) => {
      await sleep(i * 1000);
      const ns = `hurry-new-${String(i)}`;
      const sent = performance.now();
      await create(bed.rest, '/api/v1/namespaces', { metadata: { name: ns, labels: { [LABEL]: 'yes' } } });
      const pod = await createPod(bed.rest, ns);
      const admitted = performance.now();
      const injected = (pod.spec?.imagePullSecrets ?? []).some((e) => e.name === SECRET);
      return { ns, sent, admitted, injected, left: backlog.filter((b) => (secrets.written.get(b) ?? 0) <= edited).length };
    }));
    await until('every new namespace\'s Secret and the whole backlog rewritten',
      () => probes.every((p) => secrets.written.has(p.ns)) && backlog.every((ns) => (secrets.written.get(ns) ?? 0) > edited), 600_000, 100);
    const drained = Math.max(...backlog.map((ns) => secrets.written.get(ns) ?? 0)) - edited;
    const fromNs = probes.map((p) => (secrets.written.get(p.ns) ?? 0) - p.sent);
    const fromPod = probes.map((p) => (secrets.written.get(p.ns) ?? 0) - p.admitted);
    const out = {
      engine, backlog: BACKLOG, probes: PROBES, backlogDrainedMs: ms(drained),
      backlogLeftAtProbe: probes.map((p) => p.left),
      injected: probes.filter((p) => p.injected).length,
      namespaceToSecretP50Ms: ms(pct(fromNs, 0.5)), namespaceToSecretMaxMs: ms(Math.max(...fromNs)),
      admittedToSecretP50Ms: ms(pct(fromPod, 0.5)), admittedToSecretMaxMs: ms(Math.max(...fromPod)),
      secretBeforeAdmission: fromPod.filter((t) => t <= 0).length,
      load: [loadBefore, load()],
    };
    console.error(`${engine}: backlog of ${String(BACKLOG)} rewritten in ${String(out.backlogDrainedMs)} ms; ${String(out.injected)} of ${String(PROBES)} pods injected; `
      + `new namespace -> its Secret p50 ${String(out.namespaceToSecretP50Ms)} ms, max ${String(out.namespaceToSecretMaxMs)} ms; `
      + `pod admitted -> Secret p50 ${String(out.admittedToSecretP50Ms)} ms, max ${String(out.admittedToSecretMaxMs)} ms `
      + `(${String(out.secretBeforeAdmission)} written before the pod's admission); load ${String(loadBefore)} -> ${String(load())}`);
    console.log(JSON.stringify(out));
  } finally {
    secrets.stop();
    await daemon?.stop();
    await bed.stop();
  }
}

for (const engine of ENGINES) await run(engine);
