// `npm run demo [-- --node | --no-node]`: the local control plane, the CRD, the examples, the daemon in the
// foreground, and namespaces created one after another so a newcomer sees Secrets appear. Run as root (or
// with --node), the bed also runs its registry and a real node (test/testbed/README.md, "The node"), and
// each namespace gets a pod right behind it that pulls a private image from that registry with the Secret
// the daemon writes: the demo prints how long until the Secrets appeared and until the pod ran (or that
// its pull was refused, in the namespace no resource selects). Ctrl-C ends it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest, isStatus } from '../src/kube/rest.ts';
import { installCrd } from '../test/support/daemon.ts';
import { ensureNode, isRunning, readState, startTestbed, stopTestbed, type TestbedState } from '../test/testbed/testbed.ts';
import { createPod, pushImage, registrySecret, watchPods, type PodWatch } from '../bench/pods.ts';

const USAGE = `usage: npm run demo [-- --node | --no-node]
Starts the local control plane in .testbed/bed (the first run builds it), installs the CRD and the
resources in examples/, runs the daemon in the foreground and creates namespaces one after another,
printing how long each took to get its Secret. Ctrl-C stops the daemon; \`npm run testbed -- down\`
stops the bed.
  --node     also run the bed's registry and a real node (containerd, kubelet, kube-scheduler; needs
             root): each namespace gets a pod right behind it pulling a private image with the Secret
             the daemon writes, and the demo prints how long until the pod ran. The default as root.
  --no-node  Secrets only, no node (the default when not root)`;

const root = join(import.meta.dirname, '..');
const bedDir = join(root, '.testbed', 'bed');
const say = (line: string) => { console.log(`\x1b[36m[demo]\x1b[0m ${line}`); };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The Secret the node demo's resource writes, and how long a pod may take to run or be refused. */
const NODE_SECRET = 'testbed-registry-pull';
const POD_DEADLINE_MS = 60_000;

async function apply(rest: KubeRest, file: string): Promise<void> {
  for (const doc of parseAllDocuments(readFileSync(join(root, file), 'utf8'))) {
    await applyObject(rest, doc.toJS() as DemoObject);
  }
}

interface DemoObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }

async function applyObject(rest: KubeRest, obj: DemoObject): Promise<void> {
  const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
  const plural = `${obj.kind.toLowerCase()}s`;
  const path = obj.metadata.namespace ? `${base}/namespaces/${obj.metadata.namespace}/${plural}` : `${base}/${plural}`;
  await rest.call({ method: 'POST', path, body: obj }).catch((err: unknown) => { if (!isStatus(err, 409)) throw err; });
  say(`applied ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`);
}

