// The admission rule (decide.ts) compiled for the API server: the MutatingAdmissionPolicy and bindings that
// inject a resource's Secret name into pods at admission (admissionregistration.k8s.io/v1;
// docs/adr/0008-admission-engines.md), what the daemon wants to exist for a resource with
// `target.pods.inject: true`, and whether what exists is that. The API server evaluates it, so nothing
// of the daemon is on the admission path. Pure.
import { INJECT_OPT_OUT_LABEL, INJECT_OPT_OUT_VALUE, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../api/v1alpha1/labels.ts';
import { API_VERSION, KIND, type ImagePullSecret } from '../api/v1alpha1/types.ts';
import { KUBE_SYSTEM, MIRROR_POD_ANNOTATION, NODE_USER_PREFIX } from './pod.ts';
import { mapVariableExpression, patchCel, selectionCel } from './policy-cel.ts';
import { bindingMatch, bindingSelectors, injectionBindingName, NAMESPACE_NAME_LABEL, type BindingMatch } from './policy-bindings.ts';
import { injectingTarget } from './selection.ts';

export { injectionBindingName, NAMESPACE_NAME_LABEL };

export const ADMISSION_API = 'admissionregistration.k8s.io/v1';
export const POLICIES_PATH = `/apis/${ADMISSION_API}/mutatingadmissionpolicies`;
export const BINDINGS_PATH = `/apis/${ADMISSION_API}/mutatingadmissionpolicybindings`;

/** The metadata the daemon sets and reads on these objects. */
export interface ObjectMeta {
  name: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  finalizers?: string[];
  deletionTimestamp?: string;
}

interface Requirement { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }
interface Selector { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] }
interface NamedExpression { name: string; expression: string }

export interface MutatingAdmissionPolicy {
  apiVersion: typeof ADMISSION_API;
  kind: 'MutatingAdmissionPolicy';
  metadata: ObjectMeta;
  spec: {
    failurePolicy: 'Ignore';
    reinvocationPolicy: 'IfNeeded';
    matchConstraints: {
      matchPolicy: 'Equivalent';
      namespaceSelector: Selector;
      objectSelector: Selector;
      resourceRules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[]; scope: '*' }[];
    };
    matchConditions: NamedExpression[];
    variables: NamedExpression[];
    mutations: { patchType: 'JSONPatch'; jsonPatch: { expression: string } }[];
  };
}

export interface MutatingAdmissionPolicyBinding {
  apiVersion: typeof ADMISSION_API;
  kind: 'MutatingAdmissionPolicyBinding';
  metadata: ObjectMeta;
  spec: { policyName: string; matchResources?: BindingMatch };
}

export interface InjectionObjects {
  policy: MutatingAdmissionPolicy;
  /** Each named injectionBindingName(resource, index), in index order. */
  bindings: MutatingAdmissionPolicyBinding[];
}

/** Name of the policy (and of its first binding) for resource `name`. */
export const injectionPolicyName = (name: string): string => `pullsecret-sync-${name}`;

/**
 * What the policy never touches, whatever the resource selects: the API server checks these before any
 * CEL runs. `daemonNamespace` is the daemon's own namespace (its pods are left alone).
 */
export function exclusions(daemonNamespace: string): { namespaceSelector: Selector; objectSelector: Selector; matchConditions: NamedExpression[] } {
  const optOut: Requirement = { key: INJECT_OPT_OUT_LABEL, operator: 'NotIn', values: [INJECT_OPT_OUT_VALUE] };
  return {
    namespaceSelector: { matchExpressions: [
      { key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: [...new Set([KUBE_SYSTEM, daemonNamespace])] }, optOut,
    ] },
    objectSelector: { matchExpressions: [optOut] },
    matchConditions: [
      { name: 'not-a-mirror-pod', expression: `!has(object.metadata.annotations) || !('${MIRROR_POD_ANNOTATION}' in object.metadata.annotations)` },
      { name: 'not-from-a-node', expression: `!request.userInfo.username.startsWith('${NODE_USER_PREFIX}')` },
    ],
  };
}

const metadataFor = (ips: ImagePullSecret, name = injectionPolicyName(ips.metadata.name)): ObjectMeta => ({
  name,
  labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_LABEL]: ips.metadata.name },
  ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: ips.metadata.name, uid: ips.metadata.uid ?? '' }],
});

