// Repository-scoped ECR credentials against moto (STS and ECR; moto does not enforce policies, so the
// narrowing is asserted at the wire): a loopback proxy in front of moto records the AssumeRole request's
// session policy and the access key that signed GetAuthorizationToken. Through the daemon's builder API:
// a limited caller gets the narrowed login, an unlimited one the plain token, a neighbour repository 403.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';
import { createEcrScoper } from '../../src/builder/ecr-scoped-token.ts';
import { ecrRepositoryArn } from '../../src/builder/ecr-session-policy.ts';
import { createScoper, ScopeUnsupported } from '../../src/builder/scoped-credentials.ts';
import type { EcrSource } from '../../src/api/v1alpha1/types.ts';
import { handle, listen, readBody } from '../support/fake-clouds/server.ts';
import { createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, rest, uniqueName } from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { caFetch } from '../support/https-fetch.ts';
import { rememberSecret } from '../support/leaks.ts';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';

const moto = currentTestbed().moto?.endpoint ?? assert.fail('the testbed runs moto');
const KEYS = { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const REGION = 'eu-central-1';
const ACCOUNT = '123456789012';
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const ips = { metadata: { name: 'limited' }, spec: {} } as unknown as ImagePullSecret;

interface Recorded { stsForms: URLSearchParams[]; stsAnswers: string[]; ecrKeys: string[] }
const seen: Recorded = { stsForms: [], stsAnswers: [], ecrKeys: [] };
let proxy: Awaited<ReturnType<typeof listen>>;
let daemon: TestDaemon;
const ns = uniqueName('ecr-scope');
const limited = uniqueName('limited');
const open = uniqueName('open');

before(async () => {
  proxy = await listen(handle(async (req, res) => {
    const body = await readBody(req);
    const isEcr = String(req.headers['x-amz-target'] ?? '').startsWith('AmazonEC2ContainerRegistry');
    if (isEcr) seen.ecrKeys.push(/Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '');
    else seen.stsForms.push(new URLSearchParams(body));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
    const upstream = await fetch(`${moto}${req.url ?? '/'}`, { method: req.method, headers, body: body || undefined });
    let text = await upstream.text();
    if (!isEcr) seen.stsAnswers.push(text);
    else if (upstream.ok && text.includes('authorizationData')) {
      // moto's tokens arrive already expired; give them an hour so the daemon keeps them.
      const doc = JSON.parse(text) as { authorizationData?: { expiresAt?: number }[] };
      for (const d of doc.authorizationData ?? []) d.expiresAt = Date.now() / 1000 + 3600;
      text = JSON.stringify(doc);
    }
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'text/xml' }).end(text);
  }));
  process.env.AWS_ENDPOINT_URL_STS = proxy.url;
  process.env.AWS_ENDPOINT_URL_ECR = proxy.url;
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon([], { builderFetch: caFetch(readFileSync(currentTestbed().pki.ca.cert)) });
  await createNamespace(ns);
  await createSecret({ metadata: { name: 'aws', namespace: ns }, type: 'Opaque', data: { accessKeyID: Buffer.from(KEYS.accessKeyID).toString('base64'), secretKey: Buffer.from(KEYS.secretKey).toString('base64') } });
  const ecr = [{ region: REGION, accountIDs: [ACCOUNT], roleARN: `arn:aws:iam::${ACCOUNT}:role/builder`, endpoint: proxy.url, credentialsSecret: { name: 'aws', namespace: ns } }];
  const target = (name: string): { namespaces: { names: string[] }; secret: { name: string } } => ({ namespaces: { names: [ns] }, secret: { name } });
  await createIps(limited, { registry: { ecr }, target: target('limited-pull'), builder: { serviceAccounts: [{ namespace: ns, name: 'limited' }], repositories: [`${HOST}/builds/app`] } });
  await createIps(open, { registry: { ecr }, target: target('open-pull'), builder: { serviceAccounts: [{ namespace: ns, name: 'open' }] } });
});

after(async () => {
  await deleteIpsAndWait([limited, open]);
  await daemon.stop();
  await deleteNamespace(ns);
  rest.close();
  await proxy.close();
});

