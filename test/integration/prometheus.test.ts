// A real Prometheus (Debian's, on loopback, 1 s scrape and evaluation interval) scrapes two daemons the
// way a ServiceMonitor would (target labels `namespace` and `pod`) and loads the chart's rules for both
// releases. The test asserts what an operator sees: targets up, every family of docs/metrics.md in
// Prometheus, each alert's expression returning the affected resource right after a real fault (a source
// Secret made malformed, the ECR endpoint stopped, the leader killed with no standby) without waiting for
// `for`, and every panel of the Grafana dashboard answering with data.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { currentTestbed } from '../testbed/testbed.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { startPrometheus, type Prometheus, type Sample } from '../testbed/prometheus.ts';
import { createIps, readIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, patchSecret, rest, uniqueName, waitForSecret } from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { startEcrProxy, type EcrProxy } from '../support/fake-clouds/ecr-proxy.ts';
import { alertsOf, chartRuleGroups, writeRuleFile } from '../support/alert-rules.ts';
import { checkPanels, panelQueries, readDashboard, DASHBOARD_FILE } from '../support/grafana-dashboard.ts';
import { renderChart } from '../support/helm.ts';

const moto = currentTestbed().moto?.endpoint ?? assert.fail('the testbed runs moto');
const INTERVAL_S = 1;
/** A fault the daemon already exports reaches a query after one scrape; this deadline leaves room for a loaded machine. */
const AFTER_SCRAPE_MS = 5000;
const MAIN = 'pss-main';
const LEADER = 'pss-leader';
const TOKEN_LIFETIME_S = 16;
const ECR_SOURCE = 'ECR eu-central-1 123456789012';

let dir = '';
let prometheus: Prometheus;
let daemon: TestDaemon;
let leader: DaemonProcess;
let proxy: EcrProxy;
let proxyClosed = false;
const sourceNs = uniqueName('prom-src');
const leaseNs = uniqueName('prom-lease');
const namespaces = [sourceNs, leaseNs];
const resources: string[] = [];
let expr: { expiring: string; failing: string; noLeader: string };
const b64 = (s: string) => Buffer.from(s).toString('base64');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
  await installCrd(adminKubeConfig());
  proxy = await startEcrProxy(moto, TOKEN_LIFETIME_S);
  await createNamespace(sourceNs);
  await createNamespace(leaseNs);
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { 'registry.example': { username: 'u', password: 'PROM-TEST-PASSWORD-1' } }));
  await createSecret({ metadata: { name: 'aws-keys', namespace: sourceNs }, type: 'Opaque',
    stringData: { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: `prom-test-${uniqueName('key')}` } } as never);
  // The webhook engine (no resource injects, so no configuration is written): its metrics get data below.
  daemon = await startTestDaemon(['--admission-engine=webhook', '--webhook-addr=127.0.0.1:0', '--webhook-drain=100ms'], { tokenCache: { floorMs: 1000, backoff: { baseMs: 500, capMs: 2000 } } });
  leader = await spawnDaemon(uniqueName('leader'), ['--leader-elect=true', `--namespace=${leaseNs}`]);
  const [main, other] = [await chartRuleGroups(MAIN), await chartRuleGroups(LEADER)];
  const of = (groups: typeof main, name: string) => alertsOf(groups).get(name)?.expr ?? assert.fail(`the chart has ${name}`);
  expr = { expiring: of(main, 'PullSecretSyncTokenExpiringSoon'), failing: of(main, 'PullSecretSyncSyncFailing'),
    noLeader: of(other, 'PullSecretSyncNoLeader') };
  prometheus = await startPrometheus({
    dir, intervalSeconds: INTERVAL_S,
    ruleFiles: [writeRuleFile(join(dir, 'main.rules.yaml'), main), writeRuleFile(join(dir, 'leader.rules.yaml'), other)],
    targets: [
      { address: `127.0.0.1:${String(daemon.metricsPort)}`, labels: { namespace: MAIN, pod: 'pullsecret-sync-main' } },
      { address: new URL(leader.metricsUrl).host, labels: { namespace: LEADER, pod: 'pullsecret-sync-leader' } },
    ],
  });
});

