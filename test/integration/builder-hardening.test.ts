// The builder front as an attacker inside the cluster would try it, against the daemon (real controller,
// chart RBAC, real TokenReviews): a caller limited by builder.repositories gets a token for its
// repositories only (proven by skopeo pushes to a token-auth registry), a deleted ServiceAccount's token
// stops working within 5 s, malformed input gets 4xx JSON answers, and 20 concurrent oversized manifest
// answers leave the process's memory bounded.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { MAX_MANIFEST_BYTES } from '../../src/builder/registry-client.ts';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { helperGet as runHelper } from '../support/credential-helper.ts';
import { caFetch } from '../support/https-fetch.ts';
import { rememberSecret } from '../support/leaks.ts';
import { makeOciImage } from '../support/oci-image.ts';
import { pushWithRegistryToken } from '../support/skopeo.ts';
import { startTokenRegistry, type TokenRegistry } from '../support/token-realm.ts';

const bed = currentTestbed();
const basicRegistry = bed.registry!;
const ns = uniqueName('build');
const work = mkdtempSync(join(tmpdir(), 'builder-hardening-'));
const pusher = { username: 'ci-pusher', password: rememberSecret('token-registry-password') };
const resources: string[] = [];
const BIG_CALLERS = 20;
let daemon: TestDaemon;
let tokenRegistry: TokenRegistry;
let bigRegistry: { server: Server; host: string; bytesSent: () => number };
let ca = '';

