// Differential test of the two admission engines (docs/adr/0008-admission-engines.md): for random
// resources with target.pods.inject and random pods in random namespaces, pods are dry-run created through
// the testbed's API server, once with the policy engine and once with the webhook engine. For each pod, the
// Secret names each engine added must be exactly those of the resources whose selection — the daemon's own
// (controller/decide/selection.ts, checked against the API server's label selection in
// selection-differential.test.ts), with the admitted pod as its namespace's pod — selects the pod's
// namespace, less the names the pod already lists and less the pods never touched (kube-system, the
// daemon's namespace, opted-out pods and namespaces, mirror pods); and the entries the pod had stay first.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { AnnotationSelector, ImagePullSecretSpec, LabelSelector, SelectorRequirement } from '../../src/api/v1alpha1/types.ts';
import { BINDINGS_PATH, POLICIES_PATH } from '../../src/admission/policy.ts';
import { compileTarget, selectNamespace } from '../../src/controller/decide/selection.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, readIps, rest, uniqueName } from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { admitPod, INJECT_OPT_OUT_LABEL, pullSecretNames, type PodInput } from '../support/admission.ts';

const own = uniqueName('diff-own');
const source = uniqueName('diff-src');
const created: string[] = [own, source];
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(own);
  await createNamespace(source);
  await createSecret(dockerConfigSecret(source, 'hub', { 'r.example': { username: 'u', password: 'differential' } }));
});

after(async () => {
  await rest.call({ method: 'DELETE', path: `${MWC}/pullsecret-sync.${own}` }).catch(() => undefined);
  for (const ns of created) await deleteNamespace(ns).catch(() => undefined);
  rest.close();
});

