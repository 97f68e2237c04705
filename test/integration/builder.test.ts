// The builder front end to end, as the daemon serves it: the real controller (in the test process, with the
// chart's RBAC) answers from real ImagePullSecrets, with real TokenReviews against the test API server,
// real ServiceAccount tokens, the testbed's TLS registry (pushed to by skopeo through the shipped credential
// helper) and moto for the ECR token and repository creation (behind the ECR proxy, which gives moto's
// tokens a lifetime). The serving certificate is mounted from files, so the test knows the CA to expect.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import {
  DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand, GetLifecyclePolicyCommand, GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { EcrRepositoryManager } from '../../src/builder/ecr-repositories.ts';
import { generateTls, servingHosts } from '../../src/builder/tls.ts';
import { RATE_LIMIT } from '../../src/daemon/builder.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, patchSecret, readIps, rest, uniqueName,
} from '../support/cluster.ts';
import { helperGet as runHelper, HELPER } from '../support/credential-helper.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { startEcrProxy, type EcrProxy } from '../support/fake-clouds/ecr-proxy.ts';
import { caFetch, textOf } from '../support/https-fetch.ts';
import { rememberSecret } from '../support/leaks.ts';
import { makeOciImage } from '../support/oci-image.ts';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';

const run = promisify(execFile);
const AUDIENCE = 'pullsecret-sync';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ECR_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const AWS_KEYS = { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: rememberSecret(`wJalrXUtnFEMI/K7MDENG/${randomUUID()}`) };
const ACCESS_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'ci', Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }] });
const LIFECYCLE_POLICY = JSON.stringify({ rules: [{ rulePriority: 1, description: 'expire untagged', action: { type: 'expire' },
  selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 } }] });

const bed = currentTestbed();
const registry = bed.registry!;
const user = registry.users[0]!;
const moto = bed.moto?.endpoint ?? assert.fail('the testbed runs moto');
const ns = uniqueName('builder');
const main = uniqueName('builders');
const scoped = uniqueName('scoped');
const work = mkdtempSync(join(tmpdir(), 'builder-test-'));
/** Every secret value handed out or served, searched for in the daemon's logs at the end. */
const secrets: string[] = [user.password, AWS_KEYS.secretKey];
const tls = await generateTls({ hosts: servingHosts() });
const tlsFiles = { cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), ca: join(work, 'ca.crt') };
writeFileSync(tlsFiles.cert, tls.cert);
writeFileSync(tlsFiles.key, tls.key, { mode: 0o600 });
writeFileSync(tlsFiles.ca, tls.ca ?? '');

const client = caFetch(tls.ca ?? '');
let daemon: TestDaemon;
let ecrProxy: EcrProxy;
const tokens: Record<string, string> = {};

