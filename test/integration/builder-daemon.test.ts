// The builder front as the daemon runs it: a build pod's projected token (builder audience) gets the
// credentials of the ImagePullSecret that allows its ServiceAccount, over TLS whose CA the daemon
// publishes, and a refreshed token reaches the builder at once.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { createIps, createNamespace, deleteIpsAndWait, deleteNamespace, rest, uniqueName } from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { startGcpMetadata, type FakeGcpMetadata } from '../support/fake-clouds/gcp-metadata.ts';

let daemon: TestDaemon;
let metadata: FakeGcpMetadata;
let ca = '';
const ns = uniqueName('ci');
const resources: string[] = [];
const saved = process.env.GCE_METADATA_HOST;

function call(method: string, path: string, opts: { token?: string; body?: unknown; verify?: boolean } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${daemon.builderUrl}${path}`, {
      method, ...(opts.verify === false ? { rejectUnauthorized: false } : { ca }),
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), 'Content-Type': 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }); });
    });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

before(async () => {
  await installCrd(adminKubeConfig());
  metadata = await startGcpMetadata({ expiresIn: 4 });
  process.env.GCE_METADATA_HOST = metadata.host;
  daemon = await startTestDaemon([], { tokenCache: { floorMs: 1000 } });
  ca = (await call('GET', '/v1/ca.crt', { verify: false })).text;
  await createNamespace(ns);
});

after(async () => {
  await deleteIpsAndWait(resources);
  await daemon.stop();
  await metadata.close();
  if (saved === undefined) delete process.env.GCE_METADATA_HOST;
  else process.env.GCE_METADATA_HOST = saved;
  await deleteNamespace(ns);
  rest.close();
});

test('an allowed build pod gets the resource\'s current credentials, and a refreshed token at once', { timeout: 60_000 }, async () => {
  assert.match(ca, /BEGIN CERTIFICATE/);
  const name = uniqueName('ips');
  resources.push(name);
  await createIps(name, { registry: { gcp: [{ registries: ['europe-docker.pkg.dev'] }] },
    target: { secret: { name: 'unused' } }, builder: { serviceAccounts: [{ namespace: ns, name: 'kaniko' }] } });
  const token = await mintToken({ namespace: ns, serviceAccount: 'kaniko', audiences: ['pullsecret-sync'], create: true });
  const first = await eventually(async () => {
    const res = await call('POST', '/v1/credentials', { token, body: { serverURL: 'https://europe-docker.pkg.dev' } });
    return res.status === 200 && (JSON.parse(res.text) as { Username: string; Secret: string });
  }, { intervalMs: 500, message: 'credentials served' });
  assert.equal(first.Username, 'oauth2accesstoken');
  assert.ok(metadata.issued.includes(first.Secret));
  const second = await eventually(async () => {
    const res = await call('POST', '/v1/credentials', { token, body: { serverURL: 'europe-docker.pkg.dev' } });
    const body = JSON.parse(res.text) as { Secret: string };
    return res.status === 200 && body.Secret !== first.Secret && body;
  }, { timeoutMs: 15_000, intervalMs: 500, message: 'the refreshed token is served' }); // polls stay under the rate limit
  assert.equal(second.Secret, metadata.issued.at(-1));

  const stranger = await mintToken({ namespace: ns, serviceAccount: 'stranger', audiences: ['pullsecret-sync'], create: true });
  assert.equal((await call('POST', '/v1/credentials', { token: stranger, body: { serverURL: 'europe-docker.pkg.dev' } })).status, 403);
  const wrongAudience = await mintToken({ namespace: ns, serviceAccount: 'kaniko', audiences: ['elsewhere'] });
  assert.equal((await call('POST', '/v1/credentials', { token: wrongAudience, body: { serverURL: 'europe-docker.pkg.dev' } })).status, 401);
  const metrics = await (await fetch(`http://127.0.0.1:${String(daemon.metricsPort)}/metrics`)).text();
  assert.match(metrics, /pullsecret_sync_builder_requests_total\{endpoint="credentials",result="ok"\} [1-9]/);
  assert.match(metrics, /pullsecret_sync_builder_requests_total\{endpoint="credentials",result="forbidden"\} 1/);
});
