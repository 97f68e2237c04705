import assert from 'node:assert/strict';
import { test } from 'node:test';
import { awsPartition, ECR_REPOSITORY_ACTIONS, ecrSessionPolicy } from '../../../src/builder/ecr-session-policy.ts';

test('the policy allows GetAuthorizationToken on * and pull/push on exactly the named repositories', () => {
  const doc = JSON.parse(ecrSessionPolicy('eu-central-1', '123456789012', ['builds/app', 'builds/app', 'a'])) as {
    Statement: { Effect: string; Action: string | string[]; Resource: string | string[] }[];
  };
  assert.deepEqual(doc.Statement, [
    { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    { Effect: 'Allow', Action: [...ECR_REPOSITORY_ACTIONS], Resource: [
      'arn:aws:ecr:eu-central-1:123456789012:repository/a',
      'arn:aws:ecr:eu-central-1:123456789012:repository/builds/app',
    ] },
  ]);
});

test('the partition follows the region', () => {
  assert.equal(awsPartition('cn-north-1'), 'aws-cn');
  assert.equal(awsPartition('us-gov-west-1'), 'aws-us-gov');
  assert.equal(awsPartition('us-east-1'), 'aws');
  assert.match(ecrSessionPolicy('cn-north-1', '123456789012', ['x']), /arn:aws-cn:ecr:cn-north-1:123456789012:repository\/x/);
});

test('no repository, no policy', () => {
  assert.throws(() => ecrSessionPolicy('us-east-1', '123456789012', []), /at least one repository/);
});
