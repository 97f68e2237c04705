// The hand-over from a running IMPS (banzaicloud/imps, built from source by bench/imps/build.sh): IMPS
// itself writes its Secrets on the testbed and is stopped; the migrated resource then finds them. Without
// --adopt-imps-secrets every such namespace is a Conflict and IMPS's Secrets stay byte-for-byte; with it
// they are replaced in place, so a poller sees a working Secret in every selected namespace at every
// moment, while a same-named Secret that neither system wrote stays a Conflict and untouched.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { adminKubeConfig } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigOf, dockerConfigSecret, readIps, readSecret,
  readyCondition, rest, uniqueName,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import type { ImagePullSecretSpec } from '../../src/api/v1alpha1/types.ts';
import type { Secret } from '../../src/kube/objects.ts';
import { IMPS_LAST_APPLIED_ANNOTATION, IMPS_OWNER_UID_LABEL } from '../../src/controller/decide/imps-adoption.ts';

const root = join(import.meta.dirname, '..', '..');
const impsPath = '/apis/images.banzaicloud.io/v1alpha1/imagepullsecrets';
const impsCrdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/imagepullsecrets.images.banzaicloud.io';
const group = uniqueName('handover');
const sourceNs = uniqueName('source');
const name = uniqueName('imps');
const secretName = 'pull';
const registry = 'registry.handover.example';
const namespaces = [0, 1, 2].map((i) => uniqueName(`handover-${String(i)}`));
const foreignNs = uniqueName('foreign');
const forgedNs = uniqueName('forged');
const spec: ImagePullSecretSpec = {
  registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
  target: { namespaces: { labels: [{ matchLabels: { 'handover-group': group } }] }, secret: { name: secretName } },
};
let impsBinary = '';
let imps: ChildProcess | undefined;
let daemon: TestDaemon | undefined;

/** IMPS built from the archive (cached after the first build), and its CRD from the same source tree. */
before(async () => {
  await installCrd(adminKubeConfig());
  impsBinary = execFileSync(join(root, 'bench/imps/build.sh'), { encoding: 'utf8', timeout: 900_000 }).trim();
  const crd = parse(readFileSync(join(impsBinary, '../../config/crd/bases/images.banzaicloud.io_imagepullsecrets.yaml'), 'utf8')) as object;
  await rest.call({ method: 'PATCH', path: `${impsCrdPath}?fieldManager=pullsecret-sync-tests&force=true`,
    contentType: 'application/apply-patch+yaml', body: crd });
  await eventually(() => rest.call({ method: 'GET', path: impsPath }).then(() => true), { timeoutMs: 30_000, message: 'the IMPS CRD is served' });
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { [registry]: { username: 'u', password: 'HANDOVER-PASSWORD-1' } }));
  for (const ns of namespaces) await createNamespace(ns, { 'handover-group': group });
});

after(async () => {
  imps?.kill('SIGKILL');
  await rest.call({ method: 'DELETE', path: `${impsPath}/${name}` }).catch(() => undefined);
  daemon ??= await startTestDaemon(); // removes the resource's finalizer
  await deleteIpsAndWait([name]);
  await daemon.stop();
  for (const ns of [...namespaces, foreignNs, forgedNs, sourceNs]) await deleteNamespace(ns);
  // IMPS's CRD goes too: while it is served, `kubectl get imagepullsecrets` may mean IMPS's resources.
  await rest.call({ method: 'DELETE', path: impsCrdPath }).catch(() => undefined);
  await eventually(() => rest.call({ method: 'GET', path: impsCrdPath }).then(() => false, () => true), { timeoutMs: 30_000, message: 'the IMPS CRD is gone' });
  rest.close();
});

function startImps(): ChildProcess {
  const proc = spawn(impsBinary, ['--metrics-addr=127.0.0.1:0'],
    { env: { ...process.env, KUBECONFIG: currentTestbed().kubeconfig, LOG_LEVEL: 'error' }, stdio: 'ignore' });
  return proc;
}

async function stopImps(proc: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => { resolve(); }); });
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
  const timer = setTimeout(() => { proc.kill('SIGKILL'); }, 10_000);
  await exited;
  clearTimeout(timer);
}

/** Whether a Secret holds a login for the registry: what a kubelet pulling from it needs. */
const works = (s: Secret | undefined): boolean => {
  if (!s) return false;
  try {
    return dockerConfigOf(s).auths[registry]?.auth === Buffer.from('u:HANDOVER-PASSWORD-1').toString('base64');
  } catch {
    return false;
  }
};

/** Reads every selected namespace's Secret over and over until stopped; records each miss. */
function pollWorking(): { stop: () => Promise<{ rounds: number; misses: string[] }> } {
  const state = { running: true };
  const misses: string[] = [];
  let rounds = 0;
  const loop = (async () => {
    while (state.running) {
      const seen = await Promise.all(namespaces.map(async (ns) => [ns, works(await readSecret(ns, secretName))] as const));
      for (const [ns, ok] of seen) if (!ok) misses.push(`${ns} at round ${String(rounds)}`);
      rounds++;
    }
  })();
  return { stop: async () => { state.running = false; await loop; return { rounds, misses }; } };
}