after(async () => {
  await deleteIpsAndWait(resources, 30_000);
  await daemon.stop();
  if (leader.child.exitCode === null && leader.child.signalCode === null) leader.child.kill('SIGTERM');
  await leader.exited;
  await prometheus.stop();
  if (!proxyClosed) await proxy.close();
  for (const ns of namespaces) await deleteNamespace(ns);
  rest.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The samples of `query` whose `imagepullsecret` label is `name`. */
async function forResource(query: string, name: string): Promise<Sample[]> {
  return (await prometheus.query(query)).filter((s) => s.metric.imagepullsecret === name);
}

/** Waits until `probe` holds, then reports how long that took after `since` (the fault: exported on /metrics, or the kill). */
async function seenWithin<T>(t: TestContext, what: string, since: number, probe: () => Promise<T>): Promise<Exclude<T, false | undefined>> {
  const value = await eventually(probe, { timeoutMs: AFTER_SCRAPE_MS, intervalMs: 100, message: what });
  t.diagnostic(`${what}: ${String(Date.now() - since)} ms after the fault was visible`);
  return value;
}

/** Waits until the daemon's own /metrics shows `line`; returns when it did. */
async function exported(metricsText: () => Promise<string>, line: RegExp, message: string): Promise<number> {
  await eventually(async () => line.test(await metricsText()), { timeoutMs: 60_000, intervalMs: 100, message });
  return Date.now();
}

const mainMetrics = async () => (await fetch(`http://127.0.0.1:${String(daemon.metricsPort)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
let secretSource = '';
let ecrResource = '';

/** A request without a token: the builder API answers 401 and counts it, so the builder panel has data. */
function builderRequest(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${daemon.builderUrl}/v1/credentials`, { method: 'POST', rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => { resolve(res.statusCode ?? 0); });
    });
    req.on('error', reject);
    req.on('timeout', () => { req.destroy(new Error('builder request timed out')); });
    req.end('{"serverURL":"registry.example"}');
  });
}

