// A platform team's first hour, on the testbed's real node: README's "Install" blocks run as written
// (build and push the image, helm install, check it), then what the install is for. The daemon runs as
// the chart's two replicas, pulled by the node from the bed's registry with an imagePullSecrets entry,
// reaching the API server through the `kubernetes` Service; pods pull a private image with the Secret it
// wrote; deleting the leader pod hands over to the standby, and pods created meanwhile still pull.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildahStore, ensureBaseImages } from '../testbed/base-images.ts';
import { cacheRoot, ensureHelm, ensureKubectl } from '../testbed/binaries.ts';
import { standInBuildArgs } from '../testbed/image.ts';
import { pushPrivateImage } from '../testbed/images.ts';
import { NODE_TOLERATION } from '../testbed/node.ts';
import { currentTestbed, ensureNode } from '../testbed/testbed.ts';
import { isStatus } from '../../src/kube/rest.ts';
import { deleteIps, deleteNamespace, readIps, rest, uniqueName } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { allRunning, createNodePod, pullFailures, type Pod } from '../support/node-pods.ts';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..', '..');
const NAMESPACE = 'pullsecret-sync';
const RELEASE = 'pullsecret-sync';
/** What README's blocks create besides the release's namespace. */
const README_NAMESPACES = ['registry-access', 'team-a'];
const README_RESOURCE = 'private-registry';
const PULL_SECRET = 'registry-pull-secret';

const workDir = mkdtempSync(join(tmpdir(), 'node-install-'));
const created: string[] = [];
let env: NodeJS.ProcessEnv = {};
let prelude = '';
let privateImage = '';