async function api(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) };
  const res = await client(`${daemon.builderUrl}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await textOf(res);
  return { status: res.status, json: (res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : { text }) as Record<string, unknown> };
}

function ecrClient(): ECRClient {
  return new ECRClient({ region: REGION, endpoint: moto, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

/** The password of the token moto issues for AWS_KEYS (moto's tokens depend on the keys alone). */
async function motoPassword(): Promise<string> {
  const direct = await new ECRClient({ region: REGION, endpoint: moto,
    credentials: { accessKeyId: AWS_KEYS.accessKeyID, secretAccessKey: AWS_KEYS.secretKey } }).send(new GetAuthorizationTokenCommand({}));
  return Buffer.from(direct.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString().replace(/^AWS:/, '');
}

/** The source Secret of both resources: the testbed registry's user, with `password`. */
function registrySource(password: string): ReturnType<typeof dockerConfigSecret> {
  return dockerConfigSecret(ns, 'registries', { [registry.host]: { username: user.username, password } });
}

before(async () => {
  await installCrd(adminKubeConfig());
  ecrProxy = await startEcrProxy(moto);
  daemon = await startTestDaemon([`--builder-tls-cert=${tlsFiles.cert}`, `--builder-tls-key=${tlsFiles.key}`, `--builder-tls-ca=${tlsFiles.ca}`],
    { builderFetch: caFetch(readFileSync(registry.caFile)) });
  await createNamespace(ns);
  for (const sa of ['kaniko', 'limited', 'stranger', 'scoped']) {
    tokens[sa] = await mintToken({ namespace: ns, serviceAccount: sa, audiences: [AUDIENCE], create: true });
  }
  tokens.otherAudience = await mintToken({ namespace: ns, serviceAccount: 'kaniko', audiences: ['some-other-audience'] });
  secrets.push(...Object.values(tokens).map((t) => rememberSecret(t)));
  await createSecret(registrySource(user.password));
  await createSecret({ metadata: { name: 'aws', namespace: ns }, type: 'Opaque', stringData: { ...AWS_KEYS } } as never);
  const target = (secret: string): { namespaces: { names: string[] }; secret: { name: string } } => ({ namespaces: { names: [ns] }, secret: { name: secret } });
  // `scoped` first: the informer sees resources in the order they were written, so once `main` serves, `scoped` is known.
  await createIps(scoped, { registry: { credentials: [{ name: 'registries', namespace: ns }] }, target: target('scoped-pull'),
    builder: { serviceAccounts: [{ namespace: ns, name: 'scoped' }], repositories: [`${registry.host}/allowed/`] } });
  await createIps(main, {
    registry: { credentials: [{ name: 'registries', namespace: ns }],
      ecr: [{ region: REGION, accountIDs: [ACCOUNT], endpoint: ecrProxy.url, credentialsSecret: { name: 'aws', namespace: ns } }] },
    target: target('builders-pull'),
    builder: { serviceAccounts: [{ namespace: ns, name: 'kaniko' }, { namespace: ns, name: 'limited' }],
      ecrRepositoryCreation: { enabled: true, imageTagMutability: 'IMMUTABLE', scanOnPush: true, accessPolicy: ACCESS_POLICY,
        lifecyclePolicy: LIFECYCLE_POLICY, tags: [{ key: 'team', value: 'platform' }] } },
  });
  await eventually(async () => {
    const answers = await Promise.all([registry.host, ECR_HOST].map((serverURL) => api('POST', '/v1/credentials', tokens.kaniko, { serverURL })));
    return answers.every((a) => a.status === 200);
  }, { intervalMs: 500, timeoutMs: 30_000, message: 'the controller serves the registry and ECR credentials' }); // 4 calls/s: under the rate limit
});

after(async () => {
  await deleteIpsAndWait([main, scoped]);
  await daemon.stop();
  await ecrProxy.close();
  await deleteNamespace(ns);
  rest.close();
  rmSync(work, { recursive: true, force: true });
});

test('the CA and the credential helper are served without a token', async () => {
  const ca = await api('GET', '/v1/ca.crt');
  assert.equal(ca.status, 200);
  assert.equal(ca.json.text, tls.ca);
  const helper = await api('GET', '/v1/credential-helper');
  assert.equal(helper.status, 200);
  assert.equal(helper.json.text, readFileSync(HELPER, 'utf8'));
});

test('no token, a garbage token or a token for another audience get 401', async () => {
  for (const token of [undefined, 'not-a-token', tokens.otherAudience]) {
    const res = await api('POST', '/v1/credentials', token, { serverURL: registry.host });
    assert.equal(res.status, 401, String(res.json.message));
    assert.deepEqual(Object.keys(res.json), ['message']);
  }
});

test('an authenticated ServiceAccount that no resource allows gets 403 whatever the registry', async () => {
  const known = await api('POST', '/v1/credentials', tokens.stranger, { serverURL: registry.host });
  const unknown = await api('POST', '/v1/credentials', tokens.stranger, { serverURL: 'unknown.example.com' });
  assert.equal(known.status, 403);
  assert.deepEqual(unknown, known);
  const outside = await api('GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app:t1`)}`, tokens.scoped);
  assert.equal(outside.status, 403);
  assert.match(String(outside.json.message), /outside the builder\.repositories/);
});

test('a registry the resources have no credentials for gets 404; bad input gets 400', async () => {
  assert.equal((await api('POST', '/v1/credentials', tokens.kaniko, { serverURL: 'unknown.example.com' })).status, 404);
  assert.equal((await api('POST', '/v1/credentials', tokens.kaniko, { server: 'x' })).status, 400);
  assert.equal((await api('GET', '/v1/images?ref=Not%20A%20Ref', tokens.kaniko)).status, 400);
});

function helperEnv(): NodeJS.ProcessEnv {
  const tokenFile = join(work, 'token');
  writeFileSync(tokenFile, tokens.kaniko ?? '', { mode: 0o600 });
  return { ...process.env, PULLSECRET_SYNC_URL: daemon.builderUrl, PULLSECRET_SYNC_TOKEN_FILE: tokenFile, PULLSECRET_SYNC_CA_FILE: tlsFiles.ca };
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
  const pushed = await api('GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app:t1`)}`, tokens.kaniko);
  assert.equal(pushed.status, 200, String(pushed.json.message));
  assert.deepEqual(pushed.json, { exists: true, digest: stdout.trim() });
  const byDigest = await api('GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app@${stdout.trim()}`)}`, tokens.kaniko);
  assert.deepEqual(byDigest.json, { exists: true, digest: stdout.trim() });
  const missing = await api('GET', `/v1/images?ref=${encodeURIComponent(`${registry.host}/builds/app:missing`)}`, tokens.kaniko);
  assert.deepEqual(missing.json, { exists: false });
});

test('POST /v1/repositories creates the ECR repository in moto with policies and tags, idempotently', async () => {
  const repositoryName = `builds/${uniqueName('app')}`;
  const ref = `${ECR_HOST}/${repositoryName}:v1`;
  const first = await api('POST', '/v1/repositories', tokens.kaniko, { ref });
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

  const again = await api('POST', '/v1/repositories', tokens.kaniko, { ref });
  assert.deepEqual(again.json, { registry: ECR_HOST, repository: repositoryName, created: false });
  // A manager without the recent-ensure cache asks ECR again and still finds nothing to do.
  const resource = await readIps(main) ?? assert.fail(`${main} exists`);
  assert.deepEqual(await new EcrRepositoryManager({ client: () => ecr, cacheTtlMs: 0 }).ensure(resource, ECR_HOST, repositoryName), { created: false });
  assert.equal((await api('POST', '/v1/repositories', tokens.kaniko, { ref: `${registry.host}/builds/app` })).status, 400);
});

test('a cloud token is served with the expiry the controller recorded in status', async () => {
  const served = await eventually(async () => {
    const res = await api('POST', '/v1/credentials', tokens.kaniko, { serverURL: ECR_HOST });
    return res.json.expiresAt !== undefined && res.json;
  }, { intervalMs: 500, message: 'the ECR token is served with its expiry' });
  secrets.push(rememberSecret(String(served.Secret)));
  const recorded = (await readIps(main))?.status?.sources?.find((s) => s.kind === 'ECR')?.expiresAt ?? assert.fail('status records the ECR expiry');
  assert.deepEqual(served, { ServerURL: ECR_HOST, Username: 'AWS', Secret: await motoPassword(), expiresAt: new Date(recorded).toISOString() });
  const leftMs = Date.parse(recorded) - Date.now();
  assert.ok(leftMs > 0 && leftMs <= ecrProxy.lifetimeSeconds * 1000, `the token's own lifetime (${String(leftMs)} ms left)`);
});

