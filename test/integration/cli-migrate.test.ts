// The three ImagePullSecrets of IMPS's README (test/fixtures/imps-readme, IMPS's apiVersion) go through
// `migrate`, and the API server accepts every converted resource (a dry-run create with strict field
// validation, as kubectl apply sends it).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { migrateCommand } from '../../src/cli/migrate/command.ts';
import { rest } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { adminKubeConfig } from '../testbed/clients.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'imps-readme');

before(async () => { await installCrd(adminKubeConfig()); });
after(() => { rest.close(); });

test('IMPS README examples: migrate, then the API server accepts them', async () => {
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(fixtures, f));
  assert.equal(files.length, 3);
  let stdout = '';
  let stderr = '';
  const code = await migrateCommand.main(files, { stdin: Readable.from([]), env: {},
    stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  assert.equal(code, 0);
  // Only the README's placeholder account (999653XXXXX, upper case) does not carry over as it is.
  assert.deepEqual(stderr.trim().split('\n').map((l) => l.replace(/:.*/, '')), [join(fixtures, '02-names.yaml')]);
  const converted = parseAllDocuments(stdout).map((d) => d.toJS() as { apiVersion: string; metadata: { name: string } });
  assert.equal(converted.length, 3);
  for (const [i, obj] of converted.entries()) {
    assert.equal(obj.apiVersion, 'pullsecret-sync.dev/v1alpha1');
    await rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', query: { dryRun: 'All', fieldValidation: 'Strict' },
      body: { ...obj, metadata: { ...obj.metadata, name: `imps-readme-${String(i + 1)}` } } });
  }
});
