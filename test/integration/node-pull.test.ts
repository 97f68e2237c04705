// What the daemon exists for, on the testbed's real node: a kubelet pulls a private image with the Secret
// the daemon wrote. Namespaces are created with their pod right behind them (no wait between the two),
// as a GitOps apply does; every pod must run without a single failed pull. A pod in a namespace no
// resource selects is the control: its pull is refused, so the credential is what made the others work.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKubeConfig } from '../testbed/clients.ts';
import { pushPrivateImage } from '../testbed/images.ts';
import { NODE_TOLERATION } from '../testbed/node.ts';
import { currentTestbed, ensureNode } from '../testbed/testbed.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, rest, uniqueName,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';

const NAMESPACES = 5;
const POD_DEADLINE_MS = 90_000;

let daemon: TestDaemon | undefined;
let image = '';
const created: string[] = [];
const resources: string[] = [];
const secretName = uniqueName('pull');
const selectKey = `node-pull-${Date.now().toString(36)}`;
const workDir = mkdtempSync(join(tmpdir(), 'node-pull-'));

interface Pod {
  status?: { phase?: string; containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
}
interface PodEvent { reason?: string; message?: string; involvedObject?: { kind?: string; name?: string } }

before(async () => {
  await ensureNode();
  const bed = currentTestbed();
  const registry = bed.registry;
  const user = registry?.users[0];
  assert.ok(registry && user, 'the bed runs a registry with a user');
  image = `${registry.host}/private/${uniqueName('app')}:1`;
  await pushPrivateImage(workDir, image, registry.certDir, user);
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  const sourceNs = await ns();
  await createSecret(dockerConfigSecret(sourceNs, 'registry', { [registry.host]: user }));
  resources.push(uniqueName('node-pull'));
  await createIps(resources[0] ?? '', {
    registry: { credentials: [{ name: 'registry', namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [selectKey]: 'yes' } }] }, secret: { name: secretName } },
  });
});

after(async () => {
  await deleteIpsAndWait(resources);
  await daemon?.stop();
  for (const name of created) await deleteNamespace(name);
  rest.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function ns(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('node');
  created.push(name);
  return createNamespace(name, labels);
}

/** A pod running the private image, naming the pull Secret, meant for the testbed's node. */
function createPod(namespace: string): Promise<unknown> {
  return eventually(() => rest.call({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body: {
    metadata: { name: 'app' },
    spec: {
      containers: [{ name: 'app', image }], imagePullSecrets: [{ name: secretName }],
      tolerations: [NODE_TOLERATION], terminationGracePeriodSeconds: 1, automountServiceAccountToken: false,
    },
  } }), { message: `pod ${namespace}/app is admitted` });
}

const readPod = (namespace: string) => rest.call<Pod>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods/app` });

async function pullFailures(namespace: string): Promise<string[]> {
  const list = await rest.call<{ items: PodEvent[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/events` });
  return list.items
    .filter((e) => e.involvedObject?.kind === 'Pod' && (e.reason === 'Failed' || e.reason === 'BackOff'))
    .map((e) => `${namespace}: ${e.reason ?? ''}: ${e.message ?? ''}`);
}

test('pods created right behind their namespace pull the private image with the Secret the daemon wrote', async () => {
  const namespaces = await Promise.all(Array.from({ length: NAMESPACES }, async () => {
    const name = await ns({ [selectKey]: 'yes' });
    await createPod(name);
    return name;
  }));
  await eventually(async () => {
    const phases = await Promise.all(namespaces.map(async (n) => (await readPod(n)).status?.phase));
    return phases.every((p) => p === 'Running');
  }, { timeoutMs: POD_DEADLINE_MS, intervalMs: 250, message: `${NAMESPACES} pods Running` });
  const failures = (await Promise.all(namespaces.map(pullFailures))).flat();
  assert.deepEqual(failures, [], 'no pull failed, not even once before a retry');
});

test('a pod in a namespace no resource selects cannot pull the image: the credential is what works', async () => {
  const name = await ns();
  await createPod(name);
  const reason = await eventually(async () => {
    const waiting = (await readPod(name)).status?.containerStatuses?.[0]?.state?.waiting?.reason;
    return waiting === 'ErrImagePull' || waiting === 'ImagePullBackOff' ? waiting : undefined;
  }, { timeoutMs: POD_DEADLINE_MS, intervalMs: 250, message: 'the unselected pod fails to pull' });
  assert.match(reason, /ErrImagePull|ImagePullBackOff/);
});