/** IMPS, started against the bed, writes its Secrets for the resource and is stopped; returns them. */
async function secretsWrittenByImps(): Promise<{ written: (Secret | undefined)[]; uid: string; ms: number }> {
  await rest.call({ method: 'POST', path: impsPath, body: { apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name }, spec } });
  const started = Date.now();
  imps = startImps();
  const written = await eventually(async () => {
    const all = await Promise.all(namespaces.map((ns) => readSecret(ns, secretName)));
    return all.every((s) => works(s) && s?.metadata.labels?.[IMPS_OWNER_UID_LABEL]) && all;
  }, { timeoutMs: 30_000, message: 'IMPS wrote its Secrets' });
  const ms = Date.now() - started;
  await stopImps(imps);
  imps = undefined;
  const impsCr = await rest.call<{ metadata: { uid: string } }>({ method: 'GET', path: `${impsPath}/${name}` });
  for (const s of written) {
    assert.ok(s?.metadata.ownerReferences?.some((r) => r.kind === 'ImagePullSecret' && r.uid === impsCr.metadata.uid), 'IMPS owns its Secret');
    assert.ok(s?.metadata.annotations?.[IMPS_LAST_APPLIED_ANNOTATION], 'IMPS keeps a last-applied copy');
  }
  return { written, uid: impsCr.metadata.uid, ms };
}

/**
 * Two Secrets of the same name that IMPS never wrote, in selected namespaces: a plain one, and one with
 * IMPS's label but no ownerReference to the IMPS resource.
 */
async function secretsNeitherWrote(impsUid: string): Promise<Secret[]> {
  await createNamespace(foreignNs, { 'handover-group': group });
  await createNamespace(forgedNs, { 'handover-group': group });
  return [
    await createSecret(dockerConfigSecret(foreignNs, secretName, { 'other.example': { username: 'o', password: 'FOREIGN-PASSWORD-1' } })),
    await createSecret({ ...dockerConfigSecret(forgedNs, secretName, { 'other.example': { username: 'o', password: 'FORGED-PASSWORD-1' } }),
      metadata: { name: secretName, namespace: forgedNs, labels: { [IMPS_OWNER_UID_LABEL]: impsUid } } }),
  ];
}

/** Whether `s` is ours alone: our labels and ownerReference, none of IMPS's marks. */
function assertAdopted(s: Secret | undefined, ourUid: string | undefined): void {
  assert.ok(works(s));
  assert.equal(s?.metadata.labels?.[IMPS_OWNER_UID_LABEL], undefined, 'IMPS\'s label is gone');
  assert.equal(s?.metadata.annotations?.[IMPS_LAST_APPLIED_ANNOTATION], undefined, 'IMPS\'s last-applied copy is gone');
  // Only our ownerReference: deleting the IMPS resource must not have the garbage collector take it.
  assert.deepEqual(s?.metadata.ownerReferences?.map((r) => r.uid), [ourUid]);
}

test('Secrets IMPS wrote are a Conflict without adoption, and handed over in place with --adopt-imps-secrets', async () => {
  const { written, uid, ms } = await secretsWrittenByImps();
  const [foreign, forged] = await secretsNeitherWrote(uid);

  // The migrated resource: same name and spec, the new apiVersion. First without adoption.
  const poller = pollWorking();
  await createIps(name, spec);
  daemon = await startTestDaemon();
  await eventually(async () => (await readIps(name))?.status?.conflictCount === 5 || false, { timeoutMs: 15_000, message: 'five conflicts without adoption' });
  assert.equal((await readyCondition(name))?.reason, 'Conflict');
  for (const [i, ns] of namespaces.entries()) assert.equal((await readSecret(ns, secretName))?.metadata.resourceVersion, written[i]?.metadata.resourceVersion);
  await daemon.stop();
  daemon = undefined;

  daemon = await startTestDaemon(['--adopt-imps-secrets=true']);
  const adopted = await eventually(async () => {
    const all = await Promise.all(namespaces.map((ns) => readSecret(ns, secretName)));
    return all.every((s) => s?.metadata.labels?.['pullsecret-sync.dev/owner'] === name) && all;
  }, { timeoutMs: 15_000, message: 'the IMPS Secrets are ours' });
  const { rounds, misses } = await poller.stop();
  assert.deepEqual(misses, [], 'every selected namespace held a working Secret throughout');
  assert.ok(rounds > 0);
  const ourUid = (await readIps(name))?.metadata.uid;
  for (const s of adopted) assertAdopted(s, ourUid);
  await eventually(async () => (await readIps(name))?.status?.conflictCount === 2 || false, { message: 'two conflicts left' });
  assert.deepEqual((await readIps(name))?.status?.conflicts?.map((c) => c.namespace).sort(), [foreignNs, forgedNs].sort());
  assert.equal((await readSecret(foreignNs, secretName))?.metadata.resourceVersion, foreign?.metadata.resourceVersion, 'the foreign Secret is untouched');
  assert.equal((await readSecret(forgedNs, secretName))?.metadata.resourceVersion, forged?.metadata.resourceVersion, 'the unowned IMPS-labelled Secret is untouched');
  // IMPS's resource can go now: the garbage collector finds nothing of it to delete.
  await rest.call({ method: 'DELETE', path: `${impsPath}/${name}` });
  await eventually(() => rest.call({ method: 'GET', path: `${impsPath}/${name}` }).then(() => false, () => true), { message: 'the IMPS resource is gone' });
  for (const ns of namespaces) assert.ok(works(await readSecret(ns, secretName)));
  process.stderr.write(`IMPS wrote its Secrets ${String(ms)} ms after start; the poller read ${String(rounds)} rounds\n`);
});
