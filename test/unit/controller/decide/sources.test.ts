import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { SourceResolver } from '../../../../src/controller/decide/sources.ts';
import type { SourceSecrets, SourceState } from '../../../../src/controller/watch/source-secrets.ts';
import type { Secret } from '../../../../src/kube/objects.ts';
import { collected } from '../../../support/collected.ts';

const now = new Date(0);

function dockerConfig(name: string, registry: string): Secret {
  const auths = { [registry]: { auth: Buffer.from('u:p').toString('base64') } };
  return { metadata: { name, namespace: 'src' }, type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') } };
}

const ips = (name: string, sources: string[]) => ({ metadata: { name }, spec: {
  registry: { credentials: sources.map((s) => ({ name: s, namespace: 'src' })) }, target: { secret: { name: 'pull' } } } }) as ImagePullSecret;

/** Source Secrets as their watches hold them: here, a plain map by `namespace/name`. */
function watched(secrets: Map<string, Secret>): SourceSecrets {
  const get = (ref: string): SourceState => {
    const secret = secrets.get(ref);
    return secret ? { kind: 'found', secret } : { kind: 'missing' };
  };
  return { get } as unknown as SourceSecrets;
}

/** The registries `resource` gets from its one source, and a weak reference to the entries it got. */
async function resolveOne(resolver: SourceResolver, resource: ImagePullSecret): Promise<{ registries: string[]; entries: WeakRef<object> }> {
  const [outcome] = await resolver.resolve(resource, now);
  assert.ok(outcome);
  return { registries: outcome.entries.map((e) => e.registry), entries: new WeakRef(outcome.entries) };
}

test('a resource that stops naming a source lets go of its entries', async () => {
  const secrets = new Map([['src/a', dockerConfig('a', 'a.io')], ['src/b', dockerConfig('b', 'b.io')]]);
  const resolver = new SourceResolver(watched(secrets));
  const first = await resolveOne(resolver, ips('r', ['a']));
  assert.deepEqual(first.registries, ['a.io']);
  assert.deepEqual((await resolveOne(resolver, ips('r', ['b']))).registries, ['b.io']);
  secrets.delete('src/a'); // its last user is gone, and its watch with it
  assert.ok(await collected(first.entries), 'the entries of the source no resource names any more are released');
});

test('a source that breaks keeps its last good entries; one that is deleted stops contributing', async () => {
  const secrets = new Map([['src/a', dockerConfig('a', 'a.io')]]);
  const resolver = new SourceResolver(watched(secrets));
  await resolver.resolve(ips('r', ['a']), now);
  secrets.set('src/a', { ...dockerConfig('a', 'a.io'), data: { '.dockerconfigjson': Buffer.from('not json').toString('base64') } });
  const [broken] = await resolver.resolve(ips('r', ['a']), now);
  assert.ok(broken);
  assert.deepEqual(broken.entries.map((e) => e.registry), ['a.io']);
  assert.equal(broken.error, 'key .dockerconfigjson is not valid JSON');
  secrets.delete('src/a');
  const [deleted] = await resolver.resolve(ips('r', ['a']), now);
  assert.ok(deleted);
  assert.deepEqual(deleted.entries, []);
  assert.equal(deleted.error, 'Secret not found');
});
