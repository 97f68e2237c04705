// The admission engine: by discovery under `auto`, forced by the flag otherwise; a forced policy engine on
// an API server that does not serve MutatingAdmissionPolicy is refused with the fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseAdmissionEngine } from '../../../src/daemon/admission-engine.ts';
import { ConfigError } from '../../../src/daemon/config.ts';

test('auto follows discovery; webhook and off never ask; policy asks and refuses where it is not served', async () => {
  let asked = 0;
  const serves = (answer: boolean) => () => { asked += 1; return Promise.resolve(answer); };
  assert.equal((await chooseAdmissionEngine('auto', serves(true))).engine, 'policy');
  assert.equal((await chooseAdmissionEngine('auto', serves(false))).engine, 'webhook');
  assert.equal(asked, 2);
  assert.equal((await chooseAdmissionEngine('webhook', serves(true))).engine, 'webhook');
  assert.equal((await chooseAdmissionEngine('off', serves(true))).engine, 'off');
  assert.equal(asked, 2);
  assert.equal((await chooseAdmissionEngine('policy', serves(true))).engine, 'policy');
  await assert.rejects(chooseAdmissionEngine('policy', serves(false)), (err: unknown) => err instanceof ConfigError
    && /^run: --admission-engine=policy needs admissionregistration\.k8s\.io\/v1 MutatingAdmissionPolicy, which this API server does not serve .*use --admission-engine=webhook/.test(err.message));
});
