// `npm run testbed -- up [--node] | down | status [--json] | build`: a long-lived bed in .testbed/ for
// development and demos, and the control plane's build on its own (what `npm test` starts early).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { ensureMoto } from './apt.ts';
import { ensureBinaries } from './binaries.ts';
import { adminKubeConfig, ensureNode, isRunning, readState, startTestbed, stopTestbed, type TestbedState } from './testbed.ts';

const root = resolve(process.env.TESTBED_DIR ?? '.testbed');
const stateDir = join(root, 'bed');

const USAGE = `usage: npm run testbed -- <command>
  up [--node]      start a bed in .testbed/ (TESTBED_DIR overrides): control plane, registry, moto;
                   --node adds a real node (containerd, kubelet, kube-scheduler, kube-proxy; needs
                   root; one bed with a node per machine)
  down             stop exactly what up started, node included
  status [--json]  is it running; --json prints the kubeconfig, registry host (and the one pods
                   use), CA and users, and nodes
  build            build the control plane's binaries into the cache and install moto (first run
                   only), then exit`;

async function up(args: string[]): Promise<void> {
  const node = args.includes('--node');
  const existing = readState(stateDir);
  if (existing && isRunning(existing)) {
    console.log(`testbed already running: ${existing.server} (kubeconfig ${join(root, 'kubeconfig')})`);
    if (node && !existing.node) console.log(`node: ${(await ensureNode(existing)).name}`);
    return;
  }
  if (existing) await stopTestbed(existing);
  mkdirSync(root, { recursive: true });
  const state = await startTestbed({ dir: stateDir, registry: true, moto: true, node, log: (l) => { console.log(l); } });
  copyFileSync(state.kubeconfig, join(root, 'kubeconfig'));
  console.log(`kubeconfig: ${join(root, 'kubeconfig')}`);
  console.log(`registry:   ${state.registry?.host ?? '-'} (CA ${state.pki.ca.cert})`);
  console.log(`moto:       ${state.moto?.endpoint ?? '-'}`);
  if (state.node) {
    console.log(`node:       ${state.node.name} (${state.node.address} on bridge ${state.node.bridge})`);
    console.log(`            pods reach the registry at ${state.node.registryHost ?? '-'} and the API server at https://10.0.0.1`);
  }
  console.log(`tests reuse this bed with PULLSECRET_SYNC_TESTBED=${stateDir}`);
}

async function down(): Promise<void> {
  const state = readState(stateDir);
  if (!state) {
    console.log('no testbed');
    return;
  }
  await stopTestbed(state);
  console.log('testbed stopped');
}

async function status(args: string[]): Promise<void> {
  const state = readState(stateDir);
  if (!state) {
    console.log(args.includes('--json') ? JSON.stringify({ running: false }) : 'no testbed');
    process.exitCode = 1;
    return;
  }
  const running = isRunning(state);
  if (args.includes('--json')) {
    console.log(JSON.stringify(await statusJson(state, running), null, 2));
    if (!running) process.exitCode = 1;
    return;
  }
  console.log(`${running ? 'running' : 'stopped'}: Kubernetes ${state.kubernetesVersion} at ${state.server}`);
  for (const p of state.processes) console.log(`  ${p.name} pid ${p.pid}`);
  if (!running) process.exitCode = 1;
}

/** What a script needs to use the bed (a test bed's passwords, never a real one's). */
async function statusJson(state: TestbedState, running: boolean): Promise<object> {
  const nodes = running && state.node ? await nodeConditions(state) : [];
  return {
    running, server: state.server, kubeconfig: state.kubeconfig, kubernetesVersion: state.kubernetesVersion,
    registry: state.registry ? {
      host: state.registry.host, ca: state.registry.caFile, users: state.registry.users,
      // Where the node's pods and its containerd reach the same registry.
      nodeHost: state.node?.registryHost ?? null,
    } : null,
    moto: state.moto?.endpoint ?? null,
    nodes,
  };
}

async function nodeConditions(state: TestbedState): Promise<{ name: string; ready: boolean }[]> {
  const api = adminKubeConfig(state).makeApiClient(CoreV1Api);
  const list = await api.listNode();
  return list.items.map((n) => ({
    name: n.metadata?.name ?? '',
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  }));
}

async function build(): Promise<void> {
  const log = (line: string) => { console.error(`[testbed] ${line}`); };
  // SIGTERM (npm test stopping early, scripts/test.ts) stops the Go build and pip with this process.
  const stop = new AbortController();
  process.once('SIGTERM', () => { stop.abort(); });
  await Promise.all([ensureBinaries(log, { signal: stop.signal }), ensureMoto(log, stop.signal)]);
}

const [command, ...args] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<void>> = { up, down, status, build };
const action = command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
if (command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
} else if (!action) {
  console.error(USAGE);
  process.exitCode = 2;
} else {
  await action(args);
}
