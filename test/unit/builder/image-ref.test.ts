import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  apiHost, formatImageRef, imageKeyCandidates, keyCandidates, manifestReference, normalizePrefix, parseImageRef, registryKeyOf,
  type ImageRef,
} from '../../../src/builder/image-ref.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('references parse into host, repository, tag and digest with Docker Hub defaults', () => {
  const cases: [string, ImageRef][] = [
    ['nginx', { host: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { host: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['team/app', { host: 'docker.io', repository: 'team/app' }],
    ['docker.io/nginx', { host: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/team/app:v1', { host: 'docker.io', repository: 'team/app', tag: 'v1' }],
    ['registry-1.docker.io/library/busybox', { host: 'docker.io', repository: 'library/busybox' }],
    ['localhost/app', { host: 'localhost', repository: 'app' }],
    ['localhost:5000/a/b/c:dev', { host: 'localhost:5000', repository: 'a/b/c', tag: 'dev' }],
    ['127.0.0.1:40789/builds/app:t1', { host: '127.0.0.1:40789', repository: 'builds/app', tag: 't1' }],
    ['Registry.Example.com/app', { host: 'registry.example.com', repository: 'app' }],
    [`ghcr.io/org/app@${DIGEST}`, { host: 'ghcr.io', repository: 'org/app', digest: DIGEST }],
    [`ghcr.io/org/app:1.0@${DIGEST}`, { host: 'ghcr.io', repository: 'org/app', tag: '1.0', digest: DIGEST }],
    ['123456789012.dkr.ecr.eu-central-1.amazonaws.com/builds/app', { host: '123456789012.dkr.ecr.eu-central-1.amazonaws.com', repository: 'builds/app' }],
    ['[::1]:5000/app:x', { host: '[::1]:5000', repository: 'app', tag: 'x' }],
    ['r.io/a__b/c-d/e.f_g', { host: 'r.io', repository: 'a__b/c-d/e.f_g' }],
  ];
  for (const [raw, want] of cases) assert.deepEqual(parseImageRef(raw), want, raw);
});

test('invalid references give a message instead of a reference', () => {
  for (const raw of ['', '  ', 'UPPER', 'r.io/App', 'r.io/app:bad tag', 'r.io/app:-x', 'r.io/app@sha256:xyz', 'r.io//app',
    'r.io/app/', 'bad_host.io:x:y/app', `r.io/${'a'.repeat(300)}`, 'r.io/a..b']) {
    assert.equal(typeof parseImageRef(raw), 'string', JSON.stringify(raw));
  }
});

test('manifest reference, API host, formatted name and registry key', () => {
  const hub = parseImageRef('nginx') as ImageRef;
  assert.equal(manifestReference(hub), 'latest');
  assert.equal(apiHost(hub), 'registry-1.docker.io');
  assert.equal(formatImageRef(hub), 'docker.io/library/nginx');
  assert.equal(registryKeyOf(hub), 'https://index.docker.io/v1/');
  const pinned = parseImageRef(`r.io:5000/a/b:t@${DIGEST}`) as ImageRef;
  assert.equal(manifestReference(pinned), DIGEST);
  assert.equal(apiHost(pinned), 'r.io:5000');
  assert.equal(formatImageRef(pinned), `r.io:5000/a/b:t@${DIGEST}`);
  assert.equal(registryKeyOf(pinned), 'r.io:5000');
});

test('credential keys are tried from the most specific path to the host', () => {
  assert.deepEqual(keyCandidates('r.io/a/b'), ['r.io/a/b', 'r.io/a', 'r.io']);
  assert.deepEqual(keyCandidates('r.io'), ['r.io']);
  assert.deepEqual(keyCandidates('https://index.docker.io/v1/'), ['https://index.docker.io/v1/']);
  assert.deepEqual(imageKeyCandidates(parseImageRef('gcr.io/proj/app:1') as ImageRef), ['gcr.io/proj/app', 'gcr.io/proj', 'gcr.io']);
  assert.deepEqual(imageKeyCandidates(parseImageRef('team/app') as ImageRef), ['https://index.docker.io/v1/']);
});

test('repository prefixes normalise to the fully qualified form', () => {
  const cases: [string, string][] = [
    ['123456789012.dkr.ecr.eu-central-1.amazonaws.com/builds/', '123456789012.dkr.ecr.eu-central-1.amazonaws.com/builds/'],
    ['https://R.io/Team/', 'r.io/Team/'],
    ['index.docker.io/team/', 'docker.io/team/'],
    ['team/', 'docker.io/team/'],
    ['r.io', 'r.io'],
    ['localhost:5000/x', 'localhost:5000/x'],
  ];
  for (const [raw, want] of cases) assert.equal(normalizePrefix(raw), want, raw);
});