const KEYS = ['tier', 'example.com/team', 'constructor'];
const key = fc.constantFrom(...KEYS);
const requirement = (values: string[]): fc.Arbitrary<SelectorRequirement> => fc.oneof(
  fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const labels = fc.dictionary(key, fc.constantFrom('a', 'b'), { maxKeys: 2 });
const annotations = fc.dictionary(key, fc.constantFrom('a', 'x y'), { maxKeys: 2 });
const labelSelector: fc.Arbitrary<LabelSelector> = fc.record({ matchLabels: fc.dictionary(key, fc.constantFrom('a', 'b'), { maxKeys: 1 }),
  matchExpressions: fc.array(requirement(['a', 'b']), { maxLength: 2 }) }, { requiredKeys: [] });
const annotationSelector: fc.Arbitrary<AnnotationSelector> = fc.record({ matchAnnotations: fc.dictionary(key, fc.constantFrom('a', 'x y'), { maxKeys: 1 }),
  matchExpressions: fc.array(requirement(['a', 'x y']), { maxLength: 1 }) }, { requiredKeys: [] });
const optOut = fc.constantFrom(undefined, undefined, undefined, 'false', 'true');

/** Namespaces 0..3 are created per run; 4 is kube-system and 5 the daemon's own. */
const NAMESPACE_SLOTS = 6;
const scenario = fc.record({
  namespaces: fc.array(fc.record({ labels, annotations, optOut }), { minLength: 4, maxLength: 4 }),
  resources: fc.array(fc.record({
    names: fc.uniqueArray(fc.nat(NAMESPACE_SLOTS - 1), { maxLength: 2 }),
    labels: fc.array(labelSelector, { maxLength: 1 }), annotations: fc.array(annotationSelector, { maxLength: 1 }),
    podLabels: fc.array(labelSelector, { maxLength: 1 }), podAnnotations: fc.array(annotationSelector, { maxLength: 1 }),
    secret: fc.constantFrom('s1', 's2'),
  }), { minLength: 1, maxLength: 3 }),
  pods: fc.array(fc.record({ slot: fc.nat(NAMESPACE_SLOTS - 1), labels, annotations, optOut, mirror: fc.nat(9).map((n) => n === 0),
    pullSecrets: fc.option(fc.uniqueArray(fc.constantFrom('s1', 'other'), { maxLength: 2 }), { nil: undefined }) }), { minLength: 16, maxLength: 16 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface World {
  namespaces: { name: string; labels: Record<string, string>; annotations: Record<string, string> }[];
  specs: ImagePullSecretSpec[];
  pods: { namespace: string; input: PodInput }[];
}

function worldOf(s: Scenario): World {
  const namespaces = [
    ...s.namespaces.map((n) => ({ name: uniqueName('diff'), labels: n.optOut ? { ...n.labels, [INJECT_OPT_OUT_LABEL]: n.optOut } : n.labels, annotations: n.annotations })),
    { name: 'kube-system', labels: {}, annotations: {} },
    { name: own, labels: {}, annotations: {} },
  ];
  const nameOf = (slot: number) => namespaces[slot]?.name ?? 'kube-system';
  const specs = s.resources.map((r): ImagePullSecretSpec => ({
    registry: { credentials: [{ name: 'hub', namespace: source }] },
    target: { namespaces: { names: r.names.map(nameOf), labels: r.labels, annotations: r.annotations },
      namespacesWithPods: { labels: r.podLabels, annotations: r.podAnnotations }, secret: { name: r.secret }, pods: { inject: true } },
  }));
  const pods = s.pods.map((p) => ({ namespace: nameOf(p.slot), input: {
    labels: p.optOut ? { ...p.labels, [INJECT_OPT_OUT_LABEL]: p.optOut } : p.labels,
    annotations: p.mirror ? { ...p.annotations, 'kubernetes.io/config.mirror': 'static' } : p.annotations,
    ...(p.mirror ? { nodeName: 'n1' } : {}),
    // A mirror pod may not reference Secrets at all: the API server refuses one that does.
    ...(p.pullSecrets && !p.mirror ? { imagePullSecrets: p.pullSecrets.map((name) => ({ name })) } : {}),
  } }));
  return { namespaces, specs, pods };
}

/** Pods the daemon never touches, whatever selects them (the admission rule's exclusions). */
function excluded(namespace: string, nsLabels: Record<string, string>, input: PodInput): boolean {
  return namespace === 'kube-system' || namespace === own || input.annotations?.['kubernetes.io/config.mirror'] !== undefined
    || input.labels?.[INJECT_OPT_OUT_LABEL] === 'false' || nsLabels[INJECT_OPT_OUT_LABEL] === 'false';
}

/** Per pod, the names the daemon's selection says it gets: sorted, each once. */
function expected(w: World): string[][] {
  return w.pods.map(({ namespace, input }) => {
    const ns = w.namespaces.find((n) => n.name === namespace);
    const nsLabels: Record<string, string> = { ...ns?.labels, 'kubernetes.io/metadata.name': namespace };
    if (excluded(namespace, nsLabels, input)) return [];
    const present = new Set((input.imagePullSecrets ?? []).map((e) => e.name));
    const pod = { name: 'p', labels: input.labels ?? {}, annotations: input.annotations ?? {} };
    const names = new Set<string>();
    for (const spec of w.specs) {
      const compiled = compileTarget(spec.target);
      if (!compiled.ok) throw new Error(compiled.errors.join('; '));
      if (selectNamespace(compiled.value, { name: namespace, labels: nsLabels, annotations: ns?.annotations ?? {} }, [pod]).selected) names.add(spec.target.secret.name);
    }
    return [...names].filter((n) => !present.has(n)).sort();
  });
}

/** Per pod, the names admission added (dry run: nothing is stored); the pod's own entries must stay first. */
async function observed(w: World): Promise<string[][]> {
  return Promise.all(w.pods.map(async ({ namespace, input }, i) => {
    const before = (input.imagePullSecrets ?? []).map((e) => e.name);
    const after = pullSecretNames(await admitPod(namespace, `diff-${String(i)}`, input, true)) ?? [];
    assert.deepEqual(after.slice(0, before.length), before, `${namespace}: the pod's own entries stay first`);
    return after.slice(before.length).sort();
  }));
}

/** Polls until admission gives `want` (the engine has loaded what the daemon wrote), then returns what it gives. */
async function settle(w: World, want: string[][]): Promise<string[][]> {
  let got: string[][] = [];
  await eventually(async () => {
    got = await observed(w);
    return JSON.stringify(got) === JSON.stringify(want);
  }, { timeoutMs: 20_000, intervalMs: 250 }).catch(() => undefined);
  return got;
}

/** Waits until no engine adds anything to any of the pods. */
async function quiet(w: World, when: string): Promise<void> {
  await eventually(async () => (await observed(w)).every((names) => names.length === 0),
    { timeoutMs: 20_000, intervalMs: 250, message: `no pod is mutated ${when}` });
}

/** Deletes the resources that are left, with a daemon that only finalizes them (no admission engine). */
async function removeResources(names: string[]): Promise<void> {
  const left = (await Promise.all(names.map(async (n) => ((await readIps(n)) ? n : undefined)))).filter((n) => n !== undefined);
  if (!left.length) return;
  await withDaemon(['--admission-engine=off'], true, () => deleteIpsAndWait(left, 30_000));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => { resolve(port); }); });
  });
}

