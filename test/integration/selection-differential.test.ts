// Differential test of label selection: for random namespace labels and random OR-lists of label
// selectors (keys drawn partly from the names of Object.prototype's properties, which are valid label
// keys), the namespaces a resource writes its Secret to must be exactly the union of what the API
// server itself returns for `labelSelector=` of each item of the list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { LabelSelector } from '../../src/api/v1alpha1/types.ts';
import { isQualifiedName } from '../../src/api/v1alpha1/validation.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, dockerConfigSecret, managedSecrets, rest, uniqueName,
} from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';

let daemon: TestDaemon;
const sourceNs = uniqueName('source');

before(async () => {
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'regcred', { 'r.example': { username: 'u', password: 'differential' } }));
});

after(async () => {
  await daemon.stop();
  rest.close();
});

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).filter(isQualifiedName);
const key = fc.constantFrom(...PROTOTYPE_KEYS, 'tier', 'example.com/team');
const value = fc.constantFrom('a', 'b');
const requirement = fc.oneof(
  fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }) }),
  fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const selector: fc.Arbitrary<LabelSelector> = fc.record({
  matchLabels: fc.dictionary(key, value, { maxKeys: 1 }),
  matchExpressions: fc.array(requirement, { maxLength: 2 }),
});
const scenario = fc.record({
  namespaces: fc.array(fc.dictionary(key, value, { maxKeys: 3 }), { minLength: 5, maxLength: 5 }),
  resources: fc.array(fc.array(selector, { minLength: 1, maxLength: 2 }), { minLength: 5, maxLength: 5 }),
});

/** The selector in the API server's query syntax. */
function selectorQuery(s: LabelSelector): string {
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const r of s.matchExpressions ?? []) {
    const values = `(${(r.values ?? []).join(',')})`;
    parts.push(r.operator === 'In' ? `${r.key} in ${values}` : r.operator === 'NotIn' ? `${r.key} notin ${values}`
      : r.operator === 'Exists' ? r.key : `!${r.key}`);
  }
  return parts.join(',');
}

/** Namespaces the API server selects with any selector of the list. */
async function serverSelects(selectors: LabelSelector[]): Promise<string[]> {
  const out = new Set<string>();
  for (const s of selectors) {
    const list = await rest.call<{ items: { metadata: { name: string } }[] }>({ method: 'GET', path: '/api/v1/namespaces',
      query: { labelSelector: selectorQuery(s) } });
    for (const ns of list.items) out.add(ns.metadata.name);
  }
  return [...out].sort();
}

async function daemonSelects(resource: string): Promise<string[]> {
  return [...(await managedSecrets()).values()].filter((s) => s.metadata.labels?.['pullsecret-sync.dev/owner'] === resource)
    .map((s) => s.metadata.namespace ?? '').sort();
}

test('the daemon selects exactly the namespaces the API server selects, for every resource', async () => {
  await fc.assert(fc.asyncProperty(scenario, async ({ namespaces, resources }) => {
    // The comparison is over this scenario's namespaces: the shared bed also holds other tests' namespaces,
    // some Terminating, which the API server lists and the daemon rightly never writes to.
    const own = new Set<string>();
    for (const labels of namespaces) {
      const ns = uniqueName('diff');
      own.add(ns);
      await createNamespace(ns, labels);
    }
    const names = resources.map(() => uniqueName('diff'));
    try {
      for (const [i, selectors] of resources.entries()) {
        await createIps(names[i] ?? '', { registry: { credentials: [{ name: 'regcred', namespace: sourceNs }] },
          target: { secret: { name: names[i] ?? '' }, namespaces: { labels: selectors } } });
      }
      for (const [i, selectors] of resources.entries()) {
        const name = names[i] ?? '';
        const want = (await serverSelects(selectors)).filter((ns) => own.has(ns));
        let have: string[] = [];
        await eventually(async () => {
          have = (await daemonSelects(name)).filter((ns) => own.has(ns));
          return have.join() === want.join();
        }, { timeoutMs: 10_000, message: `${name} selects what the API server selects` }).catch(() => undefined);
        assert.deepEqual(have, want, `${name} with ${JSON.stringify(selectors)}`);
      }
    } finally {
      await deleteIpsAndWait(names, 30_000);
    }
  }), { numRuns: 2, endOnFailure: true });
});
