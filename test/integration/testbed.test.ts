// The testbed is a real Kubernetes control plane: watches stream, RBAC decides, namespaces finish
// deleting, the garbage collector collects, the registry authenticates and moto speaks ECR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreV1Api, RbacAuthorizationV1Api, VersionApi, Watch, type V1Namespace } from '@kubernetes/client-node';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { adminKubeConfig, mintToken, tokenKubeConfig } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { eventually, uniqueName } from '../support/eventually.ts';
import { makeOciImage } from '../support/oci-image.ts';
import { scratchDir } from '../support/scratch.ts';
import { authFile, inspect, push } from '../support/skopeo.ts';

const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);

const statusOf = (err: unknown) => (err as { code?: number }).code;

test('the API server reports the pinned Kubernetes version', async () => {
  const bed = currentTestbed();
  const version = await kc.makeApiClient(VersionApi).getCode();
  assert.equal(version.gitVersion, bed.kubernetesVersion);
});

test('a namespace can be created, read and watched', async () => {
  const name = uniqueName('smoke');
  const seen: string[] = [];
  const watch = await new Watch(kc).watch('/api/v1/namespaces', { fieldSelector: `metadata.name=${name}` },
    (phase, obj: V1Namespace) => { seen.push(`${phase} ${obj.metadata?.name ?? ''}`); }, () => undefined);
  try {
    await core.createNamespace({ body: { metadata: { name, labels: { smoke: 'yes' } } } });
    const read = await core.readNamespace({ name });
    assert.equal(read.metadata?.labels?.smoke, 'yes');
    await eventually(() => seen.includes(`ADDED ${name}`), { message: 'watch delivers ADDED' });
  } finally {
    watch.abort();
    await core.deleteNamespace({ name });
  }
});

test('RBAC refuses a ServiceAccount until a RoleBinding allows it', async () => {
  const namespace = uniqueName('rbac');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const token = await mintToken({ namespace, serviceAccount: 'reader', create: true });
  const asReader = tokenKubeConfig(token).makeApiClient(CoreV1Api);
  await assert.rejects(asReader.listNamespacedSecret({ namespace }), (err) => statusOf(err) === 403);
  await rbac.createNamespacedRole({ namespace, body: {
    metadata: { name: 'secret-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
  } });
  await rbac.createNamespacedRoleBinding({ namespace, body: {
    metadata: { name: 'secret-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
  } });
  await eventually(() => asReader.listNamespacedSecret({ namespace }), { message: 'RoleBinding takes effect' });
  await core.deleteNamespace({ name: namespace });
});

test('deleting a namespace completes', async () => {
  const name = uniqueName('gone');
  await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'content' }, data: { a: 'b' } } });
  await core.deleteNamespace({ name });
  await eventually(async () => {
    try {
      await core.readNamespace({ name });
      return false;
    } catch (err) {
      return statusOf(err) === 404;
    }
  }, { timeoutMs: 180_000, message: 'namespace deletion finishes' }); // behind earlier tests' deletions
});

test('the garbage collector removes an object whose owner is gone', async () => {
  const namespace = uniqueName('gc');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'dependent', ownerReferences: [{
    apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '',
  }] } } });
  await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });
  await eventually(async () => {
    try {
      await core.readNamespacedConfigMap({ namespace, name: 'dependent' });
      return false;
    } catch (err) {
      return statusOf(err) === 404;
    }
  }, { timeoutMs: 60_000, message: 'dependent is garbage-collected' });
  await core.deleteNamespace({ name: namespace });
});

test('the registry takes a push with credentials and refuses one without', async () => {
  const registry = currentTestbed().registry;
  assert.ok(registry, 'the bed runs a registry');
  const user = registry.users[0]!;
  const image = makeOciImage(scratchDir('img'));
  const target = `${registry.host}/smoke/hello:v1`;
  const refused = await push(image, target, registry.certDir);
  assert.equal(refused.ok, false);
  assert.match(refused.stderr, /unauthorized|authentication required/i);
  const pushed = await push(image, target, registry.certDir, `${user.username}:${user.password}`);
  assert.equal(pushed.ok, true, pushed.stderr);
  assert.equal((await inspect(target, registry.certDir)).ok, false, 'anonymous pull is refused');
  const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64');
  const authfile = authFile(JSON.stringify({ auths: { [registry.host]: { auth } } }));
  const pulled = await inspect(target, registry.certDir, authfile);
  assert.equal(pulled.ok, true, pulled.stderr);
});

test('moto answers ECR GetAuthorizationToken', async () => {
  const moto = currentTestbed().moto;
  assert.ok(moto, 'the bed runs moto');
  const ecr = new ECRClient({
    region: 'eu-central-1', endpoint: moto.endpoint,
    credentials: { accessKeyId: 'AKIDTESTBED', secretAccessKey: 'testbed-secret' },
  });
  const response = await ecr.send(new GetAuthorizationTokenCommand({}));
  const data = response.authorizationData?.[0];
  assert.ok(data?.authorizationToken);
  assert.match(Buffer.from(data.authorizationToken, 'base64').toString(), /^AWS:.+/);
  assert.match(data.proxyEndpoint ?? '', /dkr\.ecr\.eu-central-1\.amazonaws\.com/);
});