function call(method: string, path: string, opts: { token?: string; body?: unknown; verify?: boolean } = {}): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${daemon.builderUrl}${path}`, {
      method, ...(opts.verify === false ? { rejectUnauthorized: false } : { ca }), agent: false, timeout: 30_000,
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), 'Content-Type': 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const json = res.headers['content-type'] === 'application/json' ? JSON.parse(text) as Record<string, unknown> : {};
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('timeout', () => { req.destroy(new Error('builder API call timed out')); });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

/** A registry whose HEAD answers carry no digest and whose GET answers stream 256 MiB, lazily. */
async function startBigRegistry(): Promise<typeof bigRegistry> {
  let sent = 0;
  const server = createServer({ cert: readFileSync(bed.pki.registry.cert), key: readFileSync(bed.pki.registry.key) }, (req, res) => {
    res.on('error', () => undefined);
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    let left = 1024;
    const body = new Readable({ read() { sent += chunk.length; this.push(left-- > 0 ? chunk : null); } });
    body.on('error', () => undefined);
    body.pipe(res);
    res.on('close', () => { body.destroy(); });
  });
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, bytesSent: () => sent };
}

before(async () => {
  await installCrd(adminKubeConfig());
  tokenRegistry = await startTokenRegistry({ dir: join(work, 'token-registry'), ca: bed.pki.ca.cert, tls: bed.pki.registry, users: [pusher] });
  bigRegistry = await startBigRegistry();
  daemon = await startTestDaemon([], { builderFetch: caFetch(readFileSync(bed.pki.ca.cert)) });
  ca = (await call('GET', '/v1/ca.crt', { verify: false })).text;
  await createNamespace(ns);
  const basicUser = basicRegistry.users[0]!;
  await createSecret(dockerConfigSecret(ns, 'registries', {
    [tokenRegistry.registry.host]: pusher, [basicRegistry.host]: basicUser, [bigRegistry.host]: { username: 'big', password: rememberSecret('big-registry-password') },
  }));
  const limited = uniqueName('limited');
  const open = uniqueName('open');
  resources.push(limited, open);
  await createIps(limited, { registry: { credentials: [{ name: 'registries', namespace: ns }] }, target: { namespaces: { names: [ns] }, secret: { name: 'limited-pull' } },
    builder: { serviceAccounts: [{ namespace: ns, name: 'builder' }, { namespace: ns, name: 'ephemeral' }],
      repositories: [`${tokenRegistry.registry.host}/team/app`, `${tokenRegistry.registry.host}/ci/`, `${basicRegistry.host}/basic/`] } });
  await createIps(open, { registry: { credentials: [{ name: 'registries', namespace: ns }] }, target: { namespaces: { names: [ns] }, secret: { name: 'open-pull' } },
    builder: { serviceAccounts: Array.from({ length: BIG_CALLERS }, (_, i) => ({ namespace: ns, name: `big-${String(i)}` })) } });
});

after(async () => {
  await deleteIpsAndWait(resources);
  await daemon.stop();
  await tokenRegistry.close();
  await new Promise<void>((resolve) => { bigRegistry.server.close(() => { resolve(); }); bigRegistry.server.closeAllConnections(); });
  await deleteNamespace(ns);
  rest.close();
  rmSync(work, { recursive: true, force: true });
});

function helperGet(saToken: string, serverURL: string): ReturnType<typeof runHelper> {
  const tokenFile = join(work, 'helper-token');
  const caFile = join(work, 'builder-ca.crt');
  writeFileSync(tokenFile, saToken, { mode: 0o600 });
  writeFileSync(caFile, ca);
  return runHelper({ ...process.env, PULLSECRET_SYNC_URL: daemon.builderUrl, PULLSECRET_SYNC_TOKEN_FILE: tokenFile, PULLSECRET_SYNC_CA_FILE: caFile }, serverURL);
}

async function token(sa: string): Promise<string> {
  return rememberSecret(await mintToken({ namespace: ns, serviceAccount: sa, audiences: ['pullsecret-sync'], create: true }));
}

test('a caller limited to repositories gets a token for them only: a push there works, to a neighbour it fails', { timeout: 90_000 }, async () => {
  const builder = await token('builder');
  const host = tokenRegistry.registry.host;
  const answer = await eventually(async () => {
    const res = await call('POST', '/v1/credentials', { token: builder, body: { serverURL: `https://${host}` } });
    return res.status === 200 && res.json;
  }, { intervalMs: 500, message: 'scoped credentials served' });
  assert.deepEqual(Object.keys(answer).sort(), ['RegistryToken', 'Repositories', 'ServerURL', 'expiresAt']);
  assert.deepEqual(answer.Repositories, ['team/app']);
  assert.notEqual(answer.RegistryToken, pusher.password);
  assert.deepEqual(tokenRegistry.grants.at(-1), { user: pusher.username, scopes: ['repository:team/app:pull,push'] });
  const registryToken = rememberSecret(String(answer.RegistryToken));

  const image = makeOciImage(join(work, 'image'), 't1');
  const allowed = await pushWithRegistryToken(image, `${host}/team/app:t1`, tokenRegistry.registry.certDir, registryToken);
  assert.ok(allowed.ok, allowed.stderr);
  const neighbour = await pushWithRegistryToken(image, `${host}/team/appendix:t1`, tokenRegistry.registry.certDir, registryToken);
  assert.equal(neighbour.ok, false, 'the neighbour repository refuses the token');
  assert.match(neighbour.stderr, /unauthorized|authentication required|denied/i);

  // Below a prefix entry, the caller names the repository; the token covers that one.
  const below = await call('POST', '/v1/credentials', { token: builder, body: { serverURL: `${host}/ci/build-7` } });
  assert.equal(below.status, 200, below.text);
  assert.deepEqual(below.json.Repositories, ['ci/build-7']);
  const ciPush = await pushWithRegistryToken(image, `${host}/ci/build-7:t1`, tokenRegistry.registry.certDir, rememberSecret(String(below.json.RegistryToken)));
  assert.ok(ciPush.ok, ciPush.stderr);

  // The Docker credential-helper protocol cannot carry a registry token: the shipped helper says so.
  const helper = await helperGet(builder, host);
  assert.notEqual(helper.code, 0);
  assert.equal(helper.stdout, '');
  assert.match(helper.stderr, /limited to repositories and gets a registry token/);

  const appendix = await call('POST', '/v1/credentials', { token: builder, body: { serverURL: `${host}/team/appendix` } });
  assert.equal(appendix.status, 403, 'allow-list entries match whole path segments');
  const basic = await call('POST', '/v1/credentials', { token: builder, body: { serverURL: `${basicRegistry.host}/basic/app` } });
  assert.equal(basic.status, 403);
  assert.match(String(basic.json.message), /does not use token authentication/);
});