async function withDaemon<T>(args: string[], admin: boolean, body: (d: TestDaemon) => Promise<T>): Promise<T> {
  const daemon = await startTestDaemon([`--namespace=${own}`, ...args], admin ? { identityOf: 'admin' } : {});
  try {
    return await body(daemon);
  } finally {
    await daemon.stop();
  }
}

const describe = (w: World, i: number) => `pod ${String(i)} in ${w.pods[i]?.namespace ?? ''}: ${JSON.stringify(w.pods[i]?.input)}; resources ${JSON.stringify(w.specs.map((s) => s.target))}`;

test('the policy engine and the webhook engine add exactly what the daemon\'s selection selects, pod for pod', { timeout: 600_000 }, async () => {
  const tally = { pods: 0, mutated: 0 };
  await fc.assert(fc.asyncProperty(scenario, async (s) => {
    const w = worldOf(s);
    for (const ns of w.namespaces.slice(0, 4)) {
      created.push(ns.name);
      await createNamespace(ns.name, ns.labels, ns.annotations);
    }
    const want = expected(w);
    const resources = w.specs.map(() => uniqueName('diff'));
    try {
      for (const [i, spec] of w.specs.entries()) await createIps(resources[i] ?? '', spec);
      await quiet(w, 'before the policy engine');
      const byPolicy = await withDaemon(['--admission-engine=policy'], false, () => settle(w, want));
      // The policies outlive the daemon (they are the API server's); the webhook engine neither reads nor
      // removes them. Gone, and no longer applied, before the webhook's turn.
      const selector = `pullsecret-sync.dev/owner in (${resources.join(',')})`;
      for (const path of [BINDINGS_PATH, POLICIES_PATH]) await rest.call({ method: 'DELETE', path, query: { labelSelector: selector } });
      await quiet(w, 'once the policies are deleted');
      const port = await freePort();
      // The drain is node-install.test.ts's subject; here it would only hold each stop for 3 s.
      const byWebhook = await withDaemon(['--admission-engine=webhook', `--webhook-addr=127.0.0.1:${String(port)}`,
        `--webhook-url=https://127.0.0.1:${String(port)}`, '--webhook-drain=100ms'], true, async () => {
        const got = await settle(w, want);
        await deleteIpsAndWait(resources, 30_000);
        return got;
      });
      await rest.call({ method: 'DELETE', path: `${MWC}/pullsecret-sync.${own}` }).catch(() => undefined);
      for (const [i, names] of want.entries()) {
        assert.deepEqual(byPolicy[i], names, `policy engine, ${describe(w, i)}`);
        assert.deepEqual(byWebhook[i], names, `webhook engine, ${describe(w, i)}`);
      }
      tally.pods += want.length;
      tally.mutated += want.filter((n) => n.length > 0).length;
    } finally {
      await removeResources(resources);
    }
  }), { numRuns: 8, endOnFailure: true });
  console.log(`admission differential: ${String(tally.pods)} pods, ${String(tally.mutated)} of them mutated by both engines alike`);
  assert.ok(tally.mutated > 0, 'some pods were mutated');
});
