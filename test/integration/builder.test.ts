// The builder front end to end: real TokenReviews against the test API server, real ServiceAccount tokens,
// the testbed's TLS registry (pushed to by skopeo through the shipped credential helper) and moto for ECR
// repository creation. BuilderAccess is a stub over a hand-made ImagePullSecret, standing in for the
// controller, so the test can change the credentials it hands out.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import {
  DescribeRepositoriesCommand, ECRClient, GetLifecyclePolicyCommand, GetRepositoryPolicyCommand, ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';
import type { BuilderAccess, RegistryCredentials } from '../../src/builder/access.ts';
import { allowsServiceAccount } from '../../src/builder/authz.ts';
import { EcrRepositoryManager } from '../../src/builder/ecr-repositories.ts';
import { startBuilderServer, type BuilderServer } from '../../src/builder/server.ts';
import { generateTls, servingHosts } from '../../src/builder/tls.ts';
import { KubeRest } from '../../src/kube/rest.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createNamespace, deleteNamespace } from '../support/cluster.ts';
import { uniqueName } from '../support/eventually.ts';
import { helperGet as runHelper, HELPER } from '../support/credential-helper.ts';
import { caFetch, textOf } from '../support/https-fetch.ts';
import { makeOciImage } from '../support/oci-image.ts';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';

const run = promisify(execFile);
const AUDIENCE = 'pullsecret-sync';
const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ACCESS_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'ci', Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }] });
const LIFECYCLE_POLICY = JSON.stringify({ rules: [{ rulePriority: 1, description: 'expire untagged', action: { type: 'expire' },
  selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 } }] });

const bed = currentTestbed();
const registry = bed.registry!;
const user = registry.users[0]!;
const motoEndpoint = bed.moto!.endpoint;
const ns = uniqueName('builder');
const work = mkdtempSync(join(tmpdir(), 'builder-test-'));
const logLines: string[] = [];
const secrets: string[] = [user.password];
const rest = new KubeRest(adminKubeConfig());
const tls = await generateTls({ hosts: servingHosts() });
const caFile = join(work, 'ca.crt');
writeFileSync(caFile, tls.ca ?? '');

function resource(name: string, builder: ImagePullSecret['spec']['builder']): ImagePullSecret {
  return { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name, uid: `${name}-uid`, generation: 1, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { registry: {}, target: { secret: { name: 'pull' } }, ...(builder ? { builder } : {}) } };
}

const main = resource('builders', {
  serviceAccounts: [{ namespace: ns, name: 'kaniko' }, { namespace: ns, name: 'limited' }],
  ecrRepositoryCreation: { enabled: true, imageTagMutability: 'IMMUTABLE', scanOnPush: true, accessPolicy: ACCESS_POLICY,
    lifecyclePolicy: LIFECYCLE_POLICY, tags: [{ key: 'team', value: 'platform' }] },
});
const scoped = resource('scoped', { serviceAccounts: [{ namespace: ns, name: 'scoped' }], repositories: [`${registry.host}/allowed/`] });
const credentials = new Map<string, RegistryCredentials>();
function setRegistryPassword(password: string): void {
  const entry = { registry: registry.host, username: user.username, password, auth: Buffer.from(`${user.username}:${password}`).toString('base64') };
  credentials.set(registry.host, { entry, expiresAt: new Date('2030-01-01T00:00:00Z') });
}
setRegistryPassword(user.password);
credentials.set(ECR_HOST, { entry: { registry: ECR_HOST, username: 'AWS', password: 'ecr-token-value', auth: Buffer.from('AWS:ecr-token-value').toString('base64') } });
secrets.push('ecr-token-value');
const access: BuilderAccess = {
  resourcesFor: (sa) => [main, scoped].filter((r) => allowsServiceAccount(r, sa)),
  credentials: (name, key) => (name === main.metadata.name || name === scoped.metadata.name ? credentials.get(key) : undefined),
};

const client = caFetch(tls.ca ?? '');
let server: BuilderServer;
let limitedServer: BuilderServer;
const tokens: Record<string, string> = {};

