// Faults a test can inject into the bed's control plane: kill and restart the API server with the same
// flags, freeze and thaw it, compact etcd, and reach the API server through a pausable proxy. Each
// control updates the bed's state file, so later tests and the teardown see the current pids.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeconfigYaml, adminGet } from './control-plane.ts';
import { isAlive, ownsProcess, startProcess, waitFor, type Started } from './processes.ts';
import { startPausableProxy, type PausableProxy } from './proxy.ts';
import { currentTestbed, saveState, type TestbedState } from './testbed.ts';

function processOf(state: TestbedState, name: string): Started {
  const proc = state.processes.find((p) => p.name === name);
  if (!proc || !ownsProcess(proc.pid, state.dir)) throw new Error(`${name} of the bed in ${state.dir} is not running`);
  return proc;
}

async function exited(pid: number): Promise<void> {
  await waitFor(`process ${pid} to exit`, () => Promise.resolve(!isAlive(pid)), 10_000);
}

/** Waits until the API server answers /readyz with 200. */
export async function waitApiserverReady(state: TestbedState = currentTestbed(), timeoutMs = 120_000): Promise<void> {
  await waitFor('kube-apiserver /readyz', async () => (await adminGet(state.server, state.pki, '/readyz')) === 200, timeoutMs);
}

/**
 * SIGKILLs the kube-apiserver (no graceful shutdown: open connections are reset) and starts it again with
 * the same binary, flags and port; resolves once it is ready. Returns the milliseconds it was down.
 */
export async function restartApiserver(state: TestbedState = currentTestbed()): Promise<number> {
  const proc = processOf(state, 'kube-apiserver');
  if (!proc.command || !proc.args) throw new Error('kube-apiserver was started without a recorded command line');
  const started = Date.now();
  process.kill(proc.pid, 'SIGKILL');
  await exited(proc.pid);
  const again = startProcess(proc.name, proc.command, proc.args, proc.log);
  state.processes = state.processes.map((p) => (p === proc ? again : p));
  saveState(state);
  await waitFor('kube-apiserver after restart', async () => (await adminGet(state.server, state.pki, '/readyz')) === 200, 120_000, again);
  return Date.now() - started;
}

/** SIGSTOP: the process holds its connections open and answers nothing, not even TCP-level keep-alives' peers. */
export function freeze(name: string, state: TestbedState = currentTestbed()): void {
  process.kill(processOf(state, name).pid, 'SIGSTOP');
}

export function thaw(name: string, state: TestbedState = currentTestbed()): void {
  process.kill(processOf(state, name).pid, 'SIGCONT');
}

function etcdUrl(state: TestbedState): string {
  const arg = processOf(state, 'etcd').args?.find((a) => a.startsWith('--listen-client-urls='));
  if (!arg) throw new Error('etcd was started without a recorded --listen-client-urls');
  return arg.slice('--listen-client-urls='.length);
}

async function etcdPost<T>(state: TestbedState, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${etcdUrl(state)}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Compacts etcd at its current revision through its gRPC gateway (etcdctl is not built), so every watch
 * resuming from an older resourceVersion gets 410 Gone. Returns the revision compacted at.
 */
export async function compactEtcd(state: TestbedState = currentTestbed()): Promise<number> {
  // A range over one key answers with the store's current revision in its header.
  const range = await etcdPost<{ header: { revision: string } }>(state, '/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  const revision = Number(range.header.revision);
  await etcdPost(state, '/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/** A pausable proxy in front of the API server and an admin kubeconfig that goes through it. */
export async function apiserverProxy(dir: string, state: TestbedState = currentTestbed()): Promise<{ proxy: PausableProxy; kubeconfig: string }> {
  const server = new URL(state.server);
  const proxy = await startPausableProxy({ host: server.hostname, port: Number(server.port) });
  const kubeconfig = join(dir, `kubeconfig-proxy-${proxy.port}`);
  writeFileSync(kubeconfig, kubeconfigYaml(`https://127.0.0.1:${proxy.port}`, state.pki), { mode: 0o600 });
  return { proxy, kubeconfig };
}
