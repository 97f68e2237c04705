// The testbed: a real Kubernetes control plane (plus, on request, a TLS registry and moto) started once
// per test run or by `npm run testbed -- up`. Its state is a JSON file, so test processes, the CLI and a
// later `down` all see the same bed.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ensurePackages } from './apt.ts';
import { ensureBinaries } from './binaries.ts';
import { NODE_CONTROLLERS, startControlPlane, startControllerManager } from './control-plane.ts';
import { bedNetwork } from './network.ts';
import { startMoto, type MotoInfo } from './moto.ts';
import { startNode, stopNode, trustRegistry, type NodeInfo } from './node.ts';
import { createPki, type Pki } from './pki.ts';
import { ownsProcess, stopProcess } from './processes.ts';
import { startRegistry, type RegistryInfo } from './registry.ts';

export interface TestbedState {
  dir: string;
  kubeconfig: string;
  server: string;
  kubernetesVersion: string;
  etcdVersion: string;
  pki: Pki;
  registry?: RegistryInfo;
  moto?: MotoInfo;
  /** The node, once started (startTestbed with `node`, or ensureNode). */
  node?: NodeInfo;
  processes: { name: string; pid: number; log: string }[];
  startedAt: string;
  readyMs: number;
}

export interface StartOptions {
  dir: string;
  registry?: boolean;
  moto?: boolean;
  /** A real node: containerd, kubelet and kube-scheduler (node.ts). Needs root. */
  node?: boolean;
  log?: (line: string) => void;
}

export const STATE_ENV = 'PULLSECRET_SYNC_TESTBED';

function stateFile(dir: string): string {
  return join(dir, 'state.json');
}

export async function startTestbed(opts: StartOptions): Promise<TestbedState> {
  const log = opts.log ?? (() => undefined);
  const dir = resolve(opts.dir);
  ensurePackages(['openssl', 'skopeo', 'docker-registry', 'htpasswd', 'prometheus', 'promtool'], log);
  const binaries = await ensureBinaries(log);
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const pki = await createPki(join(dir, 'pki'), bedNetwork(dir).address);
  const state: TestbedState = {
    dir, kubeconfig: '', server: '', kubernetesVersion: binaries.kubernetesVersion, etcdVersion: binaries.etcdVersion,
    pki, processes: [], startedAt: new Date().toISOString(), readyMs: 0,
  };
  try {
    const cp = await startControlPlane(join(dir, 'control-plane'), binaries, pki, bedNetwork(dir).address);
    state.processes.push(...cp.processes);
    state.kubeconfig = cp.kubeconfig;
    state.server = cp.server;
    if (opts.registry) {
      state.registry = await startRegistry({
        dir: join(dir, 'registry'), ca: pki.ca.cert, cert: pki.registry.cert, key: pki.registry.key,
        users: [{ username: 'testbed', password: `pw-${Math.random().toString(36).slice(2)}` }],
      });
      state.processes.push({ name: 'docker-registry', pid: state.registry.pid, log: join(dir, 'registry', 'registry.log') });
    }
    if (opts.moto) {
      const moto = await startMoto(dir);
      state.moto = moto.info;
      state.processes.push(moto.proc);
    }
    if (opts.node) await addNode(state, log);
  } catch (err) {
    await stopTestbed(state);
    throw err;
  }
  state.readyMs = Date.now() - started;
  saveState(state);
  log(`testbed ready in ${state.readyMs} ms: Kubernetes ${state.kubernetesVersion}, etcd ${state.etcdVersion}`);
  return state;
}

/** Starts the node into `state` (which must not have one) and saves the state. */
async function addNode(state: TestbedState, log: (line: string) => void): Promise<NodeInfo> {
  await restartControllerManager(state, NODE_CONTROLLERS);
  const node = await startNode({
    dir: join(state.dir, 'node'), bedDir: state.dir, kubeconfig: state.kubeconfig, pki: state.pki, log,
    apiserverPort: Number(new URL(state.server).port),
    ...(state.registry ? { registryPort: Number(new URL(state.registry.url).port) } : {}),
  });
  state.node = node;
  if (state.registry) trustRegistry(node, state.registry.host, state.registry.caFile);
  if (state.registry && node.registryHost) trustRegistry(node, node.registryHost, state.registry.caFile);
  saveState(state);
  return node;
}

/** Replaces the bed's controller manager with one running `controllers`; the rest of its flags stay. */
async function restartControllerManager(state: TestbedState, controllers: string[]): Promise<void> {
  const old = state.processes.find((p) => p.name === 'kube-controller-manager');
  if (!old) throw new Error('the bed has no kube-controller-manager');
  if (ownsProcess(old.pid, state.dir)) await stopProcess(old.pid);
  const again = await startControllerManager(join(state.dir, 'control-plane'), await ensureBinaries(), state.pki, state.kubeconfig, controllers);
  state.processes = state.processes.map((p) => (p === old ? again : p));
  saveState(state);
}

/**
 * The bed's node, started on first use: a test file that runs pods calls this first, so a run that
 * needs no node never builds or starts one. The bed's teardown stops it with the rest.
 */
export async function ensureNode(state: TestbedState = currentTestbed()): Promise<NodeInfo> {
  return state.node ?? addNode(state, (line) => { console.error(`[testbed] ${line}`); });
}

/** Stops exactly the processes this bed started (checked by pid and state directory), newest first. */
export async function stopTestbed(state: TestbedState): Promise<void> {
  if (state.node) await stopNode(state.node, state.dir);
  for (const proc of [...state.processes].reverse()) {
    if (ownsProcess(proc.pid, state.dir)) await stopProcess(proc.pid);
  }
}

/** Writes the state file atomically (a reader never sees half of it). */
export function saveState(state: TestbedState): void {
  const file = stateFile(state.dir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
}

export function readState(dir: string): TestbedState | undefined {
  const file = stateFile(resolve(dir));
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TestbedState;
}

export function isRunning(state: TestbedState): boolean {
  return state.processes.every((p) => ownsProcess(p.pid, state.dir));
}

/** The bed of this test run, from the state directory the global setup exported. */
export function currentTestbed(): TestbedState {
  const dir = process.env[STATE_ENV];
  const state = dir ? readState(dir) : undefined;
  if (!state) throw new Error(`no testbed: ${STATE_ENV} is unset or stale; run tests through npm test`);
  return state;
}

export function adminKubeConfig(state: TestbedState = currentTestbed()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  return kc;
}
