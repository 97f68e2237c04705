import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { migrateCommand } from '../../../../src/cli/migrate/command.ts';
import { runCommand } from '../io.ts';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'imps-readme');
const spec = { registry: { credentials: [{ name: 'hub', namespace: 'registry-access' }] }, target: { secret: { name: 'pull' } } };

test('an IMPS resource changes apiVersion only; comments and other documents pass through unchanged', async () => {
  const namespace = '# keep me\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: registry-access\n';
  const input = `${namespace}---\n${readFileSync(join(fixtures, '01-sidecar-annotation.yaml'), 'utf8')}`;
  const ran = await runCommand(migrateCommand, ['-'], input);
  assert.equal(ran.code, 0);
  assert.equal(ran.stderr, '');
  const [ns, ips] = ran.stdout.split('---\n');
  assert.equal(ns, namespace);
  const before = parseAllDocuments(input)[1]?.toJS() as Record<string, unknown>;
  assert.deepEqual(parseAllDocuments(ips ?? '')[0]?.toJS(), { ...before, apiVersion: 'pullsecret-sync.dev/v1alpha1' });
});

test('server fields, the last-applied annotation and status are dropped and named on stderr; List items convert', async () => {
  const list = { apiVersion: 'v1', kind: 'List', items: [{
    apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name: 'imps', uid: 'u', resourceVersion: '7', labels: { team: 'a' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'kept' } },
    spec, status: { status: 'Ready' },
  }] };
  const ran = await runCommand(migrateCommand, ['-'], stringify(list));
  assert.equal(ran.code, 0);
  const out = parseAllDocuments(ran.stdout)[0]?.toJS() as typeof list;
  assert.deepEqual(out.items[0], { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name: 'imps', labels: { team: 'a' }, annotations: { note: 'kept' } }, spec });
  assert.deepEqual(ran.stderr.trim().split('\n'), [
    '<stdin>: ImagePullSecret/imps: dropped metadata uid, resourceVersion (set by the API server)',
    '<stdin>: ImagePullSecret/imps: dropped annotation kubectl.kubernetes.io/last-applied-configuration (it records the IMPS object)',
    '<stdin>: ImagePullSecret/imps: dropped status (IMPS\'s free-form status; the daemon writes conditions of its own)',
  ]);
});

test('what the new API rejects is named on stderr (IMPS allowed an empty credentials list)', async () => {
  const ran = await runCommand(migrateCommand, ['-'], stringify({ apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name: 'empty' }, spec: { ...spec, registry: { credentials: [] } } }));
  assert.match(ran.stderr, /ImagePullSecret\/empty: spec.registry: .*name at least one credential source \(the API server rejects this\)/);
});

test('migrate: --help; FILEs and --from-cluster are exclusive', async () => {
  assert.match((await runCommand(migrateCommand, ['-h'])).stdout, /--from-cluster/);
  const usageError = { message: /^migrate: name FILEs \("-" for stdin\) or --from-cluster, one of the two/ };
  await assert.rejects(runCommand(migrateCommand, []), usageError);
  await assert.rejects(runCommand(migrateCommand, ['x.yaml', '--from-cluster']), usageError);
});

test('injection at admission: IMPS has no spec.target.pods, so none appears; a resource of ours that has it passes through unchanged', async () => {
  const ours = { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'ours' },
    spec: { ...spec, target: { ...spec.target, pods: { inject: true } } } };
  const imps = { apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'imps' }, spec };
  const ran = await runCommand(migrateCommand, ['-'], `${stringify(imps)}---\n${stringify(ours)}`);
  assert.equal(ran.code, 0);
  assert.equal(ran.stderr, '');
  const [migrated, passed] = parseAllDocuments(ran.stdout).map((d) => d.toJS() as typeof ours);
  assert.deepEqual(migrated, { ...imps, apiVersion: 'pullsecret-sync.dev/v1alpha1' });
  assert.deepEqual(passed, ours);
});
