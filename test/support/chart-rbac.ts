// The chart's RBAC on the testbed: renders the ServiceAccount, ClusterRole(+Binding) and Role(+Binding)
// of charts/pullsecret-sync into a namespace, optionally without one rule, applies them (server-side
// apply as the admin) and returns a KubeConfig that authenticates as that ServiceAccount. Integration
// tests run the controller under it to prove every rule is needed and enough; the rules, with the
// comment that justifies each, are parsed from the rendered templates.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { isMap, isSeq, parseAllDocuments } from 'yaml';
import { KubeRest, isStatus } from '../../src/kube/rest.ts';
import { adminKubeConfig, mintToken, tokenKubeConfig } from '../testbed/clients.ts';
import { eventually } from './eventually.ts';
import { renderChart } from './helm.ts';

export type RoleKind = 'ClusterRole' | 'Role';

export interface ChartRule {
  kind: RoleKind;
  /** Position in the role's `rules` list. */
  index: number;
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** The only objects the rule applies to, when it names them. */
  resourceNames?: string[];
  /** The template's comment naming the behaviour that needs the rule. */
  reason: string;
}

export interface ChartRbacOptions {
  namespace: string;
  /** Helm release name; default derived from the namespace, so cluster-scoped names never collide. */
  release?: string;
  without?: { kind: RoleKind; index: number };
}

export interface ChartRbac {
  namespace: string;
  serviceAccount: string;
  /** Authenticates as the chart's ServiceAccount with a TokenRequest token (1 h). */
  kubeConfig: KubeConfig;
  /** The rules applied (without the removed one). */
  rules: ChartRule[];
  /** Deletes what was applied, cluster-scoped objects included, and the namespace when this created it (bounded: 10 s). */
  cleanup(): Promise<void>;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] }[];
  [key: string]: unknown;
}

const RBAC_TEMPLATES = ['serviceaccount', 'clusterrole', 'clusterrolebinding', 'role', 'rolebinding']
  .map((t) => `templates/${t}.yaml`);

function releaseFor(namespace: string): string {
  return namespace.length <= 53 ? namespace : `psync-${createHash('sha256').update(namespace).digest('hex').slice(0, 16)}`;
}

/** Objects and rules of the rendered RBAC templates. */
export async function renderChartRbac(namespace: string, release = releaseFor(namespace)): Promise<{ objects: K8sObject[]; rules: ChartRule[] }> {
  const text = await renderChart({ release, namespace, showOnly: RBAC_TEMPLATES });
  const objects: K8sObject[] = [];
  const rules: ChartRule[] = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as K8sObject | null;
    if (!obj) continue;
    objects.push(obj);
    if (obj.kind !== 'ClusterRole' && obj.kind !== 'Role') continue;
    const seq = doc.get('rules', true);
    if (!isSeq(seq)) throw new Error(`${obj.kind} ${obj.metadata.name} has no rules list`);
    seq.items.forEach((item, index) => {
      const comment = (isMap(item) ? item.commentBefore : undefined) ?? (index === 0 ? seq.commentBefore : undefined);
      const rule = obj.rules?.[index] ?? {};
      rules.push({ kind: obj.kind as RoleKind, index, apiGroups: rule.apiGroups ?? [], resources: rule.resources ?? [],
        verbs: rule.verbs ?? [], ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}), reason: (comment ?? '').split('\n').map((l) => l.trim()).join(' ').trim() });
    });
  }
  return { objects, rules };
}

/** The chart's RBAC rules as rendered with default values. */
export async function chartRules(): Promise<ChartRule[]> {
  return (await renderChartRbac('pullsecret-sync')).rules;
}

function pathOf(obj: K8sObject): string {
  const ns = obj.metadata.namespace ?? '';
  switch (obj.kind) {
    case 'ServiceAccount': return `/api/v1/namespaces/${ns}/serviceaccounts/${obj.metadata.name}`;
    case 'ClusterRole': return `/apis/rbac.authorization.k8s.io/v1/clusterroles/${obj.metadata.name}`;
    case 'ClusterRoleBinding': return `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${obj.metadata.name}`;
    case 'Role': return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${obj.metadata.name}`;
    case 'RoleBinding': return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${obj.metadata.name}`;
    default: throw new Error(`chart-rbac: unexpected kind ${obj.kind}`);
  }
}

/** Whether the identity behind `rest` may do what `attrs` describe (SelfSubjectAccessReview). */
export async function canDo(rest: KubeRest, attrs: { verb: string; group: string; resource: string; subresource?: string; namespace?: string; name?: string }): Promise<boolean> {
  const review = await rest.call<{ status?: { allowed?: boolean } }>({
    method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } },
  });
  return review.status?.allowed === true;
}

