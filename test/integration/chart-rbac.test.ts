// Least privilege, shown rule by rule: the daemon running as the chart's ServiceAccount with the chart's
// RBAC does everything the product promises, and with any one rule removed some behaviour breaks. The
// table of which behaviour each rule carries is printed with the results.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scratchDir } from '../support/scratch.ts';
import { request } from 'node:https';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, eventsFor, patchIps, patchSecret,
  readIps, readSecret, readyCondition, rest, uniqueName,
} from '../support/cluster.ts';
import { applyChartRbac, chartRules, type ChartRule } from '../support/chart-rbac.ts';
import { installCrd, startTestDaemon } from '../support/daemon.ts';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { createServer } from 'node:net';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => { resolve(port); });
    });
  });
}
import type { ServiceAccount } from '../../src/kube/objects.ts';

const sourceNs = uniqueName('rbac-src');
const namespaces: string[] = [sourceNs];
const resources: string[] = [];
const QUICK = { timeoutMs: 6000, intervalMs: 100 };
/** The restricted kubeconfigs (each holds a ServiceAccount token), removed after the file. */
const work = scratchDir('rbac');

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { 'docker.io': { username: 'u', password: 'p' } }));
});

after(async () => {
  // Resources whose daemon lacked a rule may still hold their finalizer: a full-privilege daemon lets go.
  const cleaner = await startTestDaemon([], { identityOf: 'admin' });
  await deleteIpsAndWait(resources, 30_000);
  await cleaner.stop();
  for (const ns of namespaces) await deleteNamespace(ns);
  rest.close();
});

/** `auto` chooses the policy engine on the testbed; the webhook's rules are proven with `webhook`. */
type Engine = 'auto' | 'webhook';
interface World { daemon: DaemonProcess; releaseNs: string; ips: string; target: string; engine: Engine }

const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
/** The configuration the chart's RBAC names: `<release>-pullsecret-sync.<namespace>` (the release is the namespace). */
const webhookConfigName = (releaseNs: string): string => `${releaseNs}-pullsecret-sync.${releaseNs}`;

