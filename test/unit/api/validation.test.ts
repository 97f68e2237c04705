import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecretSpec } from '../../../src/api/v1alpha1/types.ts';
import { isQualifiedName, validateSpec } from '../../../src/api/v1alpha1/validation.ts';

const base: ImagePullSecretSpec = { registry: { credentials: [{ name: 'hub', namespace: 'registry-access' }] }, target: { secret: { name: 'pull' } } };

test('a minimal spec is valid', () => {
  assert.deepEqual(validateSpec(base), []);
});

test('semantic problems carry a path', () => {
  const cases: [ImagePullSecretSpec, string][] = [
    [{ ...base, registry: {} }, 'spec.registry'],
    [{ ...base, registry: { ecr: [{ region: 'eu-west-1', accountIDs: ['12345'] }] } }, 'spec.registry.ecr[0].accountIDs[0]'],
    [{ ...base, registry: { ecr: [{ region: 'eu-west-1', roleARN: 'role' }] } }, 'spec.registry.ecr[0].roleARN'],
    [{ ...base, registry: { gcp: [{ registries: [] }] } }, 'spec.registry.gcp[0].registries'],
    [{ ...base, registry: { gcp: [{ registries: ['gcr.io', `gcr.io/${'p'.repeat(300)}`] }] } }, 'spec.registry.gcp[0].registries[1]'],
    [{ ...base, registry: { azure: [{ registry: `${'a'.repeat(300)}.azurecr.io`, tenantID: 't', clientID: 'c' }] } }, 'spec.registry.azure[0].registry'],
    [{ ...base, registry: { credentials: [{ name: 'x', namespace: 'Bad_NS' }] } }, 'spec.registry.credentials[0].namespace'],
    [{ ...base, target: { secret: { name: 'pull', labels: { team: 'not a value' } } } }, 'spec.target.secret.labels'],
    [{ ...base, target: { secret: { name: 'pull', annotations: { 'bad key!': 'any value' } } } }, 'spec.target.secret.annotations'],
    [{ ...base, builder: { serviceAccounts: [{ namespace: 'ci', name: '*' }], ecrRepositoryCreation: { enabled: true, accessPolicy: '{' } } },
      'spec.builder.ecrRepositoryCreation.accessPolicy'],
  ];
  for (const [spec, path] of cases) assert.deepEqual(validateSpec(spec).map((i) => i.path), [path]);
});

test('qualified names', () => {
  for (const ok of ['a', 'a.b/c', 'example.com/x-y_z', 'sidecar.istio.io/inject']) assert.ok(isQualifiedName(ok), ok);
  for (const bad of ['', '/a', 'A_/x', 'a/', '-a', 'x'.repeat(64)]) assert.ok(!isQualifiedName(bad), bad);
});

test('the target Secret keeps the labels the daemon owns', () => {
  const spec = { ...base, target: { secret: { name: 'pull', labels: { 'pullsecret-sync.dev/owner': 'other' } } } };
  assert.deepEqual(validateSpec(spec).map((i) => i.message), ['"pullsecret-sync.dev/owner" is set by the daemon']);
});