/**
 * The one binding, without a namespace selector, of `ips`'s policy: where no selector can express the
 * selection, or where the API server refused the selectors (reconcile/injection-policies.ts).
 */
export const catchAllBinding = (ips: ImagePullSecret): MutatingAdmissionPolicyBinding => ({
  apiVersion: ADMISSION_API, kind: 'MutatingAdmissionPolicyBinding', metadata: metadataFor(ips),
  spec: { policyName: injectionPolicyName(ips.metadata.name) },
});

/** The bindings of `ips`'s policy: one per namespace selector bindingSelectors gives, else the catch-all. */
function bindingsFor(ips: ImagePullSecret): MutatingAdmissionPolicyBinding[] {
  const selectors = bindingSelectors(ips.spec.target);
  if (!selectors) return [catchAllBinding(ips)];
  return selectors.map((s, index) => ({
    apiVersion: ADMISSION_API, kind: 'MutatingAdmissionPolicyBinding', metadata: metadataFor(ips, injectionBindingName(ips.metadata.name, index)),
    spec: { policyName: injectionPolicyName(ips.metadata.name), matchResources: bindingMatch(s) },
  }));
}

/**
 * The policy and bindings resource `ips` needs: undefined when it injects nothing (selection.ts's
 * injectingTarget: it asks for no injection, is being deleted, or is invalid).
 */
export function desiredInjection(ips: ImagePullSecret, daemonNamespace: string): InjectionObjects | undefined {
  const target = ips.spec.target;
  if (!injectingTarget(ips)) return undefined;
  const selection = selectionCel(target);
  const excluded = exclusions(daemonNamespace);
  return {
    policy: {
      apiVersion: ADMISSION_API, kind: 'MutatingAdmissionPolicy', metadata: metadataFor(ips),
      spec: {
        failurePolicy: 'Ignore',
        reinvocationPolicy: 'IfNeeded',
        matchConstraints: {
          matchPolicy: 'Equivalent',
          namespaceSelector: excluded.namespaceSelector,
          objectSelector: excluded.objectSelector,
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: '*' }],
        },
        matchConditions: excluded.matchConditions,
        variables: [
          ...selection.variables.map((v) => ({ name: v, expression: mapVariableExpression(v) })),
          { name: 'selected', expression: selection.expression },
        ],
        mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: patchCel(target.secret.name, 'kubernetes') } }],
      },
    },
    bindings: bindingsFor(ips),
  };
}

/** The most code points the API server compiles in one CEL expression of an admission policy. */
export const MAX_EXPRESSION_CODE_POINTS = 100_000;

/**
 * Why the API server would refuse `policy`, as a fix for the resource's author; undefined when it fits.
 * The selection grows with the resource's name lists and selectors: the one limit they can reach is the
 * size of one expression.
 */
export function policyProblem(policy: MutatingAdmissionPolicy): string | undefined {
  const expressions = [...policy.spec.variables, ...policy.spec.mutations.map((m) => ({ name: 'mutation', expression: m.jsonPatch.expression }))];
  for (const e of expressions) {
    let size = 0;
    for (const _codePoint of e.expression) size += 1;
    if (size > MAX_EXPRESSION_CODE_POINTS) {
      return `the namespace and pod rules compile to ${String(size)} characters of CEL, over the ${String(MAX_EXPRESSION_CODE_POINTS)} the API server `
        + 'accepts in one admission policy expression: select by labels instead of long name lists, or split the resource; pods get no entry from it until then';
    }
  }
  return undefined;
}

/** Structural equality of JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && sameJson(ra[k], rb[k]));
}

/** Whether `live` is `desired`: the same spec, our labels, and an ownerReference to the same resource. */
export function isUpToDate(desired: { metadata: ObjectMeta; spec: unknown }, live: { metadata: ObjectMeta; spec?: unknown }): boolean {
  const want = desired.metadata;
  const labels = live.metadata.labels ?? {};
  const uid = want.ownerReferences?.[0]?.uid;
  return sameJson(desired.spec, live.spec)
    && Object.entries(want.labels ?? {}).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v)
    && (live.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.kind === KIND);
}