async function api(base: BuilderServer, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) };
  const res = await client(`${base.url}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await textOf(res);
  return { status: res.status, json: (res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : { text }) as Record<string, unknown> };
}

function ecrClient(): ECRClient {
  return new ECRClient({ region: 'us-east-1', endpoint: motoEndpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

before(async () => {
  await createNamespace(ns);
  for (const sa of ['kaniko', 'limited', 'stranger', 'scoped']) {
    tokens[sa] = await mintToken({ namespace: ns, serviceAccount: sa, audiences: [AUDIENCE], create: true });
  }
  tokens.otherAudience = await mintToken({ namespace: ns, serviceAccount: 'kaniko', audiences: ['some-other-audience'] });
  secrets.push(...Object.values(tokens));
  const logger = createLogger('debug', new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(chunk.toString()); done(); } }));
  const common = { tls, access, rest, audience: AUDIENCE, logger, fetch: caFetch(readFileSync(registry.caFile)) };
  server = await startBuilderServer({ ...common, addr: '127.0.0.1:0', rateLimit: { qps: 100, burst: 200 },
    ecr: new EcrRepositoryManager({ client: () => ecrClient() }) });
  limitedServer = await startBuilderServer({ ...common, addr: '127.0.0.1:0', rateLimit: { qps: 0.001, burst: 2 } });
});

after(async () => {
  await server.close();
  await limitedServer.close();
  await deleteNamespace(ns);
  rest.close();
  rmSync(work, { recursive: true, force: true });
});

test('the CA and the credential helper are served without a token', async () => {
  const ca = await api(server, 'GET', '/v1/ca.crt');
  assert.equal(ca.status, 200);
  assert.equal(ca.json.text, tls.ca);
  const helper = await api(server, 'GET', '/v1/credential-helper');
  assert.equal(helper.status, 200);
  assert.equal(helper.json.text, readFileSync(HELPER, 'utf8'));
});

test('no token, a garbage token or a token for another audience get 401', async () => {
  for (const token of [undefined, 'not-a-token', tokens.otherAudience]) {
    const res = await api(server, 'POST', '/v1/credentials', token, { serverURL: registry.host });
    assert.equal(res.status, 401, String(res.json.message));
    assert.deepEqual(Object.keys(res.json), ['message']);
  }
});

test('an authenticated ServiceAccount that no resource allows gets 403 whatever the registry', async () => {
  const known = await api(server, 'POST', '/v1/credentials', tokens.stranger, { serverURL: registry.host });
  const unknown = await api(server, 'POST', '/v1/credentials', tokens.stranger, { serverURL: 'unknown.example.com' });
  assert.equal(known.status, 403);
  assert.deepEqual(unknown, known);
  const outside = await api(server, 'GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app:t1`)}`, tokens.scoped);
  assert.equal(outside.status, 403);
  assert.match(String(outside.json.message), /outside the builder\.repositories/);
});

test('a registry the resources have no credentials for gets 404; bad input gets 400', async () => {
  assert.equal((await api(server, 'POST', '/v1/credentials', tokens.kaniko, { serverURL: 'unknown.example.com' })).status, 404);
  assert.equal((await api(server, 'POST', '/v1/credentials', tokens.kaniko, { server: 'x' })).status, 400);
  assert.equal((await api(server, 'GET', '/v1/images?ref=Not%20A%20Ref', tokens.kaniko)).status, 400);
});

function helperEnv(): NodeJS.ProcessEnv {
  const tokenFile = join(work, 'token');
  writeFileSync(tokenFile, tokens.kaniko ?? '', { mode: 0o600 });
  return { ...process.env, PULLSECRET_SYNC_URL: server.url, PULLSECRET_SYNC_TOKEN_FILE: tokenFile, PULLSECRET_SYNC_CA_FILE: caFile };
}

function helperGet(serverURL: string): ReturnType<typeof runHelper> {
  return runHelper(helperEnv(), serverURL);
}

test("the helper's get prints the registry credentials; an unknown registry fails as Docker expects", async () => {
  const ok = await helperGet(registry.host);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { ServerURL: registry.host, Username: user.username, Secret: user.password });
  const missing = await helperGet('unknown.example.com');
  assert.notEqual(missing.code, 0);
  assert.equal(missing.stdout.trim(), 'credentials not found in native keychain');
  assert.match(missing.stderr, /no credentials for unknown\.example\.com/);
});

test('skopeo pushes to the registry with the helper as its credHelper', async () => {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(HELPER, join(bin, 'docker-credential-pullsecret-sync'));
  const authfile = join(work, 'auth.json');
  writeFileSync(authfile, JSON.stringify({ credHelpers: { [registry.host]: 'pullsecret-sync' } }));
  const image = makeOciImage(join(work, 'image'), 't1');
  const env = { ...helperEnv(), PATH: `${bin}:${process.env.PATH ?? ''}` };
  await run('skopeo', ['copy', '--insecure-policy', `--dest-authfile=${authfile}`, `--dest-cert-dir=${registry.certDir}`,
    image, `docker://${registry.host}/builds/app:t1`], { env, timeout: 60_000 });
});