/** The access a rule grants first: its first verb on its first group and resource. */
function attrsOf(rule: ChartRule, namespace: string) {
  const [resource = '', subresource] = (rule.resources[0] ?? '').split('/');
  return { verb: rule.verbs[0] ?? '', group: rule.apiGroups[0] ?? '', resource, ...(subresource ? { subresource } : {}),
    ...(rule.kind === 'Role' ? { namespace } : {}), ...(rule.resourceNames?.[0] ? { name: rule.resourceNames[0] } : {}) };
}

const covers = (rules: ChartRule[], removed: ChartRule) => rules.some((r) => r.apiGroups.includes(removed.apiGroups[0] ?? '')
  && r.resources.includes(removed.resources[0] ?? '') && r.verbs.includes(removed.verbs[0] ?? ''));

/** Creates namespace `name` when absent; whether this call created it (and so its cleanup deletes it). */
async function ensureNamespace(rest: KubeRest, name: string): Promise<boolean> {
  try {
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
    return true;
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    return false;
  }
}

/** Applies the chart's RBAC into `opts.namespace` (created when absent); resolves once the authorizer enforces it. */
export async function applyChartRbac(opts: ChartRbacOptions): Promise<ChartRbac> {
  const admin = new KubeRest(adminKubeConfig(), { qps: 100, burst: 100 });
  const rendered = await renderChartRbac(opts.namespace, opts.release ?? releaseFor(opts.namespace));
  const removed = opts.without && rendered.rules.find((r) => r.kind === opts.without?.kind && r.index === opts.without.index);
  if (opts.without && !removed) throw new Error(`chart-rbac: the chart has no ${opts.without.kind} rule ${opts.without.index}`);
  const rules = rendered.rules.filter((r) => r !== removed);
  const objects = rendered.objects.map((obj) => removed && obj.kind === removed.kind
    ? { ...obj, rules: obj.rules?.filter((_, i) => i !== removed.index) } : obj);
  let createdNamespace = false;
  const cleanup = () => deleteAll(objects, createdNamespace ? opts.namespace : undefined);
  try {
    createdNamespace = await ensureNamespace(admin, opts.namespace);
    for (const obj of objects) {
      await admin.call({ method: 'PATCH', path: pathOf(obj), body: obj, contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'chart-rbac-test', force: true } });
    }
    const sa = objects.find((o) => o.kind === 'ServiceAccount');
    if (!sa) throw new Error('chart-rbac: the chart rendered no ServiceAccount');
    const kubeConfig = tokenKubeConfig(await mintToken({ namespace: opts.namespace, serviceAccount: sa.metadata.name }));
    await enforced(kubeConfig, rules, removed, opts.namespace);
    return { namespace: opts.namespace, serviceAccount: sa.metadata.name, kubeConfig, rules, cleanup };
  } catch (err) {
    // A half-applied install is removed too: nothing of a failed start stays on the bed.
    await cleanup().catch(() => undefined);
    throw err;
  } finally {
    admin.close();
  }
}

/** Resolves once the RBAC authorizer (it reads from a cache) enforces every rule in `rules` and no longer `removed`. */
async function enforced(kubeConfig: KubeConfig, rules: ChartRule[], removed: ChartRule | undefined, namespace: string): Promise<void> {
  const asSa = new KubeRest(kubeConfig, { qps: 100, burst: 100 });
  try {
    await eventually(async () => (await Promise.all(rules.map((r) => canDo(asSa, attrsOf(r, namespace))))).every(Boolean),
      { timeoutMs: 15_000, message: 'chart RBAC takes effect' });
    if (removed && !covers(rules, removed)) {
      await eventually(async () => !(await canDo(asSa, attrsOf(removed, namespace))), { timeoutMs: 15_000, message: 'removed rule stops applying' });
    }
  } finally {
    asSa.close();
  }
}

/** Deletes `objects` and the namespace (when given), all at once, each call within 10 s; never waits for the namespace to finish terminating. */
async function deleteAll(objects: K8sObject[], namespace: string | undefined): Promise<void> {
  const admin = new KubeRest(adminKubeConfig(), { qps: 100, burst: 100, timeoutMs: 10_000 });
  const paths = [...objects.map(pathOf), ...(namespace ? [`/api/v1/namespaces/${namespace}`] : [])];
  try {
    await Promise.all(paths.map((path) => admin.call({ method: 'DELETE', path }).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    })));
  } finally {
    admin.close();
  }
}
