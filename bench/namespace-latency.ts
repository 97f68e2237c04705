// Benchmark of SPEC 8's first service level: with 20 resources and 2,000 selected namespaces converged,
// how long a new namespace waits for its Secret (create call returned -> Secret seen by a watch), plus
// the cold convergence time and the daemon's resident memory. Runs the daemon as its own process on the
// local control plane: `npm run bench -- [namespaces] [probes]` (builds first).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../src/kube/rest.ts';
import { installCrd } from '../test/support/daemon.ts';
import { freePort } from '../test/testbed/processes.ts';
import { startTestbed, stopTestbed } from '../test/testbed/testbed.ts';

const root = join(import.meta.dirname, '..');
const NAMESPACES = Number(process.argv[2] ?? 2000);
const PROBES = Number(process.argv[3] ?? 200);
const RESOURCES = 20;
const run = Date.now().toString(36);
const label = `bench-${run}`;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  // A fresh control plane every run: what earlier runs left would be reconciled too and skew the figures.
  const dir = mkdtempSync(join(tmpdir(), 'pullsecret-sync-bench-'));
  const state = await startTestbed({ dir, log: (l) => { console.error(l); } });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const rest = new KubeRest(kc, { qps: 200, burst: 200 });
  await installCrd(kc);
  const src = `bench-src-${run}`;
  await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: src } } });
  await rest.call({ method: 'POST', path: `/api/v1/namespaces/${src}/secrets`, body: { metadata: { name: 'hub' }, type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'docker.io': { username: 'u', password: 'p' } } }) } } });
  for (let i = 0; i < RESOURCES; i++) {
    await rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', body: {
      apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `bench-${run}-${String(i)}` },
      spec: { registry: { credentials: [{ name: 'hub', namespace: src }] },
        target: { namespaces: { labels: [{ matchLabels: { [label]: String(i) } }] }, secret: { name: `pull-${String(i)}` } } } } });
  }
  const seen = new Map<string, number>();
  const watch = new AbortController();
  void rest.watch({ path: '/api/v1/secrets', query: { labelSelector: 'app.kubernetes.io/managed-by=pullsecret-sync', timeoutSeconds: 3600 } }, (e) => {
    const ns = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (e.type === 'ADDED' && ns && !seen.has(ns)) seen.set(ns, performance.now());
  }, watch.signal).catch(() => undefined);
  const ports = [await freePort(), await freePort(), await freePort()];
  // The built daemon (npm run build), as the container image runs it; tsx would add its own memory.
  const daemon = spawn(join(root, 'node_modules/.bin/node'), [join(root, 'dist/main.js'), 'run', `--kubeconfig=${state.kubeconfig}`,
    '--leader-elect=false', `--metrics-addr=127.0.0.1:${String(ports[0])}`, `--health-addr=127.0.0.1:${String(ports[1])}`,
    `--builder-addr=127.0.0.1:${String(ports[2])}`, '--log-level=warn', '--kube-qps=200', '--kube-burst=200'], { stdio: 'inherit' });
  daemon.once('exit', (code) => { if (code !== 0 && code !== null) throw new Error(`the daemon exited with ${String(code)}`); });
  const coldStart = performance.now();
  const names = Array.from({ length: NAMESPACES }, (_, i) => `bench-${run}-${String(i)}`);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map((name, j) => rest.call({ method: 'POST', path: '/api/v1/namespaces',
      body: { metadata: { name, labels: { [label]: String((i + j) % RESOURCES) } } } })));
  }
  while (names.some((n) => !seen.has(n))) await new Promise((r) => setTimeout(r, 50));
  const converged = (performance.now() - coldStart) / 1000;
  const latencies: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const name = `bench-${run}-probe-${String(i)}`;
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels: { [label]: String(i % RESOURCES) } } } });
    const created = performance.now();
    while (!seen.has(name)) await new Promise((r) => setTimeout(r, 1));
    latencies.push((seen.get(name) ?? created) - created);
  }
  const rss = rssMb(daemon.pid ?? 0);
  console.log(JSON.stringify({ namespaces: NAMESPACES, resources: RESOURCES, coldConvergenceSeconds: Number(converged.toFixed(1)),
    newNamespaceToSecretMs: { p50: Number(percentile(latencies, 50).toFixed(1)), p99: Number(percentile(latencies, 99).toFixed(1)),
      max: Number(Math.max(...latencies).toFixed(1)) }, daemonRssMb: Number(rss.toFixed(0)) }));
  daemon.kill('SIGTERM');
  watch.abort();
  rest.close();
  await stopTestbed(state);
  rmSync(dir, { recursive: true, force: true });
}

await main();
