import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { openApiSchema } from '../../../../src/api/v1alpha1/schema.ts';
import { KNOWN_KEYWORDS } from '../../../../src/api/v1alpha1/schema-check.ts';
import { checkResource } from '../../../../src/api/v1alpha1/resource-check.ts';
import { validateCommand } from '../../../../src/cli/validate/command.ts';
import { runCommand } from '../io.ts';

const ips = (name: string, spec: unknown) => ({ apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name }, spec });
const good = ips('good', { registry: { credentials: [{ name: 'hub', namespace: 'registry-access' }] }, target: { secret: { name: 'pull' } } });

test('the schema checker knows every keyword the CRD schema uses', () => {
  const unknown = new Set<string>();
  const walk = (node: unknown, underProperties: boolean): void => {
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (!underProperties && !KNOWN_KEYWORDS.has(k)) unknown.add(k);
      if (k === 'properties') for (const child of Object.values(v as object)) walk(child, false);
      else if (k === 'items' || k === 'additionalProperties') walk(v, false);
    }
  };
  walk(openApiSchema, false);
  assert.deepEqual([...unknown], []);
});

test('a valid resource has no problems', () => {
  assert.deepEqual(checkResource(good), []);
});

test('schema, CEL and semantic problems, each with its path and layer', () => {
  const bad = ips('bad', {
    registry: {},
    target: {
      secret: { name: 'pull', extra: true },
      namespaces: { names: [''], labels: [{ matchExpressions: [{ key: 'a', operator: 'Maybe' }, { key: 'b', operator: 'In' }] }] },
    },
  });
  const got = checkResource(bad).map((p) => `${p.layer} ${p.path}`);
  assert.deepEqual(got.sort(), [
    'api spec.registry',
    'api spec.target.namespaces.labels[0].matchExpressions[0].operator',
    'api spec.target.namespaces.labels[0].matchExpressions[1]',
    'api spec.target.namespaces.names[0]',
    'api spec.target.secret.extra',
  ]);
  const semantic = checkResource(ips('semantic', { registry: { credentials: [{ name: 'hub', namespace: 'Not_A_Namespace' }] }, target: { secret: { name: 'pull' } } }));
  assert.deepEqual(semantic.map((p) => `${p.layer} ${p.path}`), ['semantic spec.registry.credentials[0].namespace']);
});

test('spec.target.pods.inject: a boolean, required under pods', () => {
  const withPods = (pods: unknown) => ips('inject', { registry: { credentials: [{ name: 'hub', namespace: 'registry-access' }] }, target: { secret: { name: 'pull' }, pods } });
  assert.deepEqual(checkResource(withPods({ inject: true })), []);
  assert.deepEqual(checkResource(withPods({ inject: false })), []);
  assert.deepEqual(checkResource(withPods({ inject: 'yes' })).map((p) => `${p.layer} ${p.path}`), ['api spec.target.pods.inject']);
  assert.deepEqual(checkResource(withPods({})).map((p) => `${p.layer} ${p.path}`), ['api spec.target.pods.inject']);
});

test('an IMPS resource is pointed at migrate; a missing name is required', () => {
  assert.match(checkResource({ ...good, apiVersion: 'images.banzaicloud.io/v1alpha1' })[0]?.message ?? '', /pullsecret-sync migrate/);
  assert.deepEqual(checkResource({ ...good, metadata: {} }).map((p) => p.path), ['metadata.name']);
});

test('validate: one line per problem as FILE: ImagePullSecret/NAME: path: message, exit 1; stdin as -', async () => {
  const input = [stringify(good), stringify(ips('broken', { registry: {}, target: { secret: { name: 'pull' } } })), stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } })].join('---\n');
  const ran = await runCommand(validateCommand, ['-'], input);
  assert.equal(ran.code, 1);
  assert.equal(ran.stdout, '<stdin>: ImagePullSecret/broken: spec.registry: Invalid value: "object": name at least one credential source\n');
  const ok = await runCommand(validateCommand, ['-'], JSON.stringify(good));
  assert.deepEqual([ok.code, ok.stdout], [0, '']);
});

test('validate: --help, no files, an unreadable file', async () => {
  assert.match((await runCommand(validateCommand, ['--help'])).stdout, /usage: pullsecret-sync validate FILE/);
  await assert.rejects(runCommand(validateCommand, []), { message: /^validate: name at least one FILE/ });
  const missing = await runCommand(validateCommand, ['/nonexistent/x.yaml']);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /^\/nonexistent\/x.yaml: ENOENT/);
});
