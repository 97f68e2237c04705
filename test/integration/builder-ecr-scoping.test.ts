// Repository-scoped ECR credentials against moto (STS and ECR; moto does not enforce policies, so the
// narrowing is asserted at the wire): a loopback proxy in front of moto records the AssumeRole request's
// session policy and the access key that signed GetAuthorizationToken.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';
import { createEcrScoper } from '../../src/builder/ecr-scoped-token.ts';
import { ecrRepositoryArn } from '../../src/builder/ecr-session-policy.ts';
import { createScoper, ScopeUnsupported } from '../../src/builder/scoped-credentials.ts';
import type { EcrSource } from '../../src/api/v1alpha1/types.ts';
import { handle, listen, readBody } from '../support/fake-clouds/server.ts';
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

before(async () => {
  proxy = await listen(handle(async (req, res) => {
    const body = await readBody(req);
    const isEcr = String(req.headers['x-amz-target'] ?? '').startsWith('AmazonEC2ContainerRegistry');
    if (isEcr) seen.ecrKeys.push(/Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '');
    else seen.stsForms.push(new URLSearchParams(body));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
    const upstream = await fetch(`${moto}${req.url ?? '/'}`, { method: req.method, headers, body: body || undefined });
    const text = await upstream.text();
    if (!isEcr) seen.stsAnswers.push(text);
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'text/xml' }).end(text);
  }));
  process.env.AWS_ENDPOINT_URL_STS = proxy.url;
  process.env.AWS_ENDPOINT_URL_ECR = proxy.url;
});

after(async () => { await proxy.close(); });

function scoperFor(source: EcrSource, secret: Record<string, string> | undefined) {
  return createScoper({ ecr: createEcrScoper({ source: () => ({ source, ...(secret ? { secret } : {}) }), timeoutMs: 20_000 }) });
}

const request = { ips, host: HOST, entry: { registry: HOST, username: 'AWS', password: 'unused', auth: '' }, prefixes: [`${HOST}/builds/`] };

test('a caller limited to one ECR repository gets a token requested under a session policy naming only it', async () => {
  const before = { sts: seen.stsForms.length, ecr: seen.ecrKeys.length };
  const scoper = scoperFor({ region: REGION, roleARN: `arn:aws:iam::${ACCOUNT}:role/builder` }, KEYS);
  const got = await scoper.scope({ ...request, repositories: ['builds/app'] });
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
  await assert.rejects(scoper.scope({ ...request, repositories: ['builds/app'] }),
    (err: unknown) => err instanceof ScopeUnsupported && /set roleARN/.test(err.message));
});
