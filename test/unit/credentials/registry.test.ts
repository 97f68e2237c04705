// A provider is its module plus one line in the registry: a fourth, fake provider registered here shows up
// in the CRD schema, the validation, `plan`, the token cache and the metric labels, with no other change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiSchema, resourceSchema } from '../../../src/api/v1alpha1/schema.ts';
import type { ImagePullSecret, ImagePullSecretSpec } from '../../../src/api/v1alpha1/types.ts';
import { validateSpec } from '../../../src/api/v1alpha1/validation.ts';
import { planSources } from '../../../src/cli/plan/sources.ts';
import { secretReferenceIssues, secretReferenceSchema, type ProviderModule, type SecretReference } from '../../../src/credentials/provider-module.ts';
import { entriesFor } from '../../../src/credentials/provider.ts';
import { PROVIDERS, PROVIDER_KINDS, PROVIDER_MODULES, createProviders } from '../../../src/credentials/registry.ts';
import { TokenCache } from '../../../src/credentials/token-cache.ts';
import { loginEntry, normalizeRegistryKey } from '../../../src/dockerconfig/index.ts';
import type { Secret } from '../../../src/kube/objects.ts';
import { Metrics } from '../../../src/metrics/metrics.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { nonEmpty, obj } from '../../../src/util/openapi.ts';

interface TokenSource {
  registry: string;
  credentialsSecret: SecretReference;
}

/** A registry that takes a long-lived token from a Secret and serves it for an hour at a time. */
const token: ProviderModule<'Token', 'token', TokenSource> = {
  kind: 'Token',
  field: 'token',
  schema: obj({ registry: nonEmpty(), credentialsSecret: secretReferenceSchema('Secret holding the token (default key token).', true) },
    ['registry', 'credentialsSecret']),
  defaultSecretKey: 'token',
  validateSpec: (source, at) => [
    ...(source.registry.includes('/') ? [{ path: `${at}.registry`, message: 'is a host, not a path' }] : []),
    ...secretReferenceIssues(source.credentialsSecret, `${at}.credentialsSecret`),
  ],
  secretRef: (source) => source.credentialsSecret,
  reference: (source) => `Token ${source.registry}`,
  registries: (source) => [normalizeRegistryKey(source.registry) ?? source.registry],
  create: () => ({
    kind: 'Token',
    validate: () => [],
    identity: (source) => `token|${source.registry}`,
    retarget: (source, fetched) => entriesFor(token.registries(source), fetched),
    fetch: (source, secret) => Promise.resolve({
      entries: token.registries(source).map((registry) => ({ ...loginEntry('', 'token', secret?.token ?? ''), registry })),
      expiresAt: new Date(Date.UTC(2025, 0, 1, 1)),
    }),
  }),
};
const modules = [...PROVIDER_MODULES, token];

const spec = (registry: Record<string, unknown>): ImagePullSecretSpec =>
  ({ registry, target: { secret: { name: 'pull' } } });
const source = { registry: 'tokens.example.com', credentialsSecret: { name: 'tok', namespace: 'ra' } };

test('the registry keys each module by its kind, in spec order, and the daemon gets one provider of each', () => {
  assert.deepEqual(PROVIDER_KINDS.slice(0, 3), ['ECR', 'GCP', 'Azure'], 'the lists the CRD has always had come first');
  for (const kind of PROVIDER_KINDS) assert.equal(PROVIDERS[kind].kind, kind);
  const created = createProviders({});
  assert.deepEqual(Object.keys(created), PROVIDER_MODULES.map((m) => m.field));
  for (const m of PROVIDER_MODULES) assert.equal(Object.entries(created).find(([field]) => field === m.field)?.[1].kind, m.kind);
});

test('a registered provider adds its list to the CRD schema and to the one-source rule', () => {
  const registry = (s: Record<string, unknown>) => ((s.properties as Record<string, Record<string, unknown>>).spec?.properties as
    Record<string, { properties: Record<string, unknown>; 'x-kubernetes-validations': { rule: string }[] }>).registry;
  const withToken = registry(resourceSchema(modules));
  assert.ok(withToken);
  assert.deepEqual(Object.keys(withToken.properties), ['credentials', ...PROVIDER_MODULES.map((m) => m.field), 'token']);
  assert.deepEqual(withToken.properties.token, { type: 'array', items: token.schema });
  assert.match(withToken['x-kubernetes-validations'][0]?.rule ?? '', /\(has\(self\.token\) \? size\(self\.token\) : 0\) > 0$/);
  assert.deepEqual(resourceSchema(), openApiSchema, 'the registered providers are the default');
});

test('a registered provider counts as a source and its own checks run, at its path', () => {
  assert.deepEqual(validateSpec(spec({ token: [source] }), modules), []);
  assert.deepEqual(validateSpec(spec({ token: [source] })).map((i) => i.message), ['names no credential source'], 'unregistered, it is no source');
  const bad = { registry: 'tokens.example.com/team', credentialsSecret: { name: 'Tok', namespace: 'ra' } };
  assert.deepEqual(validateSpec(spec({ token: [source, bad] }), modules).map((i) => i.path),
    ['spec.registry.token[1].registry', 'spec.registry.token[1].credentialsSecret.name']);
});

test('plan lists a registered provider by the registries its module names, after the built-in ones', () => {
  const ips = { metadata: { name: 'r' }, spec: spec({ gcp: [{ registries: ['gcr.io'] }], token: [source] }) } as ImagePullSecret;
  const secrets = new Map<string, Secret>([['ra/tok', { metadata: { name: 'tok', namespace: 'ra' }, data: {} }]]);
  const planned = planSources(ips, (ref) => secrets.get(ref), modules);
  assert.deepEqual(planned.contributions.map((c) => [c.source, c.entries.map((e) => e.registry)]),
    [['GCP gcr.io', ['gcr.io']], ['Token tokens.example.com', ['tokens.example.com']]]);
  assert.deepEqual(planned.problems, []);
  assert.equal(planned.cloud, true);
  assert.deepEqual(planSources(ips, () => undefined, modules).problems.at(-1), 'Token tokens.example.com: Secret ra/tok not found');
});

test('the provider a module creates is served through the token cache and counted under its kind', async () => {
  const fetched: string[] = [];
  const cache = new TokenCache({ clock: new FakeClock(), onFetch: (kind, result) => { fetched.push(`${kind} ${result}`); } });
  const state = await cache.get(token.create({}), source, { token: 'abc' });
  assert.deepEqual(state.entries.map((e) => [e.registry, e.username]), [['tokens.example.com', 'token']]);
  assert.deepEqual(fetched, ['Token success']);
  cache.close();
  const text = await new Metrics([...PROVIDER_KINDS, token.kind]).registry.metrics();
  assert.ok(text.includes('pullsecret_sync_token_fetches_total{provider="Token",result="error"} 0'), text);
});