/** What the product promises, in the order a broken install would show it; each probe waits briefly. */
const behaviours: [string, (w: World) => Promise<unknown> | boolean][] = [
  ['caches sync (readyz)', (w) => eventually(async () => (await fetch(`${w.daemon.healthUrl}/readyz`)).status === 200, QUICK)],
  ['wins the leader Lease', (w) => eventually(async () => (await rest.call<{ spec?: { holderIdentity?: string } }>({ method: 'GET',
    path: `/apis/coordination.k8s.io/v1/namespaces/${w.releaseNs}/leases/pullsecret-sync` }).catch(() => undefined))?.spec?.holderIdentity === w.daemon.name, QUICK)],
  ['adds its finalizer', (w) => eventually(async () => (await readIps(w.ips))?.metadata.finalizers?.includes('pullsecret-sync.dev/cleanup'), QUICK)],
  ['writes the Secret', (w) => eventually(() => readSecret(w.target, 'pull'), QUICK)],
  ['keeps the webhook configuration', (w) => w.engine !== 'webhook' || eventually(() =>
    rest.call({ method: 'GET', path: `${MWC}/${webhookConfigName(w.releaseNs)}` }).catch(() => undefined), QUICK)],
  ['keeps the admission policy and its binding', (w) => w.engine !== 'auto' || eventually(async () => {
    const [policy, binding] = await Promise.all(['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'].map((kind) =>
      rest.call({ method: 'GET', path: `/apis/admissionregistration.k8s.io/v1/${kind}/pullsecret-sync-${w.ips}` }).catch(() => undefined)));
    return policy !== undefined && binding !== undefined;
  }, QUICK)],
  ['reports status', (w) => eventually(async () => (await readyCondition(w.ips))?.reason === 'Synced', QUICK)],
  ['records Events', (w) => eventually(async () => (await eventsFor(w.ips)).some((e) => e.reason === 'Synced'), QUICK)],
  ['patches ServiceAccounts', (w) => eventually(async () => (await rest.call<ServiceAccount>({ method: 'GET',
    path: `/api/v1/namespaces/${w.target}/serviceaccounts/default` })).imagePullSecrets?.some((e) => e.name === 'pull'), QUICK)],
  ['repairs drift', async (w) => {
    await patchSecret(w.target, 'pull', { data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') } });
    return eventually(async () => Buffer.from((await readSecret(w.target, 'pull'))?.data?.['.dockerconfigjson'] ?? '', 'base64').toString() !== '{"auths":{}}', QUICK);
  }],
  ['authenticates builders (TokenReview)', async (w) => {
    const token = await mintToken({ namespace: w.target, serviceAccount: 'kaniko', audiences: ['pullsecret-sync'], create: true });
    return eventually(async () => (await builderCall(w.daemon, token)) === 200 || undefined, QUICK);
  }],
  ['removes the Secret on deselection', async (w) => {
    await patchIps(w.ips, { target: { namespaces: { names: [] }, secret: { name: 'pull' }, serviceAccounts: { names: ['default'] } } });
    return eventually(async () => (await readSecret(w.target, 'pull')) === undefined || undefined, QUICK);
  }],
];

/** The builder API's answer to a credentials request (the daemon's self-signed CA is not checked here). */
function builderCall(daemon: DaemonProcess, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${daemon.builderUrl}/v1/credentials`, { method: 'POST', rejectUnauthorized: false,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => { resolve(0); });
    req.end(JSON.stringify({ serverURL: 'docker.io' }));
  });
}

/** Runs the daemon with the chart's RBAC (less `without`) and returns the first behaviour that fails. */
async function firstBreakage(engine: Engine, without?: ChartRule): Promise<string | undefined> {
  const releaseNs = uniqueName('release');
  namespaces.push(releaseNs);
  const rbac = await applyChartRbac({ namespace: releaseNs, ...(without ? { without: { kind: without.kind, index: without.index } } : {}) });
  const kubeconfig = join(mkdtempSync(join(work, 'release-')), 'kubeconfig');
  writeFileSync(kubeconfig, rbac.kubeConfig.exportConfig(), { mode: 0o600 });
  const target = uniqueName('ns');
  namespaces.push(target);
  await createNamespace(target);
  const ips = uniqueName('ips');
  resources.push(ips);
  await createIps(ips, { registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
    // Pods and ServiceAccounts are watched only while a resource needs them: this one needs both.
    target: { namespaces: { names: [target] }, namespacesWithPods: { labels: [{ matchLabels: { 'rbac-probe': 'no-such-pod' } }] },
      secret: { name: 'pull' }, serviceAccounts: { names: ['default'] }, pods: { inject: true } },
    builder: { serviceAccounts: [{ namespace: target, name: 'kaniko' }] } });
  const webhookPort = await freePort();
  // As the chart's Deployment: --builder-service always, which also names the webhook configuration its RBAC allows.
  const webhookArgs = [`--builder-service=${releaseNs}-pullsecret-sync`, ...engine === 'webhook' ? [`--webhook-addr=127.0.0.1:${String(webhookPort)}`,
    `--webhook-url=https://127.0.0.1:${String(webhookPort)}`] : []];
  const daemon = await spawnDaemon(uniqueName('d'), [`--namespace=${releaseNs}`, '--leader-elect=true', `--admission-engine=${engine}`, ...webhookArgs], kubeconfig, false);
  try {
    for (const [name, probe] of behaviours) {
      try {
        await probe({ daemon, releaseNs, ips, target, engine });
      } catch {
        return name;
      }
    }
    return undefined;
  } finally {
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await rest.call({ method: 'DELETE', path: `${MWC}/${webhookConfigName(releaseNs)}` }).catch(() => undefined);
    await rbac.cleanup();
  }
}

test('with the chart\'s RBAC the daemon does everything; without any one rule something breaks', { timeout: 420_000 }, async () => {
  assert.equal(await firstBreakage('auto'), undefined, 'the full chart RBAC suffices');
  assert.equal(await firstBreakage('webhook'), undefined, 'the full chart RBAC suffices for the webhook engine');
  const table: string[] = [];
  for (const rule of await chartRules()) {
    const broken = await firstBreakage(rule.resources.includes('mutatingwebhookconfigurations') ? 'webhook' : 'auto', rule);
    table.push(`${rule.kind} ${rule.apiGroups.join(',') || 'core'}/${rule.resources.join(',')} [${rule.verbs.join(',')}] -> ${broken ?? 'NOTHING'}`);
    assert.ok(broken, `removing ${rule.kind} rule ${String(rule.index)} (${rule.resources.join(',')}) broke nothing: the rule is unused`);
  }
  console.log(`behaviour lost without each rule:\n  ${table.join('\n  ')}`);
});
