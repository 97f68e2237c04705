import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/daemon/config.ts';

test('the builder Service name is a DNS label, pullsecret-sync by default, from the flag or the environment', () => {
  assert.equal(parseConfig([], {}).builderService, 'pullsecret-sync');
  assert.equal(parseConfig(['--builder-service=rel-pullsecret-sync'], {}).builderService, 'rel-pullsecret-sync');
  assert.equal(parseConfig([], { PULLSECRET_SYNC_BUILDER_SERVICE: 'from-env' }).builderService, 'from-env');
  assert.throws(() => parseConfig(['--builder-service=Bad.Name'], {}), /--builder-service must be a DNS label .*; got "Bad\.Name"/);
});
