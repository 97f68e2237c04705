import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CRD_FILE, crdYaml } from '../../../src/api/v1alpha1/crd.ts';

const root = join(import.meta.dirname, '..', '..', '..');

test('crds/ and the chart carry exactly the CRD generated from the schema (run `npm run generate`)', () => {
  const want = crdYaml();
  for (const dir of ['crds', 'charts/pullsecret-sync/crds']) {
    assert.equal(readFileSync(join(root, dir, CRD_FILE), 'utf8'), want, `${dir}/${CRD_FILE} is stale`);
  }
});
