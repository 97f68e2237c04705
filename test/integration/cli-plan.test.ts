// `plan` against the real API server: it writes nothing (every resourceVersion stays), the daemon then
// writes exactly the Secrets plan said it would create and removes the ones it said it would remove,
// and plan from a kubectl snapshot, with no cluster reachable, gives the same answer (also the pods that
// lack the entry injection at admission would add).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Readable } from 'node:stream';
import { scratchDir } from '../support/scratch.ts';
import { planCommand } from '../../src/cli/plan/command.ts';
import type { Plan } from '../../src/cli/plan/model.ts';
import {
  createIps, createNamespace, createPod, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, managedSecrets, rest, uniqueName,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { ensureKubectl } from '../testbed/binaries.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';

const run = promisify(execFile);
const ns = { src: uniqueName('plan-src'), a: uniqueName('plan-a'), b: uniqueName('plan-b'), c: uniqueName('plan-c'), d: uniqueName('plan-d') };
const [older, younger] = [uniqueName('plan-1'), uniqueName('plan-2')];
const team = uniqueName('team');
let daemon: TestDaemon | undefined;

async function plan(args: string[]): Promise<{ code: number; plan: Plan; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await planCommand.main([...args, '-o', 'json'], { stdin: Readable.from([]), env: {},
    stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  return { code, plan: JSON.parse(stdout || '{"resources":[]}') as Plan, stderr };
}

const ours = (p: Plan): Plan => ({ resources: p.resources.filter((r) => r.name === older || r.name === younger) });

/** resourceVersion of every object plan reads in the test's namespaces, and of the resources. */
async function versions(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of ['namespaces', 'pods', 'secrets', 'serviceaccounts']) {
    const list = await rest.call<{ items: { metadata: { name: string; namespace?: string; resourceVersion: string } }[] }>({ method: 'GET', path: `/api/v1/${kind}` });
    for (const i of list.items) if (Object.values(ns).includes(i.metadata.namespace ?? i.metadata.name)) out.set(`${kind}/${i.metadata.namespace ?? ''}/${i.metadata.name}`, i.metadata.resourceVersion);
  }
  for (const name of [older, younger]) {
    out.set(`ips/${name}`, (await rest.call<{ metadata: { resourceVersion: string } }>({ method: 'GET', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${name}` })).metadata.resourceVersion);
  }
  return out;
}

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(ns.src);
  await createSecret(dockerConfigSecret(ns.src, 'hub', { 'docker.io': { username: 'u', password: 'p1' }, 'quay.io': { username: 'u', password: 'p2' } }));
  await createSecret(dockerConfigSecret(ns.src, 'quay', { 'https://quay.io': { username: 'v', password: 'p3' } }));
  await createNamespace(ns.a, { team });
  await createNamespace(ns.b, { team });
  await createNamespace(ns.c);
  await createNamespace(ns.d);
  await createPod(ns.c, 'web', { app: team });
  await createPod(ns.a, 'plain');
  await rest.call({ method: 'POST', path: `/api/v1/namespaces/${ns.a}/pods`, body: { metadata: { name: 'listed' },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }], imagePullSecrets: [{ name: 'pull' }] } } });
  await createSecret({ metadata: { name: 'pull', namespace: ns.b }, type: 'Opaque', data: {} }); // someone else's
  // A Secret the older resource wrote earlier in a namespace it no longer selects.
  await createSecret({ ...dockerConfigSecret(ns.d, 'pull', { 'r.io': { username: 'u', password: 'p4' } }),
    metadata: { name: 'pull', namespace: ns.d, labels: { 'app.kubernetes.io/managed-by': 'pullsecret-sync', 'pullsecret-sync.dev/owner': older } } });
  await createIps(older, { registry: { credentials: [{ name: 'hub', namespace: ns.src }, { name: 'quay', namespace: ns.src }] },
    target: { namespaces: { labels: [{ matchLabels: { team } }] }, namespacesWithPods: { labels: [{ matchLabels: { app: team } }] },
      secret: { name: 'pull' }, serviceAccounts: { names: ['default'] }, pods: { inject: true } } });
  await createIps(younger, { registry: { credentials: [{ name: 'quay', namespace: ns.src }] }, target: { namespaces: { names: [ns.a, ns.c] }, secret: { name: 'pull' } } });
  for (const n of [ns.a, ns.c]) {
    await eventually(() => rest.call({ method: 'GET', path: `/api/v1/namespaces/${n}/serviceaccounts/default` }), { message: `default ServiceAccount in ${n}` });
  }
});

after(async () => {
  if (daemon) {
    await deleteIpsAndWait([older, younger]);
    await daemon.stop();
  }
  for (const n of Object.values(ns)) await deleteNamespace(n);
  rest.close();
});

test('plan on a live cluster, from a snapshot without a cluster, and then the daemon does exactly that', async () => {
  const before = await versions();
  const live = await plan(['--kubeconfig', currentTestbed().kubeconfig]);
  assert.equal(live.code, 0, live.stderr);
  assert.deepEqual(await versions(), before, 'plan changed nothing');

  const [r1, r2] = [live.plan.resources.find((r) => r.name === older), live.plan.resources.find((r) => r.name === younger)];
  assert.ok(r1 && r2, 'plan reports both resources');
  assert.deepEqual(r1.namespaces, [
    { name: ns.a, rules: ['labels'], action: 'create' },
    { name: ns.b, rules: ['labels'], action: 'conflict', conflictWith: 'unmanaged' },
    { name: ns.c, rules: ['pods'], action: 'create' },
  ].sort((x, y) => (x.name < y.name ? -1 : 1)));
  assert.deepEqual(r1.removals, [{ namespace: ns.d, secret: 'pull' }]);
  assert.deepEqual(r1.registries, [
    { registry: 'https://index.docker.io/v1/', source: `Secret ${ns.src}/hub`, shadowed: [] },
    { registry: 'quay.io', source: `Secret ${ns.src}/hub`, shadowed: [`Secret ${ns.src}/quay`] },
  ]);
  assert.deepEqual(r1.serviceAccounts.map((s) => `${s.change} ${s.namespace}/${s.name}`).sort(), [`add ${ns.a}/default`, `add ${ns.c}/default`].sort());
  // Injection at admission: the pods that lack the entry (one that lists it already is not among them).
  assert.deepEqual(r1.pods, [{ namespace: ns.a, name: 'plain' }, { namespace: ns.c, name: 'web' }].sort((x, y) => (x.namespace < y.namespace ? -1 : 1)));
  assert.deepEqual(r2.pods, []);
  assert.deepEqual(r2.namespaces.map((n) => [n.name, n.action, n.conflictWith]),
    [[ns.a, 'conflict', `ImagePullSecret/${older}`], [ns.c, 'conflict', `ImagePullSecret/${older}`]]);

  // The same answer from `kubectl get … -o yaml` files, with a kubeconfig that leads nowhere.
  const kubectl = await ensureKubectl();
  const dir = scratchDir('plan-snapshot');
  const kc = ['--kubeconfig', currentTestbed().kubeconfig];
  writeFileSync(join(dir, 'cluster.yaml'), (await run(kubectl, [...kc, 'get', 'ns,pods,secrets,sa', '-A', '-o', 'yaml'], { maxBuffer: 64 << 20 })).stdout);
  writeFileSync(join(dir, 'ips.yaml'), (await run(kubectl, [...kc, 'get', 'imagepullsecrets.pullsecret-sync.dev', older, younger, '-o', 'yaml'])).stdout);
  const offline = await plan(['-f', join(dir, 'ips.yaml'), '--snapshot', join(dir, 'cluster.yaml'), '--kubeconfig', join(dir, 'nowhere')]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.deepEqual(ours(offline.plan), ours(live.plan));

  const creates = live.plan.resources.flatMap((r) => r.namespaces.filter((n) => n.action === 'create').map((n) => `${n.name}/pull`)).sort();
  daemon = await startTestDaemon();
  const written = await eventually(async () => {
    const mine = [...(await managedSecrets()).values()].filter((s) => [older, younger].includes(s.metadata.labels?.['pullsecret-sync.dev/owner'] ?? ''));
    const keys = mine.map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name}`).sort();
    return JSON.stringify(keys) === JSON.stringify(creates) && keys;
  }, { timeoutMs: 15_000, message: 'the daemon writes exactly plan\'s create list (and removes the stale one)' });
  assert.deepEqual(written, creates);
});