/** A word for a shell script, in single quotes. */
const sq = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/** The `sh` blocks of README's "Install" section, in order. */
function installBlocks(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Install\n');
  assert.ok(start >= 0, 'README has an "Install" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

/** Runs one README block with bash (errexit, pipefail) in the repository; resolves its output. */
async function runBlock(block: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run('bash', ['-c', `set -euo pipefail\n${prelude}\n${block}`], { cwd: repo, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`README block failed:\n${block}\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? e.message}`, { cause: err });
  }
}

/**
 * README's blocks create namespaces with fixed names; an earlier test file may have used one and still
 * be deleting it (imps-examples applies examples/ with `registry-access`). Wait for them to be gone.
 */
async function readmeNamespacesAbsent(): Promise<void> {
  for (const name of [NAMESPACE, ...README_NAMESPACES]) {
    await eventually(async () => {
      const found = await rest.call({ method: 'GET', path: `/api/v1/namespaces/${name}` }).then(() => true, (err: unknown) => {
        if (isStatus(err, 404)) return false;
        throw err;
      });
      return !found;
    }, { timeoutMs: 120_000, intervalMs: 250, message: `namespace ${name}, which README's blocks create, does not exist (an earlier test's is still being deleted)` });
  }
}

before(async () => {
  const node = await ensureNode();
  await readmeNamespacesAbsent();
  const bed = currentTestbed();
  const registry = bed.registry;
  const user = registry?.users[0];
  assert.ok(registry && user && node.registryHost, 'the bed runs a registry that the node reaches');
  const bin = { kubectl: await ensureKubectl(), ...await ensureHelm() };
  await ensureBaseImages();
  const helmHome = join(cacheRoot(), 'helm-home');
  env = {
    ...process.env,
    PATH: `${dirname(bin.kubectl)}:${dirname(bin.helm)}:${process.env.PATH ?? ''}`,
    KUBECONFIG: bed.kubeconfig,
    REGISTRY: `${node.registryHost}/install`, TAG: uniqueName('e2e'), REGISTRY_USER: user.username, REGISTRY_PASSWORD: user.password,
    REGISTRY_AUTH_FILE: join(workDir, 'auth.json'),
    HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data'),
  };
  // What the testbed adds to README's commands: buildah's store and the stand-in base images (the
  // public ones are out of reach), the registry's CA, and a toleration for the testbed node's taint.
  const store = buildahStore().map(sq).join(' ');
  prelude = [
    'buildah() {',
    '  case "$1" in',
    `    bud) shift; command buildah ${store} bud --quiet ${standInBuildArgs().map(sq).join(' ')} "$@" ;;`,
    `    login|push) sub=$1; shift; command buildah ${store} "$sub" --cert-dir ${sq(registry.certDir)} "$@" ;;`,
    `    *) command buildah ${store} "$@" ;;`,
    '  esac',
    '}',
    'helm() {',
    '  case "$1" in',
    `    install|upgrade) command helm "$@" --set-json ${sq(`tolerations=${JSON.stringify([NODE_TOLERATION])}`)} ;;`,
    '    *) command helm "$@" ;;',
    '  esac',
    '}',
  ].join('\n');
  privateImage = `${node.registryHost}/private/${uniqueName('app')}:1`;
  await pushPrivateImage(workDir, privateImage, registry.certDir, user);
});

after(async () => {
  // The daemon drops its finalizer while it runs: resources go first, then the release, then namespaces.
  for (const name of [README_RESOURCE]) await deleteIps(name);
  await eventually(async () => (await readIps(README_RESOURCE)) === undefined, { timeoutMs: 30_000, message: `${README_RESOURCE} is gone` })
    .catch(async (err: unknown) => {
      // A daemon that never came up cannot remove it: take the finalizer off so the bed stays usable.
      await rest.call({ method: 'PATCH', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${README_RESOURCE}`,
        contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }).catch(() => undefined);
      throw err;
    })
    .finally(async () => {
      await run('bash', ['-c', `helm uninstall ${RELEASE} --namespace ${NAMESPACE} --wait --timeout 60s`], { env, timeout: 90_000 }).catch(() => undefined);
      for (const name of [NAMESPACE, ...README_NAMESPACES, ...created]) await deleteNamespace(name).catch(() => undefined);
      rest.close();
      rmSync(workDir, { recursive: true, force: true });
    });
});

interface Lease { spec?: { holderIdentity?: string } }

const holder = async (): Promise<string> =>
  (await rest.call<Lease>({ method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/pullsecret-sync` })).spec?.holderIdentity ?? '';

async function daemonPods(): Promise<(Pod & { metadata: { name: string; deletionTimestamp?: string } })[]> {
  const list = await rest.call<{ items: (Pod & { metadata: { name: string; deletionTimestamp?: string } })[] }>({
    method: 'GET', path: `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${RELEASE}`)}`,
  });
  return list.items;
}

const ready = (pod: Pod): boolean => pod.status?.containerStatuses?.every((c) => c.ready === true) ?? false;

test("README's install steps, as written, put two replicas on the node with one leader", { timeout: 15 * 60_000 }, async (t) => {
  const [build, install, check, ...rest] = installBlocks();
  assert.ok(build && install && check && rest.length === 0, 'README\'s "Install" has three sh blocks');
  const timed = async (block: string, timeoutMs: number): Promise<[string, number]> => {
    const started = Date.now();
    return [await runBlock(block, timeoutMs), Math.round((Date.now() - started) / 1000)];
  };
  const [, buildS] = await timed(build, 10 * 60_000);
  const [, installS] = await timed(install, 5 * 60_000);
  const [checked, checkS] = await timed(check, 3 * 60_000);
  t.diagnostic(`README's blocks took ${String(buildS)} s (build and push), ${String(installS)} s (install, rollout), ${String(checkS)} s (check)`);
  const output = checked.split('\n');
  const pods = (await daemonPods()).filter((p) => !p.metadata.deletionTimestamp);
  assert.equal(pods.length, 2, 'two replicas');
  assert.ok(pods.every(ready), 'both replicas Ready');
  assert.ok(pods.every((p) => p.spec?.nodeName === currentTestbed().node?.name), 'both on the testbed node');
  assert.ok(pods.some((p) => p.metadata.name === output[0]), `the Lease holder "${output[0] ?? ''}" is one of the replicas`);
  assert.equal(output[1], 'ok', "/readyz through the Service's health port");
  assert.match(output[2] ?? '', /^pullsecret_sync_leader [01]$/, "/metrics through the Service's metrics port");
});

test('the builder API answers through its Service with the certificate the chart made', async () => {
  const tls = await rest.call<{ data?: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${NAMESPACE}/secrets/${RELEASE}-builder-tls` });
  const ca = Buffer.from(tls.data?.['ca.crt'] ?? '', 'base64');
  assert.ok(ca.length > 0, 'the chart made a CA');
  const service = await rest.call<{ spec?: { clusterIP?: string } }>({ method: 'GET', path: `/api/v1/namespaces/${NAMESPACE}/services/${RELEASE}` });
  // The Service's cluster IP, through kube-proxy's rules, verified against the Service's DNS name.
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: service.spec?.clusterIP, port: 443, path: '/v1/ca.crt', ca, servername: `${RELEASE}.${NAMESPACE}.svc`, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
    });
    req.on('timeout', () => req.destroy(new Error('the builder API did not answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(answer.status, 200);
  assert.match(answer.body, /BEGIN CERTIFICATE/);
});

/** Namespaces labelled for README's resource, each with a pod created right behind it naming the Secret. */
async function namespacesWithPods(count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, async () => {
    const name = uniqueName('install');
    created.push(name);
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels: { 'registry-access': 'true' } } } });
    await createNodePod(name, { image: privateImage, pullSecret: PULL_SECRET });
    return name;
  }));
}

test('pods pull a private image with the Secret the in-cluster daemon wrote', async () => {
  const namespaces = await namespacesWithPods(5);
  await allRunning(namespaces);
  assert.deepEqual((await Promise.all(namespaces.map(pullFailures))).flat(), [], 'no pull failed, not even once before a retry');
});

test('deleting the leader pod: the standby leads, and pods created meanwhile still pull', async (t) => {
  const leader = await holder();
  const standby = (await daemonPods()).find((p) => p.metadata.name !== leader && ready(p))?.metadata.name;
  assert.ok(standby, 'a Ready standby');
  const deleted = Date.now();
  await rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${NAMESPACE}/pods/${leader}` });
  const namespaces = await namespacesWithPods(5);
  await eventually(async () => (await holder()) === standby, { timeoutMs: 20_000, intervalMs: 50, message: `${standby} leads` });
  const handover = Date.now() - deleted;
  t.diagnostic(`the standby led ${handover} ms after the leader pod's deletion`);
  // The kubelet delivers SIGTERM once it sees the deletion; from SIGTERM, README's bound is 2.5 s.
  assert.ok(handover < 5_000, `handover took ${handover} ms`);
  await allRunning(namespaces);
  const failures = (await Promise.all(namespaces.map(pullFailures))).flat();
  t.diagnostic(`${failures.length} pull failure events among the ${namespaces.length} pods created during the hand-over${failures.length ? `, e.g. ${failures[0] ?? ''}` : ''}`);
});

const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

interface DryRunPod { spec?: { imagePullSecrets?: { name: string }[] } }

/** A dry-run pod creation in team-a: whether it came back with the entry; undefined when the create failed. */
async function admitted(): Promise<boolean | undefined> {
  const pod = await rest.call<DryRunPod>({ method: 'POST', path: '/api/v1/namespaces/team-a/pods', query: { dryRun: 'All' }, timeoutMs: 10_000,
    body: { metadata: { generateName: 'probe-' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: privateImage }] } } })
    .catch(() => undefined);
  return pod && (pod.spec?.imagePullSecrets ?? []).some((e) => e.name === PULL_SECRET);
}

test('with the webhook engine, a rollout that restarts every replica while pods are created: every pod gets its entry', { timeout: 8 * 60_000 }, async (t) => {
  t.after(async () => {
    // The leader removes the configuration once no resource injects; if it could not, the bed keeps none.
    await rest.call({ method: 'PATCH', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${README_RESOURCE}`, contentType: 'application/merge-patch+json',
      body: { spec: { target: { pods: null } } } }).catch(() => undefined);
    await rest.call({ method: 'DELETE', path: `${MWC}/${RELEASE}.${NAMESPACE}` }).catch(() => undefined);
  });
  await runBlock(`helm upgrade ${RELEASE} charts/pullsecret-sync --namespace ${NAMESPACE} --reuse-values --set config.admissionEngine=webhook --wait --timeout 5m`, 6 * 60_000);
  await rest.call({ method: 'PATCH', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${README_RESOURCE}`, contentType: 'application/merge-patch+json',
    body: { spec: { target: { pods: { inject: true } } } } });
  await eventually(async () => (await admitted()) === true, { timeoutMs: 60_000, intervalMs: 250, message: 'the webhook injects into team-a' });

  // Pods created at a steady 20 a second (dry runs: admitted, never stored) through a restart of both replicas.
  const outcomes: (boolean | undefined)[] = [];
  const creating = { on: true };
  const generator = (async () => {
    const inFlight: Promise<void>[] = [];
    while (creating.on) {
      inFlight.push(admitted().then((o) => { outcomes.push(o); }));
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(inFlight);
  })();
  const started = Date.now();
  try {
    await runBlock(`kubectl --namespace ${NAMESPACE} rollout restart deployment/${RELEASE}\nkubectl --namespace ${NAMESPACE} rollout status deployment/${RELEASE} --timeout=4m`, 5 * 60_000);
    // The last old replica is still draining when the rollout reports done: go on until it has exited.
    await eventually(async () => (await daemonPods()).length === 2, { timeoutMs: 60_000, intervalMs: 250, message: 'only the two new replicas are left' });
  } finally {
    creating.on = false;
    await generator;
  }
  const missed = outcomes.filter((o) => o === false).length;
  const failed = outcomes.filter((o) => o === undefined).length;
  t.diagnostic(`${String(outcomes.length)} pods created during a ${String(Date.now() - started)} ms rollout: ${String(missed)} without the entry, ${String(failed)} creations failed`);
  assert.equal(failed, 0, 'no pod creation failed');
  assert.equal(missed, 0, 'every pod admitted during the rollout carries the entry');
});
