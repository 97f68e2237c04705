import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EcrRepositoryCreation, ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { EcrRepositoryError, EcrRepositoryManager, parseEcrHost, type EcrClientFor } from '../../../src/builder/ecr-repositories.ts';
import { FakeClock } from '../../../src/util/clock.ts';

test('ECR hosts give account and region in every form', () => {
  assert.deepEqual(parseEcrHost('123456789012.dkr.ecr.eu-central-1.amazonaws.com'), { accountId: '123456789012', region: 'eu-central-1' });
  assert.deepEqual(parseEcrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com'), { accountId: '123456789012', region: 'us-gov-west-1' });
  assert.deepEqual(parseEcrHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn'), { accountId: '123456789012', region: 'cn-north-1' });
  assert.deepEqual(parseEcrHost('123456789012.dkr-ecr.eu-west-1.on.aws'), { accountId: '123456789012', region: 'eu-west-1' });
  for (const host of ['ghcr.io', '12345.dkr.ecr.eu-west-1.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.io']) {
    assert.equal(parseEcrHost(host), undefined, host);
  }
});

const POLICY = '{"Version":"2012-10-17","Statement":[]}';

function resource(enabled: boolean, creation: Partial<EcrRepositoryCreation> = { accessPolicy: POLICY, tags: [{ key: 'k', value: 'v' }] }): ImagePullSecret {
  return { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'r', uid: 'u', generation: 1 },
    spec: { registry: {}, target: { secret: { name: 'p' } },
      builder: { serviceAccounts: [], ecrRepositoryCreation: { enabled, ...creation } } } };
}

/** A scripted ECR: `answers` maps command names to a result or an error name to throw. */
function fakeEcr(answers: Record<string, object | string>): { factory: EcrClientFor; sent: { name: string; input: unknown }[]; regions: string[] } {
  const sent: { name: string; input: unknown }[] = [];
  const regions: string[] = [];
  const client = {
    send: (command: { constructor: { name: string }; input: unknown }): Promise<unknown> => {
      const name = command.constructor.name.replace(/Command$/, '');
      sent.push({ name, input: command.input });
      const answer = answers[name] ?? {};
      if (typeof answer === 'string') return Promise.reject(Object.assign(new Error(`${answer} happened`), { name: answer }));
      return Promise.resolve(answer);
    },
  };
  return { sent, regions, factory: (_ips, region) => { regions.push(region); return client; } };
}

const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

test('a missing repository is created with its settings and policies', async () => {
  const ecr = fakeEcr({ DescribeRepositories: 'RepositoryNotFoundException' });
  assert.deepEqual(await new EcrRepositoryManager({ client: ecr.factory }).ensure(resource(true), HOST, 'builds/app'), { created: true });
  assert.deepEqual(ecr.regions, ['eu-west-1']);
  assert.deepEqual(ecr.sent.map((s) => s.name), ['DescribeRepositories', 'CreateRepository', 'SetRepositoryPolicy']);
  assert.deepEqual(ecr.sent[1]?.input, { registryId: '123456789012', repositoryName: 'builds/app', tags: [{ Key: 'k', Value: 'v' }] });
});

test('an existing repository with an equal policy costs reads only; a race lost to another creator is fine', async () => {
  const same = fakeEcr({ GetRepositoryPolicy: { policyText: '{ "Statement": [], "Version": "2012-10-17" }' } });
  assert.deepEqual(await new EcrRepositoryManager({ client: same.factory }).ensure(resource(true), HOST, 'a'), { created: false });
  assert.deepEqual(same.sent.map((s) => s.name), ['DescribeRepositories', 'GetRepositoryPolicy']);

  const raced = fakeEcr({ DescribeRepositories: 'RepositoryNotFoundException', CreateRepository: 'RepositoryAlreadyExistsException',
    GetRepositoryPolicy: 'RepositoryPolicyNotFoundException' });
  assert.deepEqual(await new EcrRepositoryManager({ client: raced.factory }).ensure(resource(true), HOST, 'a'), { created: false });
  assert.deepEqual(raced.sent.map((s) => s.name), ['DescribeRepositories', 'CreateRepository', 'GetRepositoryPolicy', 'SetRepositoryPolicy']);
});

test('the lifecycle policy is read and put like the repository policy', async () => {
  const LIFECYCLE = '{"rules":[{"rulePriority":1}]}';
  const withBoth = resource(true, { accessPolicy: POLICY, lifecyclePolicy: LIFECYCLE });
  const cases: [object | string, string[]][] = [
    [{ lifecyclePolicyText: '{ "rules": [ { "rulePriority": 1 } ] }' }, []],
    [{ lifecyclePolicyText: '{"rules":[]}' }, ['PutLifecyclePolicy']],
    ['LifecyclePolicyNotFoundException', ['PutLifecyclePolicy']],
  ];
  for (const [current, writes] of cases) {
    const ecr = fakeEcr({ GetRepositoryPolicy: { policyText: POLICY }, GetLifecyclePolicy: current });
    await new EcrRepositoryManager({ client: ecr.factory }).ensure(withBoth, HOST, 'a');
    assert.deepEqual(ecr.sent.map((s) => s.name), ['DescribeRepositories', 'GetRepositoryPolicy', 'GetLifecyclePolicy', ...writes], JSON.stringify(current));
  }
  const created = fakeEcr({ DescribeRepositories: 'RepositoryNotFoundException' });
  await new EcrRepositoryManager({ client: created.factory }).ensure(withBoth, HOST, 'a');
  assert.deepEqual(created.sent.map((s) => s.name), ['DescribeRepositories', 'CreateRepository', 'SetRepositoryPolicy', 'PutLifecyclePolicy']);
  assert.deepEqual(created.sent.at(-1)?.input, { registryId: '123456789012', repositoryName: 'a', lifecyclePolicyText: LIFECYCLE });
  const denied = fakeEcr({ GetRepositoryPolicy: { policyText: POLICY }, GetLifecyclePolicy: 'AccessDeniedException' });
  await assert.rejects(new EcrRepositoryManager({ client: denied.factory }).ensure(withBoth, HOST, 'a'),
    (err: unknown) => err instanceof EcrRepositoryError && /^ECR GetLifecyclePolicy failed: AccessDeniedException/.test(err.message));
});

test('recently ensured repositories are not asked about again; failures and disabled creation are errors', async () => {
  const clock = new FakeClock();
  const ecr = fakeEcr({ GetRepositoryPolicy: { policyText: POLICY } });
  const manager = new EcrRepositoryManager({ client: ecr.factory, clock, cacheTtlMs: 60_000 });
  await manager.ensure(resource(true), HOST, 'a');
  await manager.ensure(resource(true), HOST, 'a');
  assert.equal(ecr.sent.length, 2);
  clock.advance(60_001);
  await manager.ensure(resource(true), HOST, 'a');
  assert.equal(ecr.sent.length, 4);

  const denied = fakeEcr({ DescribeRepositories: 'AccessDeniedException' });
  await assert.rejects(new EcrRepositoryManager({ client: denied.factory }).ensure(resource(true), HOST, 'a'),
    (err: unknown) => err instanceof EcrRepositoryError && /^ECR DescribeRepositories failed: AccessDeniedException/.test(err.message));
  await assert.rejects(manager.ensure(resource(false), HOST, 'a'), /does not enable ECR repository creation/);
  await assert.rejects(manager.ensure(resource(true), 'ghcr.io', 'a'), /not an ECR registry host/);
});
