// The three ImagePullSecrets of IMPS's README (examples/imps/, only apiVersion changed) select exactly
// the namespaces that README promises: an IMPS user migrates by changing apiVersion.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createNamespace, createPod, deleteIpsAndWait, deleteNamespace, dockerConfigOf, readIps, rest, uniqueName, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { isStatus } from '../../src/kube/rest.ts';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';

const examples = join(import.meta.dirname, '..', '..', 'examples');
const NAMED = ['backyards-registry-access', 'backyards-system', 'backyards-canary', 'cert-manager', 'istio-system'];
const SECRET = 'istio-pull-secret';
let daemon: TestDaemon;
const created: string[] = [];
/** Namespaces of example 1 that example 3's first and fifth rules select as well. */
const injected: string[] = [];

async function ensureNamespace(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<string> {
  created.push(name);
  // A namespace of that name left by an earlier run on a long-lived bed may still be terminating.
  await eventually(() => createNamespace(name, labels, annotations).catch((err: unknown) => {
    if (isStatus(err, 409)) return undefined;
    throw err;
  }), { timeoutMs: 60_000, message: `namespace ${name} can be created` });
  return name;
}

before(async () => {
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  for (const doc of parseAllDocuments(readFileSync(join(examples, 'registry-access.yaml'), 'utf8'))) {
    const obj = doc.toJS() as { kind: string; metadata: { name: string; namespace?: string } };
    const path = obj.kind === 'Namespace' ? '/api/v1/namespaces' : `/api/v1/namespaces/${obj.metadata.namespace ?? ''}/secrets`;
    await rest.call({ method: 'POST', path, body: obj }).then(() => {
      // The examples' namespace goes with the test's own when this run created it.
      if (obj.kind === 'Namespace') created.push(obj.metadata.name);
    }, (err: unknown) => { if (!isStatus(err, 409)) throw err; });
  }
  for (const name of NAMED) await ensureNamespace(name);
});

after(async () => {
  await deleteIpsAndWait(['imps']);
  await daemon.stop();
  for (const ns of created) await deleteNamespace(ns);
  rest.close();
});

/** Applies one example, waits until it reports `expected` as its managed namespaces, and removes it again. */
async function runExample(file: string, expected: string[]): Promise<ImagePullSecret> {
  const ips = parse(readFileSync(join(examples, 'imps', file), 'utf8')) as ImagePullSecret;
  assert.equal(ips.apiVersion, 'pullsecret-sync.dev/v1alpha1');
  await rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', body: ips });
  try {
    for (const ns of expected) await waitForSecret(ns, SECRET);
    const status = await eventually(async () => {
      const s = (await readIps('imps'))?.status;
      return s?.managedNamespaces?.length === expected.length && s;
    }, { message: `${file} manages ${String(expected.length)} namespaces` });
    assert.deepEqual(status.managedNamespaces, [...expected].sort());
    return ips;
  } finally {
    await deleteIpsAndWait(['imps']);
  }
}

test('example 1: namespaces annotated sidecar.istio.io/inject=true and namespaces with a pod so annotated', async () => {
  const inject = { 'sidecar.istio.io/inject': 'true' };
  const annotated = await ensureNamespace(uniqueName('annotated'), {}, inject);
  const withPod = await ensureNamespace(uniqueName('with-pod'));
  await createPod(withPod, 'app', {}, inject);
  await ensureNamespace(uniqueName('plain'));
  await ensureNamespace(uniqueName('declined'), {}, { 'sidecar.istio.io/inject': 'false' });
  const withOtherPod = await ensureNamespace(uniqueName('other-pod'));
  await createPod(withOtherPod, 'app', { 'sidecar.istio.io/inject': 'true' }); // a label, not an annotation
  injected.push(annotated, withPod);
  await runExample('01-sidecar-annotation.yaml', [annotated, withPod]);
});

test('example 2: both credentials merged into the five listed namespaces', async () => {
  await ensureNamespace(uniqueName('unlisted'));
  await runExample('02-names.yaml', NAMED);
  // The example was removed again; re-run the check on the written bytes with a fresh copy.
  const ips = parse(readFileSync(join(examples, 'imps', '02-names.yaml'), 'utf8')) as ImagePullSecret;
  await rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', body: ips });
  try {
    const secret = await waitForSecret('cert-manager', SECRET);
    assert.deepEqual(Object.keys(dockerConfigOf(secret).auths),
      ['999653000000.dkr.ecr.eu-central-1.amazonaws.com', 'https://index.docker.io/v1/']);
  } finally {
    await deleteIpsAndWait(['imps']);
  }
});

test('example 3: a namespace is selected when ANY of the six rules holds', async () => {
  const byAnnotation = await ensureNamespace(uniqueName('inject'), {}, { 'sidecar.istio.io/inject': 'true' });
  const byAccess = await ensureNamespace(uniqueName('access'), {}, { 'backyards.banzaicloud.io/image-registry-access': 'true' });
  const byRevision = await ensureNamespace(uniqueName('rev'), { 'istio.io/rev': 'canary' });
  const byPodAnnotation = await ensureNamespace(uniqueName('pod-annotation'));
  await createPod(byPodAnnotation, 'app', {}, { 'sidecar.istio.io/inject': 'true' });
  const byPodLabel = await ensureNamespace(uniqueName('pod-label'));
  await createPod(byPodLabel, 'app', { 'istio.io/rev': 'stable' });
  await ensureNamespace(uniqueName('none'), { 'istio.io/other': 'x' });
  await runExample('03-any-rule.yaml', [...NAMED, ...injected, byAnnotation, byAccess, byRevision, byPodAnnotation, byPodLabel]);
});