function post(path: string, token: string | undefined, body: unknown, ca: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${daemon.builderUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST', ...(ca === undefined ? { rejectUnauthorized: false } : { ca }), agent: false, timeout: 30_000,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }); });
    });
    req.on('timeout', () => { req.destroy(new Error('builder API call timed out')); });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function credentials(sa: string, serverURL: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = rememberSecret(await mintToken({ namespace: ns, serviceAccount: sa, audiences: ['pullsecret-sync'], create: true }));
  const ca = (await post('/v1/ca.crt', undefined, undefined, undefined)).text;
  const res = await post('/v1/credentials', token, { serverURL }, ca);
  return { status: res.status, json: JSON.parse(res.text) as Record<string, unknown> };
}

test('through the builder API: limited caller gets the narrowed login, unlimited the plain token, a neighbour 403', { timeout: 90_000 }, async () => {
  const narrowed = await eventually(async () => {
    const res = await credentials('limited', `https://${HOST}/builds/app`);
    return res.status === 200 && res.json;
  }, { intervalMs: 500, timeoutMs: 30_000, message: 'narrowed ECR login served' });
  assert.equal(narrowed.Username, 'AWS');
  assert.deepEqual(narrowed.Repositories, ['builds/app']);
  const form = seen.stsForms.filter((f) => f.get('Action') === 'AssumeRole' && f.has('Policy')).at(-1) ?? assert.fail('no AssumeRole with a Policy');
  const policy = JSON.parse(form.get('Policy') ?? '') as { Statement: { Resource: string | string[] }[] };
  assert.deepEqual(policy.Statement.flatMap((s) => s.Resource).filter((r) => r !== '*'), [ecrRepositoryArn(REGION, ACCOUNT, 'builds/app')]);

  const narrowedRequests = (): number => seen.stsForms.filter((f) => f.has('Policy')).length;
  const policiesBefore = narrowedRequests();
  const plain = await credentials('open', `https://${HOST}`);
  assert.equal(plain.status, 200);
  assert.equal(plain.json.Username, 'AWS');
  assert.equal(plain.json.Repositories, undefined, 'an unlimited caller gets the source token, not a narrowed one');
  assert.equal(narrowedRequests(), policiesBefore, 'no session policy for an unlimited caller (moto issues one constant token, so the wire tells them apart)');

  const neighbour = await credentials('limited', `https://${HOST}/builds/other`);
  assert.equal(neighbour.status, 403);
});

function scoperFor(source: EcrSource, secret: Record<string, string> | undefined) {
  return createScoper({ ecr: createEcrScoper({ source: () => ({ source, ...(secret ? { secret } : {}) }), timeoutMs: 20_000 }) });
}

const scopeRequest = { ips, host: HOST, entry: { registry: HOST, username: 'AWS', password: 'unused', auth: '' }, prefixes: [`${HOST}/builds/`] };

test('a caller limited to one ECR repository gets a token requested under a session policy naming only it', async () => {
  const before = { sts: seen.stsForms.length, ecr: seen.ecrKeys.length };
  const scoper = scoperFor({ region: REGION, roleARN: `arn:aws:iam::${ACCOUNT}:role/builder` }, KEYS);
  const got = await scoper.scope({ ...scopeRequest, repositories: ['builds/app'] });
  assert.equal(got.login?.username, 'AWS');
  assert.ok(got.login.password.length > 0);
  const form = seen.stsForms.slice(before.sts).find((f) => f.get('Action') === 'AssumeRole') ?? assert.fail('no AssumeRole request');
  assert.equal(form.get('DurationSeconds'), '900');
  const policy = JSON.parse(form.get('Policy') ?? assert.fail('AssumeRole carried no Policy')) as { Statement: { Resource: string | string[] }[] };
  const resources = policy.Statement.flatMap((s) => s.Resource).filter((r) => r !== '*');
  assert.deepEqual(resources, [ecrRepositoryArn(REGION, ACCOUNT, 'builds/app')]);
  const sessionKey = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(seen.stsAnswers.at(-1) ?? '')?.[1] ?? assert.fail('no session key in the STS answer');
  assert.deepEqual(seen.ecrKeys.slice(before.ecr), [sessionKey]);
  assert.notEqual(sessionKey, KEYS.accessKeyID, "the session's key, not the source's");
});

test('without a roleARN the ECR credential is not narrowed and the caller is told to set one', async () => {
  const scoper = scoperFor({ region: REGION }, KEYS);
  await assert.rejects(scoper.scope({ ...scopeRequest, repositories: ['builds/app'] }),
    (err: unknown) => err instanceof ScopeUnsupported && /set roleARN/.test(err.message));
});
