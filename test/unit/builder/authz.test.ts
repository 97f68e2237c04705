import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Builder, ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { allowsServiceAccount } from '../../../src/api/v1alpha1/resource.ts';
import { allowsImage, allowsRegistry, authorize, isLimited, namedRepositories, resourcesAllowing } from '../../../src/builder/authz.ts';
import { parseImageRef, type ImageRef } from '../../../src/builder/image-ref.ts';

function ips(name: string, builder: Builder | undefined, created = '2025-01-01T00:00:00Z'): ImagePullSecret {
  return {
    apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name, creationTimestamp: created },
    spec: { registry: {}, target: { secret: { name: 'pull' } }, ...(builder ? { builder } : {}) },
  };
}

const ref = (raw: string): ImageRef => parseImageRef(raw) as ImageRef;
const kaniko = { namespace: 'ci', name: 'kaniko' };
const ECR = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';

test('ServiceAccounts are allowed by exact name or by "*" within the namespace only', () => {
  const cases: [Builder | undefined, boolean, string][] = [
    [undefined, false, 'no builder section'],
    [{ serviceAccounts: [] }, false, 'empty list'],
    [{ serviceAccounts: [{ namespace: 'ci', name: 'kaniko' }] }, true, 'exact'],
    [{ serviceAccounts: [{ namespace: 'ci', name: '*' }] }, true, 'wildcard'],
    [{ serviceAccounts: [{ namespace: 'ci', name: 'buildah' }] }, false, 'other name'],
    [{ serviceAccounts: [{ namespace: 'other', name: '*' }] }, false, 'wildcard in another namespace'],
    [{ serviceAccounts: [{ namespace: 'other', name: 'kaniko' }, { namespace: 'ci', name: 'kaniko' }] }, true, 'second item'],
  ];
  for (const [builder, want, name] of cases) assert.equal(allowsServiceAccount(ips('r', builder), kaniko), want, name);
});

test('builder.repositories limits images by whole path segments and registries by host', () => {
  const limited = ips('r', { serviceAccounts: [], repositories: [`${ECR}/builds/`, 'https://R.io/team/app', 'team/', 'gcr.io/proj/app'] });
  const open = ips('r', { serviceAccounts: [] });
  const images: [string, boolean][] = [
    [`${ECR}/builds/app:1`, true],
    [`${ECR}/builds/nested/app`, true],
    [`${ECR}/other/app`, false],
    [`${ECR}/builds`, false],
    ['r.io/team/app:1', true],
    ['r.io/team/app-two', false], // whole segments only
    ['r.io/team/app/cache:1', true],
    ['gcr.io/proj/app:1', true],
    ['gcr.io/proj/appendix:1', false],
    ['gcr.io/proj/app@sha256:' + 'a'.repeat(64), true],
    ['r.io/team/other', false],
    ['team/app', true], // Docker Hub shorthand on both sides
    ['docker.io/library/nginx', false],
  ];
  for (const [raw, want] of images) {
    assert.equal(allowsImage(limited, ref(raw)), want, raw);
    assert.equal(allowsImage(open, ref(raw)), true, raw);
  }
  const registries: [string, boolean][] = [[ECR, true], ['r.io', true], ['https://index.docker.io/v1/', true], ['ghcr.io', false], ['r.io/team', true]];
  for (const [key, want] of registries) assert.equal(allowsRegistry(limited, key), want, key);
});

test('authorize narrows to resources in scope, oldest first, and says why when none is', () => {
  const older = ips('b-older', { serviceAccounts: [{ namespace: 'ci', name: '*' }] }, '2024-01-01T00:00:00Z');
  const newer = ips('a-newer', { serviceAccounts: [kaniko], repositories: ['r.io/team/'] }, '2025-06-01T00:00:00Z');
  const sameAge = ips('a-same', { serviceAccounts: [kaniko] }, '2024-01-01T00:00:00Z');
  const stranger = ips('z', { serviceAccounts: [{ namespace: 'other', name: '*' }] });
  assert.deepEqual(resourcesAllowing([newer, stranger, older, sameAge], kaniko).map((r) => r.metadata.name), ['a-same', 'b-older', 'a-newer']);

  const forRegistry = authorize([newer, older], kaniko, { registry: 'r.io' });
  assert.ok(forRegistry.allowed);
  assert.deepEqual(forRegistry.resources.map((r) => r.metadata.name), ['b-older', 'a-newer']);

  const outside = authorize([newer], kaniko, { image: ref('ghcr.io/x/y') });
  assert.equal(outside.allowed, false);
  assert.match(outside.reason, /ghcr\.io\/x\/y is outside the builder\.repositories/);

  const nobody = authorize([stranger], kaniko, { registry: 'r.io' });
  assert.equal(nobody.allowed, false);
  assert.match(nobody.reason, /no ImagePullSecret allows ServiceAccount ci\/kaniko/);
});

test('a limited resource admits named repositories only within its entries, and names the ones it can scope to', () => {
  const limited = ips('r', { serviceAccounts: [], repositories: ['r.io/team/', 'r.io/solo/app', 'https://R.io/other', 'gcr.io/proj/app'] });
  assert.equal(allowsRegistry(limited, 'r.io', ['team/a', 'solo/app']), true);
  assert.equal(allowsRegistry(limited, 'r.io', ['team/a', 'solo/appendix']), false);
  assert.equal(allowsRegistry(limited, 'r.io', ['team']), false); // "team/" admits only what is below it
  assert.equal(allowsRegistry(limited, 'gcr.io', ['proj/app/x']), true);
  assert.deepEqual(namedRepositories(limited, 'r.io'), ['other', 'solo/app']);
  assert.deepEqual(namedRepositories(limited, 'ghcr.io'), []);
  assert.equal(isLimited(limited), true);
  assert.equal(isLimited(ips('o', { serviceAccounts: [] })), false);
});
