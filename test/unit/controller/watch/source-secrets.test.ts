import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toSourceSecret } from '../../../../src/controller/watch/source-secrets.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('a docker config source is cached parsed, without its bytes or the copy kubectl apply keeps of them', () => {
  const data = { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'https://r.io': { auth: b64('u:p') } } })) };
  const cached = toSourceSecret({
    metadata: { name: 'hub', namespace: 'src', uid: 'u1', resourceVersion: '7', labels: { team: 'a' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data }) }, managedFields: [{}] },
    type: 'kubernetes.io/dockerconfigjson', data,
  });
  assert.deepEqual(cached, {
    metadata: { name: 'hub', namespace: 'src', uid: 'u1', resourceVersion: '7' }, type: 'kubernetes.io/dockerconfigjson',
    parsed: { entries: [{ registry: 'r.io', auth: b64('u:p') }], problems: [], shadowed: [] },
  });
});

test('other Secrets keep their data: cloud keys and ECR login configs are read from it', () => {
  const cached = toSourceSecret({ metadata: { name: 'key', namespace: 'src' }, type: 'Opaque', data: { 'credentials.json': b64('{}') } });
  assert.deepEqual(cached, { metadata: { name: 'key', namespace: 'src', uid: undefined, resourceVersion: undefined }, type: 'Opaque',
    data: { 'credentials.json': b64('{}') } });
});
