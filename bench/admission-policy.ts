// What the policy engine adds to a pod creation (docs/adr/0008-admission-engines.md): on a fresh control
// plane, with R resources that inject (each selecting by name, labels, annotations and pod labels, so one
// policy per resource), 1,000 pods are dry-run created at 50 a second into a namespace one of them
// selects (every pod is mutated). The API server's own histogram of its MutatingAdmissionPolicy plugin
// (apiserver_admission_controller_admission_duration_seconds) gives the added latency: its buckets are
// coarse (5 ms, 25 ms, 100 ms), its sum/count gives the mean. The client's round trip is printed beside.
// Usage: node --import tsx bench/admission-policy.ts [resources...]   (default 0 1 20 200)
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { ImagePullSecretSpec } from '../src/api/v1alpha1/types.ts';
import { parseConfig } from '../src/daemon/config.ts';
import { startDaemon } from '../src/daemon/run.ts';
import { createLogger } from '../src/log/logger.ts';
import { ensureKubectl } from '../test/testbed/binaries.ts';
import { createSource, freshBed, SOURCE, type Bed } from './support.ts';

const PODS = 1000;
const RATE = 50;
const TEAM = 'team-0';

interface Histogram { buckets: Map<string, number>; sum: number; count: number }

async function pluginHistogram(bed: Bed): Promise<Histogram> {
  const kubectl = await ensureKubectl();
  const { stdout: text } = await promisify(execFile)(kubectl, ['--kubeconfig', bed.state.kubeconfig, 'get', '--raw', '/metrics'], { maxBuffer: 64 << 20 });
  const series = '{name="MutatingAdmissionPolicy",operation="CREATE",rejected="false",type="admit"';
  const buckets = new Map<string, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.includes(series)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (line.startsWith('apiserver_admission_controller_admission_duration_seconds_bucket') && le) buckets.set(le, value);
    else if (line.startsWith('apiserver_admission_controller_admission_duration_seconds_sum')) sum = value;
    else if (line.startsWith('apiserver_admission_controller_admission_duration_seconds_count')) count = value;
  }
  return { buckets, sum, count };
}

const spec = (i: number): ImagePullSecretSpec => ({
  registry: { credentials: [{ ...SOURCE }] },
  target: {
    namespaces: { names: [`team-${String(i)}`], labels: [{ matchLabels: { team: String(i) } }], annotations: [{ matchAnnotations: { owner: String(i) } }] },
    namespacesWithPods: { labels: [{ matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [String(i)] }] }] },
    secret: { name: `pull-${String(i % 10)}` }, pods: { inject: true },
  },
});

const pod = (i: number) => ({ metadata: { name: `web-${String(i)}`, labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'r.example/app:1' }], imagePullSecrets: [{ name: 'own' }] } });

async function dryRun(bed: Bed, i: number): Promise<string[]> {
  const created = await bed.rest.call<{ spec: { imagePullSecrets?: { name: string }[] } }>({ method: 'POST',
    path: `/api/v1/namespaces/${TEAM}/pods`, query: { dryRun: 'All' }, body: pod(i) });
  return (created.spec.imagePullSecrets ?? []).map((e) => e.name);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function round(bed: Bed, resources: number): Promise<void> {
  const names = Array.from({ length: resources }, (_, i) => `bench-${String(resources)}-${String(i)}`);
  for (const [i, name] of names.entries()) {
    await bed.rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets',
      body: { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name }, spec: spec(i) } });
  }
  const want = resources ? ['own', 'pull-0'] : ['own'];
  const deadline = Date.now() + 60_000;
  while ((await dryRun(bed, -1)).join() !== want.join()) {
    if (Date.now() > deadline) throw new Error(`the policies of ${String(resources)} resources did not apply within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const before = await pluginHistogram(bed);
  const took: number[] = [];
  const start = performance.now();
  let wrong = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  await Promise.all(Array.from({ length: PODS }, async (_, i) => {
    const due = start + (i * 1000) / RATE;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    const t = performance.now();
    try {
      if ((await dryRun(bed, i)).join() !== want.join()) wrong += 1;
    } catch (err) {
      failed += 1;
      firstFailure ??= err instanceof Error ? err.message : String(err);
    }
    took.push(performance.now() - t);
  }));
  const seconds = (performance.now() - start) / 1000;
  const after = await pluginHistogram(bed);
  const count = after.count - before.count;
  const within = (le: string) => ((after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0)) / count;
  took.sort((a, b) => a - b);
  console.log(`| ${String(resources)} | ${String(count)} at ${(PODS / seconds).toFixed(0)}/s | ${((1000 * (after.sum - before.sum)) / count).toFixed(2)} ms `
    + `| ${(100 * within('0.005')).toFixed(2)} % | ${(100 * within('0.025')).toFixed(2)} % | ${percentile(took, 0.5).toFixed(1)} / ${percentile(took, 0.99).toFixed(1)} ms `
    + `| ${String(wrong)} | ${String(failed)} | ${loadavg()[0]?.toFixed(1) ?? ''} |`);
  if (firstFailure) console.log(`first failure: ${firstFailure.slice(0, 500)}`);
  for (const name of names) await bed.rest.call({ method: 'DELETE', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${name}` });
}

const bed = await freshBed();
try {
  await createSource(bed.rest);
  await bed.rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: TEAM, labels: { team: '0' } } } });
  await bed.rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'pullsecret-sync' } } });
  const config = parseConfig(['--kubeconfig', bed.state.kubeconfig, '--leader-elect=false', '--admission-engine=policy',
    '--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', '--builder-addr=127.0.0.1:0'], {});
  const daemon = await startDaemon(config, createLogger('warn'));
  // The namespace's default ServiceAccount, which admission needs, comes from the controller manager.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try { await dryRun(bed, -1); break; } catch (err) { if (Date.now() > deadline) throw err; await new Promise((r) => setTimeout(r, 200)); }
  }
  console.log('| resources | pods admitted | mean in the policy plugin | ≤ 5 ms | ≤ 25 ms | client round trip p50 / p99 | wrong answers | failed | load |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  try {
    for (const r of (process.argv.slice(2).length ? process.argv.slice(2) : ['0', '1', '20', '200']).map(Number)) await round(bed, r);
  } finally {
    await daemon.stop();
  }
} finally {
  await bed.stop();
}
