// What injection at pod admission adds to a pod creation, read from the API server's own admission
// metrics: a fresh bed (no node; pods stay Pending), then pods created open-loop at a steady rate (each
// creation scheduled on a clock, not after the previous answer) into namespaces half of which the
// resources select, once per phase:
//   none     no engine: what a pod creation costs the API server alone;
//   webhook  the built daemon, --admission-engine=webhook, served on loopback and named by URL (as
//            test/integration/admission-webhook.test.ts does; one replica: two cannot share one URL);
//   policy   the built daemon, --admission-engine=policy (MutatingAdmissionPolicy in the API server);
//   floor    the least a webhook can be (parse, answer): bench/floor-webhook.ts (node:http2) and
//            bench/floor-webhook-go (net/http), each registered with the daemon's own
//            MutatingWebhookConfiguration: what calling any webhook costs on this machine.
// Each engine phase runs with 1 and with 20 resources that inject. Before and after each phase the API
// server's /metrics (admin certificate) and the daemon's are scraped; p50/p99 come from the difference of
// the histograms' buckets, with the bucket bounds each lies between. The client's create latency (from
// the request sent to the answer) is recorded per creation. Between phases the pods are deleted.
// `npm run bench:admission -- [--rate=200] [--seconds=30] [--resources=1,20] [--phases=none,webhook,policy,floor] [--floors=node,go] [--dump-metrics=PREFIX]`
import { execFile, spawn } from 'node:child_process';
import { request } from 'node:https';
import { connect } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isStatus } from '../src/kube/rest.ts';
import { desiredConfiguration } from '../src/webhook/configuration.ts';
import { issueServing } from '../test/testbed/pki.ts';
import { freePort } from '../test/testbed/processes.ts';
import { buckets, counter, describe, difference, quantile, type Buckets } from './histogram.ts';
import { create, createSource, freshBed, IMAGE_NODE_FLAGS, load, root, SOURCE, startDaemon, until, type Bed, type DaemonProcess } from './support.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench:admission -- [--rate=200] [--seconds=30] [--resources=1,20] [--phases=none,webhook,policy,floor] [--floors=node,go] [--dump-metrics=PREFIX]
A fresh bed without a node; pods created open-loop at --rate per second for --seconds per phase into
namespaces half of which are selected. Phases: none (no injection), webhook and policy (the built daemon
with --admission-engine=webhook or policy, once per resource count) and floor (a webhook that only
parses and answers, registered as the daemon registers its own: bench/floor-webhook.ts in Node and
bench/floor-webhook-go, built with the machine's go, once each of --floors). Prints per phase the API server's
admission histograms (p50/p99 with the bucket bounds), the daemon's own histogram (webhook), and the
client's create latency p50/p99; one JSON line per phase on stdout.`);
  process.exit(0);
}
const option = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const RATE = Number(option('rate', '200'));
const SECONDS = Number(option('seconds', '30'));
const COUNTS = option('resources', '1,20').split(',').map(Number);
/** Where to write the API server's /metrics text after each phase (`<prefix>.<phase>.txt`), if anywhere. */
const DUMP = option('dump-metrics', '');
const PHASES = option('phases', 'none,webhook,policy').split(',');
for (const p of PHASES) if (!['none', 'webhook', 'policy', 'floor'].includes(p)) throw new Error(`--phases: ${p} is not one of none, webhook, policy, floor`);
const FLOORS = option('floors', 'node,go').split(',');
for (const f of FLOORS) if (!['node', 'go'].includes(f)) throw new Error(`--floors: ${f} is not one of node, go`);
if (!(RATE > 0) || !(SECONDS > 0) || COUNTS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--rate, --seconds and --resources must be positive numbers (see --help)');

const SELECTED = 20;
const UNSELECTED = 20;
const LABEL = 'bench-admission';
const OWN = 'bench-own';
const IPS = '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets';
const WEBHOOK = 'pods.pullsecret-sync.dev';
const selectedNs = Array.from({ length: SELECTED }, (_, i) => `adm-sel-${String(i)}`);
const unselectedNs = Array.from({ length: UNSELECTED }, (_, i) => `adm-unsel-${String(i)}`);
/** Pods alternate between a selected and an unselected namespace. */
const namespaces = selectedNs.flatMap((s, i) => [s, unselectedNs[i] ?? s]);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const ms = (x: number) => Number(x.toFixed(1));

function apiMetrics(bed: Bed): Promise<string> {
  const { pki, server } = bed.state;
  return new Promise((resolve, reject) => {
    const req = request(`${server}/metrics`, { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.admin.cert), key: readFileSync(pki.admin.key), timeout: 60_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => { resolve(text); });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('GET /metrics: timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The API server's histograms a phase reads: the webhook's call, the MutatingAdmissionPolicy plugin, the whole admit step. */
const API_HISTOGRAMS: [string, string, Record<string, string>][] = [
  ['webhook call', 'apiserver_admission_webhook_admission_duration_seconds', { name: WEBHOOK, operation: 'CREATE', type: 'admit' }],
  ['MutatingAdmissionPolicy plugin', 'apiserver_admission_controller_admission_duration_seconds', { name: 'MutatingAdmissionPolicy', operation: 'CREATE', type: 'admit' }],
  ['MutatingAdmissionWebhook plugin', 'apiserver_admission_controller_admission_duration_seconds', { name: 'MutatingAdmissionWebhook', operation: 'CREATE', type: 'admit' }],
  ['admit step', 'apiserver_admission_step_admission_duration_seconds', { operation: 'CREATE', type: 'admit' }],
];

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/app:1' }] } });

/** Creates pods open-loop: creation i is sent at start + i/RATE whatever earlier ones do. */
async function generate(bed: Bed, phase: string): Promise<{ latencies: number[]; failed: number; maxLateMs: number; mutated: number }> {
  const total = Math.round(RATE * SECONDS);
  const latencies: number[] = [];
  let failed = 0;
  let mutated = 0;
  let maxLateMs = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    maxLateMs = Math.max(maxLateMs, performance.now() - due);
    const ns = namespaces[i % namespaces.length] ?? '';
    const sent = performance.now();
    inFlight.push(bed.rest.call<{ spec: { imagePullSecrets?: unknown[] } }>({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods`, body: pod(`${phase}-${String(i)}`) })
      .then((p) => { latencies.push(performance.now() - sent); if (p.spec.imagePullSecrets?.length) mutated++; }, () => { failed++; }));
  }
  await Promise.all(inFlight);
  return { latencies, failed, maxLateMs, mutated };
}

async function deletePods(bed: Bed): Promise<void> {
  for (const ns of namespaces) await bed.rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/pods`, query: { gracePeriodSeconds: 0 } });
}

let generation = 0;

/** The labels of the selected namespaces resource i of `count` selects: every selected namespace is selected by one. */
const shareOf = (i: number, count: number): string[] => selectedNs.map((_, j) => j).filter((j) => j % count === i).map(String);

/**
 * Replaces the resources by `count` new ones (new names: a deleted resource lingers while the daemon
 * finalizes it) that together select every selected namespace, and waits until the old ones are gone.
 */
async function setResources(bed: Bed, count: number, inject: boolean): Promise<void> {
  const list = async () => {
    for (;;) {
      // A CRD just installed answers 429 while its storage initializes.
      const got = await bed.rest.call<{ items: { metadata: { name: string } }[] }>({ method: 'GET', path: IPS }).catch((err: unknown) => {
        if (isStatus(err, 429)) return undefined;
        throw err;
      });
      if (got) return got.items.map((item) => item.metadata.name);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const old = await list();
  for (const name of old) await bed.rest.call({ method: 'DELETE', path: `${IPS}/${name}` }).catch(() => undefined);
  generation++;
  for (let i = 0; i < count; i++) {
    await create(bed.rest, IPS, { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `adm-${String(generation)}-${String(i)}` },
      spec: { registry: { credentials: [{ ...SOURCE }] }, target: { namespaces: { labels: [{ matchExpressions: [{ key: LABEL, operator: 'In', values: shareOf(i, count) }] }] },
        secret: { name: `pull-${String(i)}` }, ...(inject ? { pods: { inject: true } } : {}) } } });
  }
  await until('the previous resources finalized', async () => (await list()).every((name) => !old.includes(name)), 60_000, 200);
}

/** Waits until a dry-run pod in the selected namespace of every resource comes back with its entry. */
async function injecting(bed: Bed, count: number): Promise<void> {
  for (let i = 0; i < Math.min(count, SELECTED); i++) {
    const ns = selectedNs[i] ?? '';
    await until(`injection into ${ns}`, async () => {
      const p = await bed.rest.call<{ spec: { imagePullSecrets?: { name: string }[] } }>({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods`,
        query: { dryRun: 'All' }, body: pod('probe') }).catch(() => undefined);
      return (p?.spec.imagePullSecrets ?? []).some((e) => e.name === `pull-${String(i)}`);
    }, 60_000, 200);
  }
}

async function measure(bed: Bed, phase: string, daemon: DaemonProcess | undefined): Promise<void> {
  const [apiBefore, ownBefore] = [await apiMetrics(bed), await daemon?.metrics() ?? ''];
  const loadBefore = load();
  const run = await generate(bed, phase.replace(/[^a-z0-9]/g, ''));
  const [apiAfter, ownAfter] = [await apiMetrics(bed), await daemon?.metrics() ?? ''];
  if (DUMP) writeFileSync(`${DUMP}.${phase.replace(/[^a-z0-9]+/g, '-')}.txt`, apiAfter);
  const out: Record<string, unknown> = { phase, rate: RATE, seconds: SECONDS, created: run.latencies.length, failed: run.failed, mutated: run.mutated,
    senderMaxLateMs: ms(run.maxLateMs), clientP50Ms: ms(pct(run.latencies, 0.5)), clientP99Ms: ms(pct(run.latencies, 0.99)), clientMaxMs: ms(Math.max(...run.latencies)),
    load: [loadBefore, load()] };
  console.error(`${phase}: ${String(run.latencies.length)} created (${String(run.failed)} failed, ${String(run.mutated)} mutated), sender at most ${String(ms(run.maxLateMs))} ms late; `
    + `client create p50 ${String(out.clientP50Ms)} ms, p99 ${String(out.clientP99Ms)} ms, max ${String(out.clientMaxMs)} ms; load ${String(loadBefore)} -> ${String(load())}`);
  const report = (label: string, diff: Buckets) => {
    const [p50, p99] = [quantile(diff, 0.5), quantile(diff, 0.99)];
    if (!p50) return;
    console.error(`  ${label}: ${describe('p50', p50)}; ${describe('p99', p99)}`);
    out[label] = { p50: p50, p99 };
  };
  const calls = (m: string, code?: string) => counter(m, 'apiserver_admission_webhook_request_total', { name: WEBHOOK, ...(code ? { code } : {}) });
  const failOpen = (m: string) => counter(m, 'apiserver_admission_webhook_fail_open_count', { name: WEBHOOK });
  if (calls(apiAfter) > calls(apiBefore)) {
    out.webhookCalls = calls(apiAfter) - calls(apiBefore);
    out.webhookCalls200 = calls(apiAfter, '200') - calls(apiBefore, '200');
    out.webhookFailOpen = failOpen(apiAfter) - failOpen(apiBefore);
    console.error(`  webhook calls ${String(out.webhookCalls)}, answered 200: ${String(out.webhookCalls200)}, failed open (pod admitted unchanged): ${String(out.webhookFailOpen)}`);
  }
  for (const [label, name, match] of API_HISTOGRAMS) report(`apiserver ${label}`, difference(buckets(apiAfter, name, match), buckets(apiBefore, name, match)));
  if (daemon) report('daemon admission_duration', difference(buckets(ownAfter, 'pullsecret_sync_admission_duration_seconds'), buckets(ownBefore, 'pullsecret_sync_admission_duration_seconds')));
  console.log(JSON.stringify(out));
}

let goFloorBuilt: Promise<string> | undefined;

/** bench/floor-webhook-go built into the bed's folder, once per run. */
function goFloor(bed: Bed): Promise<string> {
  const binary = join(bed.state.dir, 'floor-webhook-go');
  return goFloorBuilt ??= promisify(execFile)('go', ['build', '-o', binary, '.'], { cwd: join(root, 'bench/floor-webhook-go') }).then(() => binary);
}

/**
 * The floor phase: a webhook that only answers (`impl`: bench/floor-webhook.ts, or bench/floor-webhook-go
 * built into the bed's folder) behind the configuration the daemon would write for one resource injecting
 * `pull-0` (the same selectors, match conditions and timeout), measured like the others.
 */
async function floor(bed: Bed, impl: string): Promise<void> {
  const port = await freePort();
  const { cert, key } = await issueServing(bed.state.dir, 'floor-webhook', bed.state.pki.ca);
  const flags = [`--port=${String(port)}`, `--cert=${cert}`, `--key=${key}`, '--selected-prefix=adm-sel-', '--secret=pull-0'];
  let child;
  if (impl === 'go') {
    child = spawn(await goFloor(bed), flags, { stdio: 'inherit' });
  } else {
    child = spawn(join(root, 'node_modules/.bin/node'), [...IMAGE_NODE_FLAGS, '--import', 'tsx', join(root, 'bench/floor-webhook.ts'), ...flags], { stdio: 'inherit' });
  }
  const exited = new Promise<void>((r) => { child.once('exit', () => { r(); }); });
  const name = 'bench-floor';
  try {
    await until('the floor webhook listening', () => new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); }).once('error', () => { resolve(false); });
    }), 30_000, 100);
    await create(bed.rest, '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', desiredConfiguration({ name, namespace: OWN,
      target: { url: `https://127.0.0.1:${String(port)}` }, caBundle: readFileSync(bed.state.pki.ca.cert, 'utf8'), timeoutSeconds: 2 }, ['pull-0']));
    await injecting(bed, 1);
    await measure(bed, `floor (${impl})`, undefined);
    await deletePods(bed);
  } finally {
    await bed.rest.call({ method: 'DELETE', path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}` }).catch(() => undefined);
    child.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const bed = await freshBed();
  let daemon: DaemonProcess | undefined;
  try {
    await createSource(bed.rest);
    await create(bed.rest, '/api/v1/namespaces', { metadata: { name: OWN } });
    for (const [i, ns] of selectedNs.entries()) await create(bed.rest, '/api/v1/namespaces', { metadata: { name: ns, labels: { [LABEL]: String(i) } } });
    for (const ns of unselectedNs) await create(bed.rest, '/api/v1/namespaces', { metadata: { name: ns } });
    // Admission refuses pods until the namespace's default ServiceAccount exists.
    for (const ns of namespaces) {
      await until(`${ns}'s default ServiceAccount`, () => bed.rest.call({ method: 'GET', path: `/api/v1/namespaces/${ns}/serviceaccounts/default` })
        .then(() => true, (err: unknown) => { if (isStatus(err, 404)) return false; throw err; }), 30_000, 100);
    }
    console.error(`code ${process.env.GIT_COMMIT ?? '(see git log)'}; ${String(RATE)} pods/s for ${String(SECONDS)} s per phase; ${String(SELECTED)} selected and ${String(UNSELECTED)} unselected namespaces`);
    for (const phase of PHASES) {
      if (phase === 'none') {
        await setResources(bed, Math.max(...COUNTS), false);
        await measure(bed, 'none', undefined);
        await deletePods(bed);
        continue;
      }
      if (phase === 'floor') {
        for (const impl of FLOORS) await floor(bed, impl);
        continue;
      }
      const port = await freePort();
      const flags = [`--namespace=${OWN}`, `--admission-engine=${phase}`, ...(phase === 'webhook'
        ? [`--webhook-addr=127.0.0.1:${String(port)}`, `--webhook-url=https://127.0.0.1:${String(port)}`] : [])];
      daemon = await startDaemon(bed, flags, IMAGE_NODE_FLAGS, join(root, 'dist/main.js'));
      if (phase === 'webhook') console.error(`webhook on 127.0.0.1:${String(port)}`);
      for (const count of COUNTS) {
        await setResources(bed, count, true);
        await injecting(bed, count);
        await measure(bed, `${phase}, ${String(count)} resource${count === 1 ? '' : 's'}`, daemon);
        await deletePods(bed);
      }
      await setResources(bed, 0, false);
      await daemon.stop();
      daemon = undefined;
      await bed.rest.call({ method: 'DELETE', path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pullsecret-sync.${OWN}` }).catch(() => undefined);
    }
  } finally {
    await daemon?.stop();
    await bed.stop();
  }
}

await main();
