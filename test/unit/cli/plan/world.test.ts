// What `plan` asks the cluster for when it reads Secrets: never every Secret's data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { podsFromCluster, secretsFromCluster } from '../../../../src/cli/plan/world.ts';
import { KubeApiError, METADATA_LIST_ACCEPT, type KubeRest, type RequestSpec } from '../../../../src/kube/rest.ts';

const secret = (namespace: string, name: string, data?: Record<string, string>) => ({ metadata: { namespace, name }, ...(data ? { data } : {}) });

test('Secrets are read as metadata only, paged, with data only for managed, IMPS-held and named source Secrets', async () => {
  const calls: string[] = [];
  const rest = {
    call: (spec: RequestSpec) => {
      const q = spec.query ?? {};
      calls.push(`${spec.path} ${spec.accept === METADATA_LIST_ACCEPT ? 'metadata' : 'full'} ${String(q.labelSelector ?? '')} ${String(q.continue ?? '')}`.trim());
      if (spec.path === '/api/v1/namespaces/src/secrets/gone') return Promise.reject(new KubeApiError(404, 'NotFound', 'not found'));
      if (spec.path.startsWith('/api/v1/namespaces/')) return Promise.resolve(secret('src', 'hub', { k: 'dg==' }));
      if (spec.accept === METADATA_LIST_ACCEPT) {
        return Promise.resolve(q.continue ? { items: [secret('b', 'pull')] } : { items: [secret('src', 'hub'), secret('a', 'other')], metadata: { continue: 'next' } });
      }
      return Promise.resolve({ items: q.labelSelector === 'app.kubernetes.io/managed-by=pullsecret-sync' ? [secret('d', 'pull', { k: 'eA==' })] : [] });
    },
  } as unknown as KubeRest;
  const ips = { metadata: { name: 'r' }, spec: { registry: { credentials: [{ namespace: 'src', name: 'hub' }, { namespace: 'src', name: 'gone' }, { namespace: 'src', name: 'hub' }] } } } as unknown as ImagePullSecret;
  const secrets = await secretsFromCluster(rest, [ips]);
  assert.deepEqual(calls.sort(), [
    '/api/v1/namespaces/src/secrets/gone full',
    '/api/v1/namespaces/src/secrets/hub full',
    '/api/v1/secrets full app.kubernetes.io/managed-by=pullsecret-sync',
    '/api/v1/secrets full images.banzaicloud.io/owner-uid',
    '/api/v1/secrets metadata',
    '/api/v1/secrets metadata  next',
  ]);
  assert.deepEqual(secrets.map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name} ${s.data ? 'data' : 'metadata'}`).sort(),
    ['a/other metadata', 'b/pull metadata', 'd/pull data', 'src/hub data']);
});

test('pods are read as metadata only, unless a resource asks for injection (then their spec is needed)', async () => {
  const calls: string[] = [];
  const rest = { call: (spec: RequestSpec) => {
    calls.push(`${spec.path} ${spec.accept === METADATA_LIST_ACCEPT ? 'metadata' : 'full'}`);
    return Promise.resolve({ items: [] });
  } } as unknown as KubeRest;
  const resource = (inject?: boolean) => ({ metadata: { name: 'r' }, spec: { target: { secret: { name: 'pull' }, ...(inject === undefined ? {} : { pods: { inject } }) } } }) as unknown as ImagePullSecret;
  await podsFromCluster(rest, [resource(), resource(false)]);
  await podsFromCluster(rest, [resource(), resource(true)]);
  assert.deepEqual(calls, ['/api/v1/pods metadata', '/api/v1/pods full']);
});