test('a rotated source Secret is served once the controller has read it', async () => {
  const rotated = rememberSecret('rotated-password-value');
  secrets.push(rotated);
  await patchSecret(ns, 'registries', { data: registrySource(rotated).data });
  const served = await eventually(async () => {
    const res = await api('POST', '/v1/credentials', tokens.kaniko, { serverURL: `https://${registry.host}` });
    return res.json.Secret === rotated && res;
  }, { intervalMs: 250, message: 'the rotated password is served' });
  assert.equal(served.status, 200);
  assert.deepEqual(served.json, { ServerURL: `https://${registry.host}`, Username: user.username, Secret: rotated });
});

test('each ServiceAccount has its own rate limit: past the burst, 429', async () => {
  const { qps, burst } = RATE_LIMIT;
  const codes: number[] = [];
  const started = Date.now();
  while (codes.at(-1) !== 429 && codes.length < 5 * burst) {
    codes.push((await api('POST', '/v1/credentials', tokens.limited, { serverURL: registry.host })).status);
  }
  const elapsedS = (Date.now() - started) / 1000;
  const admitted = codes.indexOf(429);
  assert.ok(admitted >= 0, `no 429 in ${String(codes.length)} calls over ${elapsedS.toFixed(2)} s`);
  assert.deepEqual(codes.slice(0, admitted), Array<number>(admitted).fill(200));
  // The bucket starts full and refills at qps while the calls run.
  assert.ok(admitted >= burst && admitted <= burst + qps * elapsedS, `${String(admitted)} calls admitted in ${elapsedS.toFixed(2)} s`);
  assert.equal((await api('POST', '/v1/credentials', tokens.kaniko, { serverURL: registry.host })).status, 200);
});

test('no token or password ever reaches the logs', () => {
  const all = daemon.logs.join('');
  assert.ok(all.length > 0);
  for (const secret of secrets) assert.ok(!all.includes(secret), 'a secret value appears in the logs');
  assert.match(all, /"status":403/);
});