/** A review of another kind: the webhook answers "allowed, unchanged" and counts an error, so its panels have data. */
function admissionRequest(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${daemon.webhookUrl ?? assert.fail('the webhook is served')}/mutate-pods`, { method: 'POST', rejectUnauthorized: false, timeout: 5000,
      headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => { resolve(res.statusCode ?? 0); });
    });
    req.on('error', reject);
    req.on('timeout', () => { req.destroy(new Error('admission request timed out')); });
    req.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'prom-test', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, operation: 'CREATE', namespace: 'default', object: {} } }));
  });
}

test('Prometheus scrapes the daemons: targets up, every family of docs/metrics.md present, the chart\'s rules loaded', async () => {
  // First scrapes first, so the observations below land between two samples (rate() sees them).
  const targets = await eventually(async () => {
    const { activeTargets } = await prometheus.api<{ activeTargets: { health: string; labels: Record<string, string> }[] }>('/api/v1/targets');
    return activeTargets.length === 2 && activeTargets.every((x) => x.health === 'up') && activeTargets;
  }, { timeoutMs: 15_000, message: 'both targets are up' });
  assert.deepEqual(targets.map((x) => x.labels.namespace).sort(), [LEADER, MAIN]);

  const target = uniqueName('prom-target');
  namespaces.push(target);
  secretSource = uniqueName('prom-secret');
  ecrResource = uniqueName('prom-ecr');
  resources.push(secretSource, ecrResource);
  await createIps(secretSource, { registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
    target: { namespaces: { names: [target] }, secret: { name: 'pull' } } });
  await createIps(ecrResource, { registry: { ecr: [{ region: 'eu-central-1', accountIDs: ['123456789012'], endpoint: proxy.url,
    credentialsSecret: { name: 'aws-keys', namespace: sourceNs } }] }, target: { namespaces: { names: [target] }, secret: { name: 'ecr-pull' } } });
  // Created after the daemon started, so the namespace → Secret latency histogram observes it.
  await createNamespace(target);
  await waitForSecret(target, 'pull', 15_000);
  await waitForSecret(target, 'ecr-pull', 15_000);
  assert.equal(await builderRequest(), 401);
  assert.equal(await admissionRequest(), 200);

  const documented = [...readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'metrics.md'), 'utf8').matchAll(/^\| `(pullsecret_sync_[a-z_]+)`/gm)]
    .map((m) => m[1] ?? '');
  assert.ok(documented.length >= 17, `docs/metrics.md lists the families (${String(documented.length)})`);
  // The prom-client defaults (documented as one wildcard row): two a dashboard panel uses.
  documented.push('pullsecret_sync_process_resident_memory_bytes', 'pullsecret_sync_nodejs_eventloop_lag_p99_seconds');
  await eventually(async () => {
    const names = new Set((await prometheus.query(`group by (__name__) ({__name__=~"pullsecret_sync_.+", namespace="${MAIN}"})`))
      .map((s) => s.metric.__name__));
    const absent = documented.filter((f) => !names.has(f) && !names.has(`${f}_bucket`));
    if (absent.length) throw new Error(`missing: ${absent.join(', ')}`);
    return true;
  }, { timeoutMs: 20_000, message: 'every documented family is in Prometheus' });

  const rules = await eventually(async () => {
    const { groups } = await prometheus.api<{ groups: { file: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
    const all = groups.flatMap((g) => g.rules);
    return all.length === 8 && all.every((r) => r.health === 'ok') && all;
  }, { timeoutMs: 10_000, message: 'both releases\' four alerts load and evaluate without error' });
  assert.deepEqual([...new Set(rules.map((r) => r.name))].sort(), ['PullSecretSyncAdmissionWebhookFailing', 'PullSecretSyncNoLeader', 'PullSecretSyncSyncFailing', 'PullSecretSyncTokenExpiringSoon']);
});

test('a source Secret made malformed: the SyncFailing expression returns its resource, which it did not before', async (t) => {
  await eventually(async () => {
    // The main daemon's series: the one the SyncFailing expression reads (the leader's release has its own).
    const ready = await forResource(`pullsecret_sync_resource_ready{namespace="${MAIN}"}`, secretSource);
    if (ready[0]?.value[1] !== '1') throw new Error(`resource_ready is ${JSON.stringify(ready)}; status ${JSON.stringify((await readIps(secretSource))?.status?.conditions)}`);
    return true;
  }, { timeoutMs: 15_000, message: 'Prometheus sees the resource Ready' });
  assert.deepEqual(await forResource(expr.failing, secretSource), [], 'a Ready resource is not reported');
  // Valid JSON (the API server checks that much), but an auth field that is not base64 of user:password.
  await patchSecret(sourceNs, 'hub', { data: { '.dockerconfigjson': b64('{"auths": {"registry.example": {"auth": "NOT-BASE64!"}}}') } });
  const since = await exported(mainMetrics, new RegExp(`pullsecret_sync_resource_ready\\{imagepullsecret="${secretSource}"\\} 0`), 'the daemon exports Ready 0');
  const [sample] = await seenWithin(t, 'SyncFailing returns the resource', since, async () => {
    const found = await forResource(expr.failing, secretSource);
    return found.length > 0 && found;
  });
  assert.deepEqual(sample?.metric, { namespace: MAIN, imagepullsecret: secretSource });
  const pending = await seenWithin(t, 'the loaded rule has the alert pending', since, async () => {
    const found = await forResource(`ALERTS{alertname="PullSecretSyncSyncFailing", namespace="${MAIN}"}`, secretSource);
    return found.length > 0 && found;
  });
  assert.equal(pending[0]?.metric.alertstate, 'pending', 'for: 15m holds it pending');
});

test('the ECR endpoint stopped: the TokenExpiringSoon expression returns the source once a quarter of its lifetime is left', async (t) => {
  const refreshSeries = `pullsecret_sync_token_refresh_timestamp_seconds{namespace="${MAIN}"}`;
  await eventually(async () => (await forResource(refreshSeries, ecrResource)).length === 1,
    { timeoutMs: 15_000, message: 'Prometheus has the token\'s refresh timestamp' });
  assert.deepEqual(await forResource(expr.expiring, ecrResource), [], 'a freshly fetched token is not reported');
  await proxy.close();
  proxyClosed = true;
  // With refreshes failing, the token crosses a quarter of its lifetime left at a time its own series give.
  const since = await exported(mainMetrics, new RegExp(`pullsecret_sync_resource_ready\\{imagepullsecret="${ecrResource}"\\} 0`),
    'a failed refresh makes the resource not Ready');
  const failing = await seenWithin(t, 'SyncFailing returns the ECR resource', since, async () => {
    const found = await forResource(expr.failing, ecrResource);
    return found.length > 0 && found;
  });
  assert.equal(failing.length, 1);
  const [expiry, refresh] = [metricValue(await mainMetrics(), 'pullsecret_sync_token_expiry_timestamp_seconds',
    `imagepullsecret="${ecrResource}",source="${ECR_SOURCE}",kind="ECR"`), metricValue(await mainMetrics(),
    'pullsecret_sync_token_refresh_timestamp_seconds', `imagepullsecret="${ecrResource}",source="${ECR_SOURCE}",kind="ECR"`)];
  assert.ok(expiry !== undefined && refresh !== undefined);
  const crossing = (expiry - 0.25 * (expiry - refresh)) * 1000;
  const [sample] = await eventually(async () => {
    const found = await forResource(expr.expiring, ecrResource);
    return found.length > 0 && found;
  }, { timeoutMs: Math.max(0, crossing - Date.now()) + AFTER_SCRAPE_MS, intervalMs: 100, message: 'TokenExpiringSoon returns the ECR source' });
  t.diagnostic(`TokenExpiringSoon returned the source ${String(Date.now() - crossing)} ms after a quarter of its lifetime was left`);
  assert.deepEqual(sample?.metric, { namespace: MAIN, imagepullsecret: ecrResource, source: ECR_SOURCE, kind: 'ECR' });
  assert.ok(Number(sample.value[1]) < 0.25 * TOKEN_LIFETIME_S + INTERVAL_S, `the value is the seconds left (${sample.value[1]})`);
});

const vars = new Map([['namespace', MAIN], ['__rate_interval', '5m']]);

test('every panel of the Grafana dashboard answers with data from the real Prometheus', async () => {
  const dashboard = readDashboard();
  assert.ok(panelQueries(dashboard).length >= 20);
  // No allowance for empty panels: the faults above give the error panels data too.
  await eventually(async () => {
    const problems = await checkPanels(prometheus, dashboard, vars);
    if (problems.length) throw new Error(problems.join('\n'));
    return true;
  }, { timeoutMs: 10_000, intervalMs: 1000, message: 'every panel has data' });
});

test('the queries of "What to watch" in docs/metrics.md run on the real Prometheus', async () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'metrics.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## What to watch'));
  const queries = [...section.matchAll(/`([^`]*pullsecret_sync_[^`]*)`/g)].map((m) => m[1] ?? '');
  assert.ok(queries.length >= 5, `the section has its queries (${String(queries.length)})`);
  for (const q of queries) {
    const answer = await prometheus.query(q).catch((err: unknown) => assert.fail(`${q}: ${String(err)}`));
    assert.ok(Array.isArray(answer), q);
  }
  assert.equal((await prometheus.query(`sum(pullsecret_sync_leader{namespace="${MAIN}"})`))[0]?.value[1], '1');
});

test('the panel check fails for a broken query: a syntax error and a misspelled metric', async () => {
  const dashboard = readDashboard();
  // Panels without `or vector(0)`, so a misspelled metric leaves them empty.
  const [first, second] = ['Ready per resource', 'Managed Secrets per resource'].map((title) => dashboard.panels.find((p) => p.title === title));
  assert.ok(first?.targets?.[0] && second?.targets?.[0]);
  first.targets[0].expr = first.targets[0].expr.replace(')', '');
  second.targets[0].expr = second.targets[0].expr.replace('pullsecret_sync_', 'pullsecret_sinc_');
  const problems = await checkPanels(prometheus, dashboard, vars);
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems[0] ?? '', new RegExp(`panel "${first.title}".*parse error`));
  assert.match(problems[1] ?? '', new RegExp(`panel "${second.title}".*no data`));
});

test('the chart ships the dashboard as a ConfigMap for the Grafana sidecar, only when enabled', async () => {
  const off = await renderChart({ release: 'rel', namespace: 'ops' });
  assert.ok(!off.includes('grafana_dashboard'));
  const on = parse((await renderChart({ release: 'rel', namespace: 'ops', set: { 'grafanaDashboard.enabled': 'true', 'grafanaDashboard.namespace': 'monitoring' },
    showOnly: ['templates/grafana-dashboard.yaml'] })).replace(/^---\n/, '')) as { kind: string; metadata: { namespace: string; labels: Record<string, string> }; data: Record<string, string> };
  assert.equal(on.kind, 'ConfigMap');
  assert.equal(on.metadata.namespace, 'monitoring');
  assert.equal(on.metadata.labels.grafana_dashboard, '1');
  assert.deepEqual(JSON.parse(on.data['pullsecret-sync.json'] ?? ''), JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')));
});

test('the leader killed with no standby: the NoLeader expression returns its release namespace', async (t) => {
  await eventually(async () => metricValue(await scrape(leader), 'pullsecret_sync_leader') === 1, { timeoutMs: 30_000, message: 'the daemon leads' });
  await eventually(async () => (await prometheus.query(`pullsecret_sync_leader{namespace="${LEADER}"} == 1`)).length === 1,
    { timeoutMs: 10_000, message: 'Prometheus sees the leader' });
  assert.deepEqual(await prometheus.query(expr.noLeader), [], 'a leading replica is not reported');
  leader.child.kill('SIGKILL');
  await leader.exited;
  const since = Date.now();
  const [sample] = await seenWithin(t, 'NoLeader returns the release namespace', since, async () => {
    const found = await prometheus.query(expr.noLeader);
    return found.length > 0 && found;
  });
  assert.deepEqual(sample?.metric, { namespace: LEADER });
  assert.deepEqual((await prometheus.query(`up{namespace="${LEADER}"}`)).map((s) => s.value[1]), ['0'], 'Prometheus reports the target down');
});
