// The container image, built from the repository's Dockerfile (the file users build) and run on the
// testbed's node: it runs as user 65532, answers --help through its ENTRYPOINT, and has no shell.
// A change that breaks the Dockerfile fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, pushImage, type ImageConfig } from '../testbed/image.ts';
import { NODE_TOLERATION } from '../testbed/node.ts';
import { currentTestbed, ensureNode } from '../testbed/testbed.ts';
import { createNamespace, createSecret, deleteNamespace, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const POD_DEADLINE_MS = 120_000;
const repo = resolve(import.meta.dirname, '..', '..');
const workDir = mkdtempSync(join(tmpdir(), 'image-'));
const namespace = uniqueName('image');
let config: ImageConfig;
let ref = '';

interface ContainerState { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number } }
interface Pod { status?: { phase?: string; containerStatuses?: { state?: ContainerState; lastState?: ContainerState }[] } }

before(async () => {
  await ensureNode();
  config = await buildImage(repo, (line) => { console.error(`[image] ${line}`); });
  const registry = currentTestbed().registry;
  const user = registry?.users[0];
  assert.ok(registry && user, 'the bed runs a registry with a user');
  ref = `${registry.host}/pullsecret-sync/daemon:test`;
  await pushImage(ref, registry.certDir, user, workDir);
  await createNamespace(namespace);
  await createSecret(dockerConfigSecret(namespace, 'registry', { [registry.host]: user }));
});

after(async () => {
  await deleteNamespace(namespace);
  rest.close();
  rmSync(workDir, { recursive: true, force: true });
});

function runPod(name: string, container: Record<string, unknown>): Promise<unknown> {
  return eventually(() => rest.call({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body: {
    metadata: { name },
    spec: {
      restartPolicy: 'Never', imagePullSecrets: [{ name: 'registry' }], tolerations: [NODE_TOLERATION],
      terminationGracePeriodSeconds: 1, automountServiceAccountToken: false,
      containers: [{ name: 'daemon', image: ref, ...container }],
    },
  } }), { message: `pod ${namespace}/${name} is admitted` });
}

/** Why a container did not start, wherever the kubelet put it (terminated, last terminated, waiting). */
function startFailure(status: { state?: ContainerState; lastState?: ContainerState } | undefined): string | undefined {
  return status?.state?.terminated?.reason ?? status?.lastState?.terminated?.reason ?? status?.state?.waiting?.reason;
}

const readPod = (name: string) => rest.call<Pod>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods/${name}` });

test('the image runs as 65532 with the node flags and the daemon as its entrypoint', () => {
  assert.equal(config.user, '65532:65532');
  assert.equal(config.entrypoint[0], '/nodejs/bin/node');
  assert.equal(config.entrypoint.at(-1), '/app/dist/main.js');
  assert.deepEqual(config.cmd, ['run']);
});

test('on the node, the image pulled from the registry answers --help and exits 0', async () => {
  await runPod('help', { args: ['--help'] });
  const finished = await eventually(async () => {
    const status = (await readPod('help')).status;
    const phase = status?.phase;
    return phase === 'Succeeded' || phase === 'Failed'
      ? { phase, exitCode: status?.containerStatuses?.at(0)?.state?.terminated?.exitCode }
      : undefined;
  }, { timeoutMs: POD_DEADLINE_MS, intervalMs: 250, message: 'the --help pod finishes' });
  assert.deepEqual(finished, { phase: 'Succeeded', exitCode: 0 });
});

test('the image has no shell: a pod that asks for /bin/sh cannot start', async () => {
  await runPod('shell', { command: ['/bin/sh', '-c', 'true'] });
  const state = await eventually(async () => {
    const reason = startFailure((await readPod('shell')).status?.containerStatuses?.[0]);
    return reason === 'StartError' || reason === 'RunContainerError' || reason === 'ContainerCannotRun' ? reason : undefined;
  }, { timeoutMs: POD_DEADLINE_MS, intervalMs: 250, message: 'the /bin/sh pod fails to start' });
  assert.match(state, /StartError|RunContainerError|ContainerCannotRun/);
});