test('GET /v1/images answers true with the digest for a pushed tag and false for a missing one', async () => {
  const { stdout } = await run('skopeo', ['inspect', '--format', '{{.Digest}}', `--cert-dir=${registry.certDir}`,
    `--creds=${user.username}:${user.password}`, `docker://${registry.host}/builds/app:t1`]);
  const pushed = await api(server, 'GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app:t1`)}`, tokens.kaniko);
  assert.equal(pushed.status, 200, String(pushed.json.message));
  assert.deepEqual(pushed.json, { exists: true, digest: stdout.trim() });
  const byDigest = await api(server, 'GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app@${stdout.trim()}`)}`, tokens.kaniko);
  assert.deepEqual(byDigest.json, { exists: true, digest: stdout.trim() });
  const missing = await api(server, 'GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app:missing`)}`, tokens.kaniko);
  assert.deepEqual(missing.json, { exists: false });
});

test('POST /v1/repositories creates the ECR repository in moto with policies and tags, idempotently', async () => {
  const repositoryName = `builds/${uniqueName('app')}`;
  const ref = `${ECR_HOST}/${repositoryName}:v1`;
  const first = await api(server, 'POST', '/v1/repositories', tokens.kaniko, { ref });
  assert.equal(first.status, 200, String(first.json.message));
  assert.deepEqual(first.json, { registry: ECR_HOST, repository: repositoryName, created: true });
  const ecr = ecrClient();
  const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
  const repo = described.repositories?.[0];
  assert.equal(repo?.imageTagMutability, 'IMMUTABLE');
  assert.equal(repo.imageScanningConfiguration?.scanOnPush, true);
  const policy = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName }));
  assert.deepEqual(JSON.parse(policy.policyText ?? '{}'), JSON.parse(ACCESS_POLICY));
  const lifecycle = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName }));
  assert.deepEqual(JSON.parse(lifecycle.lifecyclePolicyText ?? '{}'), JSON.parse(LIFECYCLE_POLICY));
  const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: repo.repositoryArn }));
  assert.deepEqual(tags.tags, [{ Key: 'team', Value: 'platform' }]);

  const again = await api(server, 'POST', '/v1/repositories', tokens.kaniko, { ref });
  assert.deepEqual(again.json, { registry: ECR_HOST, repository: repositoryName, created: false });
  // A manager without the recent-ensure cache asks ECR again and still finds nothing to do.
  assert.deepEqual(await new EcrRepositoryManager({ client: () => ecr, cacheTtlMs: 0 }).ensure(main, ECR_HOST, repositoryName), { created: false });
  assert.equal((await api(server, 'POST', '/v1/repositories', tokens.kaniko, { ref: `${registry.host}/builds/app` })).status, 400);
});

test('credentials served follow what BuilderAccess returns', async () => {
  setRegistryPassword('rotated-password-value');
  secrets.push('rotated-password-value');
  const res = await api(server, 'POST', '/v1/credentials', tokens.kaniko, { serverURL: `https://${registry.host}` });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { ServerURL: `https://${registry.host}`, Username: user.username, Secret: 'rotated-password-value', expiresAt: '2030-01-01T00:00:00.000Z' });
  setRegistryPassword(user.password);
});

test('each ServiceAccount has its own rate limit: over it, 429', async () => {
  const codes: number[] = [];
  for (let i = 0; i < 3; i++) codes.push((await api(limitedServer, 'POST', '/v1/credentials', tokens.limited, { serverURL: registry.host })).status);
  assert.deepEqual(codes, [200, 200, 429]);
  assert.equal((await api(limitedServer, 'POST', '/v1/credentials', tokens.kaniko, { serverURL: registry.host })).status, 200);
});

test('no token or password ever reaches the logs', () => {
  assert.ok(logLines.length > 0);
  const all = logLines.join('');
  for (const secret of secrets) assert.ok(!all.includes(secret), 'a secret value appears in the logs');
  assert.match(all, /"status":403/);
});
