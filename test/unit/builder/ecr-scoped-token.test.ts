import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { createEcrScoper, type AssumeRoleInput } from '../../../src/builder/ecr-scoped-token.ts';
import type { EcrClientFactory } from '../../../src/credentials/ecr.ts';
import { FakeClock } from '../../../src/util/clock.ts';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const resource = (name: string, uid: string): ImagePullSecret => ({
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name, uid },
  spec: { registry: {}, target: { secret: { name: 'pull' } } },
});

function world(clock: FakeClock, secret?: Record<string, string>) {
  const assumed: AssumeRoleInput[] = [];
  const bases: unknown[] = [];
  let tokens = 0;
  const ecrClient: EcrClientFactory = () => ({
    send: () => {
      tokens++;
      const token = Buffer.from(`AWS:login-${String(tokens)}`).toString('base64');
      return Promise.resolve({ authorizationData: [{ authorizationToken: token, expiresAt: new Date(clock.nowMs() + 12 * 3600_000) }], $metadata: {} });
    },
  });
  const scoper = createEcrScoper({
    source: () => ({ source: { region: REGION, roleARN: `arn:aws:iam::${ACCOUNT}:role/builder` }, ...(secret ? { secret } : {}) }),
    ecrClient, clock,
    baseCredentials: (_region, keys) => { const base = keys ?? 'the daemon\'s identity'; bases.push(base); return base as never; },
    assumeRole: (input) => {
      assumed.push(input);
      return Promise.resolve({ accessKeyId: 'ASIA', secretAccessKey: 's', sessionToken: 't', expiration: new Date(clock.nowMs() + 900_000) });
    },
  });
  const scope = (ips: ImagePullSecret, repositories: string[]) => scoper.scope({ ips, host: HOST, region: REGION, accountId: ACCOUNT,
    entry: { registry: HOST, auth: '' }, repositories, prefixes: [] });
  return { scope, assumed, bases, tokens: () => tokens };
}

test('a scoped ECR login is reused per resource and repository set until 5 minutes before it expires', async () => {
  const clock = new FakeClock(0);
  const w = world(clock);
  const a = resource('a', 'uid-a');
  const first = await w.scope(a, ['builds/app']);
  assert.equal(first.login?.password, 'login-1');
  assert.equal(first.expiresAt.getTime(), 900_000, 'the login expires with the session');
  assert.equal((await w.scope(a, ['builds/app'])).login?.password, 'login-1');
  assert.equal(w.assumed.length, 1);
  assert.equal((await w.scope(a, ['builds/app', 'builds/cache'])).login?.password, 'login-2', 'another repository set');
  assert.equal((await w.scope(resource('b', 'uid-b'), ['builds/app'])).login?.password, 'login-3', 'another resource');
  assert.equal((await w.scope(resource('a', 'uid-a2'), ['builds/app'])).login?.password, 'login-4', 'the same name, a new resource');
  clock.advance(900_000 - 300_000 - 1);
  assert.equal((await w.scope(a, ['builds/app'])).login?.password, 'login-1');
  clock.advance(1);
  assert.equal((await w.scope(a, ['builds/app'])).login?.password, 'login-5', 'renewed 5 minutes before expiry');
  assert.deepEqual(w.bases, Array(5).fill('the daemon\'s identity'), 'every session is assumed from the daemon\'s own identity');
  const policy = JSON.parse(w.assumed[0]!.policy) as { Statement: { Resource: string | string[] }[] };
  assert.deepEqual(policy.Statement.flatMap((s) => s.Resource).filter((r) => r !== '*'), [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/builds/app`]);
});

test('concurrent requests for one login share one STS and ECR round trip; changed keys are a new login', async () => {
  const clock = new FakeClock(0);
  const keys = { accessKeyID: 'AKIA1', secretKey: 'one' };
  const w = world(clock, keys);
  const a = resource('a', 'uid-a');
  const answers = await Promise.all(Array.from({ length: 5 }, () => w.scope(a, ['builds/app'])));
  assert.deepEqual(new Set(answers.map((x) => x.login?.password)), new Set(['login-1']));
  assert.equal(w.tokens(), 1);
  keys.secretKey = 'two';
  assert.equal((await w.scope(a, ['builds/app'])).login?.password, 'login-2');
});