test('a deleted ServiceAccount\'s token is refused within 5 s', { timeout: 60_000 }, async () => {
  const ephemeral = await token('ephemeral');
  const body = { serverURL: `${tokenRegistry.registry.host}/team/app` };
  await eventually(async () => (await call('POST', '/v1/credentials', { token: ephemeral, body })).status === 200, { intervalMs: 500, message: 'served before deletion' });
  await rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/serviceaccounts/ephemeral` });
  const deleted = Date.now();
  await eventually(async () => (await call('POST', '/v1/credentials', { token: ephemeral, body })).status === 401,
    { timeoutMs: 5000, intervalMs: 250, message: 'the deleted ServiceAccount\'s token refused within 5 s' });
  console.error(`# deleted ServiceAccount refused after ${String(Date.now() - deleted)} ms`);
});

test('malformed input gets a JSON 400 naming the rule; wrong methods 405; oversized URLs 414', async () => {
  const builder = await token('builder');
  for (const [serverURL, rule] of [['ftp://host', /https scheme/], [' host ', /no spaces/], ['host/../../evil.io', /dot segments/],
    ['gcr.io/proj/../other', /dot segments/], ['https://u:p@r.io', /user information/]] as const) {
    const res = await call('POST', '/v1/credentials', { token: builder, body: { serverURL } });
    assert.equal(res.status, 400, serverURL);
    assert.match(String(res.json.message), rule, serverURL);
  }
  const post = await call('POST', '/v1/images', { token: builder, body: { ref: 'x' } });
  assert.deepEqual([post.status, post.json], [405, { message: 'use GET' }]);
  const options = await call('OPTIONS', '/v1/credentials', { token: builder });
  assert.deepEqual([options.status, options.json], [405, { message: 'use POST' }]);
  const huge = await call('GET', `/v1/images?ref=${'a'.repeat(1024 * 1024)}`, { token: builder });
  assert.equal(huge.status, 414);
  assert.match(String(huge.json.message), /longer than/);
});

test('20 concurrent oversized manifest answers: each a 502 naming the cap, memory bounded', { timeout: 90_000 }, async () => {
  const tokens = await Promise.all(Array.from({ length: BIG_CALLERS }, (_, i) => token(`big-${String(i)}`)));
  const ref = encodeURIComponent(`${bigRegistry.host}/big/app:1`);
  await eventually(async () => (await call('POST', '/v1/credentials', { token: tokens[0], body: { serverURL: bigRegistry.host } })).status === 200,
    { intervalMs: 500, message: 'the open resource serves credentials' });
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
  const answers = await Promise.all(tokens.map((t) => call('GET', `/v1/images?ref=${ref}`, { token: t })));
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  for (const a of answers) {
    assert.equal(a.status, 502, a.text);
    assert.match(String(a.json.message), /manifest is larger than 4 MiB/);
  }
  const growthMiB = (peak - baseline) / 1024 / 1024;
  console.error(`# RSS ${String(Math.round(baseline / 1048576))} MiB -> peak ${String(Math.round(peak / 1048576))} MiB; registry sent ${String(Math.round(bigRegistry.bytesSent() / 1048576))} MiB`);
  // The bound the cap gives: at most 4 MiB buffered per request, plus slack for TLS and stream buffers.
  const boundMiB = (BIG_CALLERS * MAX_MANIFEST_BYTES) / 1024 / 1024 + 64;
  assert.ok(growthMiB < boundMiB, `RSS grew ${growthMiB.toFixed(0)} MiB, bound ${String(boundMiB)} MiB`);
  assert.ok(bigRegistry.bytesSent() < BIG_CALLERS * 16 * 1024 * 1024, 'reading stopped near the cap');
});
