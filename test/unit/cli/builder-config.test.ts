import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/cli/config.ts';

test('the builder Service name is a DNS label, pullsecret-sync by default, from the flag or the environment', () => {
  assert.equal(parseConfig([], {}).builderService, 'pullsecret-sync');
  assert.equal(parseConfig(['--builder-service=rel-pullsecret-sync'], {}).builderService, 'rel-pullsecret-sync');
  assert.equal(parseConfig([], { PULLSECRET_SYNC_BUILDER_SERVICE: 'from-env' }).builderService, 'from-env');
  assert.throws(() => parseConfig(['--builder-service=Bad.Name'], {}), /--builder-service must be a Service name \(a DNS label\), got "Bad\.Name"/);
});

test('a builder CA file goes with the certificate files', () => {
  assert.throws(() => parseConfig(['--builder-tls-ca=/ca.crt'], {}), /--builder-tls-ca goes with --builder-tls-cert and --builder-tls-key/);
  const config = parseConfig(['--builder-tls-cert=/c', '--builder-tls-key=/k', '--builder-tls-ca=/ca'], {});
  assert.deepEqual([config.builderTlsCert, config.builderTlsKey, config.builderTlsCa], ['/c', '/k', '/ca']);
});