async function secretIn(rest: KubeRest, namespace: string, name: string): Promise<boolean> {
  return rest.call({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${name}` }).then(() => true, () => false);
}

/** Polls for Secret `name` in `namespace` for 3 s; says how long after `started` it appeared, or that it did not. */
async function reportSecret(rest: KubeRest, namespace: string, name: string, started: number): Promise<boolean> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !(await secretIn(rest, namespace, name))) await pause(20);
  const at = performance.now();
  const has = await secretIn(rest, namespace, name);
  say(has ? `  -> Secret ${name} present after ${Math.round(at - started)} ms` : `  -> no Secret ${name} (not selected)`);
  return has;
}

/** The bed: the running one if it has what is asked for, else a new one (a running bed without a registry cannot grow one). */
async function bed(node: boolean): Promise<TestbedState> {
  const state = readState(bedDir);
  if (state && isRunning(state) && (!node || state.registry)) {
    if (node && !state.node) say('starting the node (containerd, kubelet, kube-scheduler)');
    return node ? { ...state, node: await ensureNode(state) } : state;
  }
  if (state && isRunning(state)) {
    say('the running bed has no registry, which the node demo needs: stopping it to start one with both');
    await stopTestbed(state);
  }
  say(`starting the local control plane${node ? ', its registry and a node' : ''} (the first run builds it: several minutes)`);
  return startTestbed({ dir: bedDir, registry: node, node, log: say });
}

/**
 * The node demo's own source and resource: the bed registry's login in `registry-access`, written as
 * NODE_SECRET into the namespaces the examples' resource selects. Returns the private image to pull.
 */
async function nodeSetup(rest: KubeRest, state: TestbedState): Promise<string> {
  const { image, host, user } = await pushImage(state, 'demo');
  say(`pushed the private image ${image} (its registry refuses anonymous pulls)`);
  await applyObject(rest, { apiVersion: 'v1', kind: 'Secret', ...registrySecret('testbed-registry', host, user),
    metadata: { name: 'testbed-registry', namespace: 'registry-access' } });
  await applyObject(rest, { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'testbed-registry' },
    spec: { registry: { credentials: [{ name: 'testbed-registry', namespace: 'registry-access' }] },
      target: { namespaces: { names: ['team-a', 'team-b'], labels: [{ matchLabels: { 'registry-access': 'true' } }] }, secret: { name: NODE_SECRET } } } } as DemoObject);
  return image;
}

/**
 * Waits for pod `namespace/name` to run, and says after how long (from `started`). Where its Secret is
 * missing (`selected` false) the first refused pull ends the wait; where it is there, a refused pull means
 * the kubelet looked before the Secret existed, and the pod runs after the kubelet's back-off.
 */
async function reportPod(pods: PodWatch, namespace: string, name: string, started: number, selected: boolean): Promise<void> {
  const deadline = Date.now() + POD_DEADLINE_MS;
  const refused = () => pods.failures(namespace, name).errImagePull > 0;
  while (Date.now() < deadline && !pods.running.has(`${namespace}/${name}`) && !(refused() && !selected)) await pause(20);
  const ran = pods.running.get(`${namespace}/${name}`);
  if (ran !== undefined) {
    say(`  -> pod ${name} Running after ${Math.round(ran - started)} ms${refused() ? ' (its first pull was refused: the kubelet looked before the Secret existed, then backed off)' : ''}`);
  } else {
    say(refused() ? `  -> pod ${name} could not pull the image (ErrImagePull): no credentials here` : `  -> pod ${name} not running after ${POD_DEADLINE_MS / 1000} s`);
  }
}

/** Node mode: --node, --no-node, else whether we run as root (the node needs it). */
function nodeMode(args: string[]): boolean {
  const unknown = args.filter((a) => a !== '--node' && a !== '--no-node');
  if (unknown.length || (args.includes('--node') && args.includes('--no-node'))) throw new Error(`unexpected arguments: ${args.join(' ')}\n${USAGE}`);
  const root = process.getuid?.() === 0;
  if (args.includes('--node') && !root) throw new Error('--node needs root (containerd, the pods\' bridge and cgroups): run the demo as root, or without --node');
  if (args.includes('--no-node') || root) return root && !args.includes('--no-node');
  say('not root: Secrets only, no node and no pods (run as root to see pods pull with them; --help)');
  return false;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const node = nodeMode(args);
  const began = performance.now();
  const state = await bed(node);
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const rest = new KubeRest(kc);
  await installCrd(kc);
  say('CRD imagepullsecrets.pullsecret-sync.dev installed');
  await apply(rest, 'examples/registry-access.yaml');
  await apply(rest, 'examples/platform-registries.yaml');
  const image = node ? await nodeSetup(rest, state) : undefined;
  const pods = node ? watchPods(rest) : undefined;

  say('starting the daemon in the foreground; its JSON logs follow');
  const daemon = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), 'run', '--kubeconfig', state.kubeconfig,
    '--leader-elect=false', '--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', '--builder-addr=127.0.0.1:0'], { stdio: 'inherit' });
  process.on('SIGINT', () => { pods?.stop(); daemon.kill('SIGTERM'); });

  const steps: [string, Record<string, string>][] = [
    ['team-a', {}], ['team-b', {}], ['payments', { 'registry-access': 'true' }], ['sandbox', {}],
  ];
  // A pod name of this run's own, so a second run on the same bed times a new pod.
  const podName = `app-${Date.now().toString(36)}`;
  for (const [name, labels] of steps) {
    await pause(1500);
    const started = performance.now();
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels } } })
      .catch((err: unknown) => { if (!isStatus(err, 409)) throw err; });
    say(`created namespace ${name} ${Object.keys(labels).length ? JSON.stringify(labels) : '(no labels)'}${image ? `, and pod ${podName} right behind it` : ''}`);
    const secrets = Promise.all([reportSecret(rest, name, 'registry-pull-secret', started), ...image ? [reportSecret(rest, name, NODE_SECRET, started)] : []]);
    if (image) await createPod(rest, name, image, NODE_SECRET, podName);
    const [, selected = false] = await secrets;
    if (pods) await reportPod(pods, name, podName, started, selected);
  }
  say(`done in ${Math.round((performance.now() - began) / 1000)} s; try: kubectl --kubeconfig ${state.kubeconfig} label ns sandbox registry-access=true`);
  say('Ctrl-C stops the daemon; `npm run testbed -- down` stops the control plane');
}

await main();
