import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeRegistryKey, registryHost } from '../../../src/dockerconfig/registry-key.ts';

test('spellings of one registry become one key', () => {
  const cases: [string, string | undefined][] = [
    ['r.io', 'r.io'],
    ['https://r.io', 'r.io'],
    ['http://r.io/', 'r.io'],
    ['R.IO', 'r.io'],
    ['r.io:5000', 'r.io:5000'],
    ['https://r.io:5000/v2/', 'r.io:5000'],
    ['https://r.io/v1/', 'r.io'],
    ['gcr.io/my-project', 'gcr.io/my-project'],
    ['https://gcr.io/my-project/', 'gcr.io/my-project'],
    ['docker.io', 'https://index.docker.io/v1/'],
    ['index.docker.io', 'https://index.docker.io/v1/'],
    ['https://index.docker.io/v1/', 'https://index.docker.io/v1/'],
    ['registry-1.docker.io', 'https://index.docker.io/v1/'],
    ['https://registry.hub.docker.com', 'https://index.docker.io/v1/'],
    ['docker.io/library', 'docker.io/library'],
    ['', undefined],
    ['https://', undefined],
    ['bad host', undefined],
  ];
  for (const [raw, want] of cases) assert.equal(normalizeRegistryKey(raw), want, raw);
});

test('registryHost gives the host a client dials', () => {
  assert.equal(registryHost('https://index.docker.io/v1/'), 'index.docker.io');
  assert.equal(registryHost('gcr.io/proj'), 'gcr.io');
  assert.equal(registryHost('r.io:5000'), 'r.io:5000');
});
