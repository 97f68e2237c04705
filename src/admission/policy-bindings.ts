// Which MutatingAdmissionPolicyBindings bind a resource's injection policy (policy.ts), and with which
// namespace selectors: a prefilter the API server applies before any CEL runs, so a policy costs nothing
// for pods in namespaces its resource cannot select (docs/adr/0008-admission-engines.md). The policy's
// CEL still decides; the bindings only have to select a superset of the namespaces the resource selects.
// Pure.
import type { LabelSelector, SelectorRequirement, Target } from '../api/v1alpha1/types.ts';

/** The label the API server sets on every namespace to its name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface NamespaceSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

/**
 * A binding's `matchResources` as the API server stores it (its defaults written out, so drift is a plain
 * comparison). Without `resourceRules` it matches every request the policy's own constraints match.
 */
export interface BindingMatch {
  matchPolicy: 'Equivalent';
  namespaceSelector: NamespaceSelector;
  objectSelector: Record<string, never>;
}

/**
 * The name of binding `index` (from 0) of resource `resource`'s policy: the first is named like the policy,
 * the others `pullsecret-sync.<resource>.<n>`, a form no other resource's first binding can take (those
 * start with `pullsecret-sync-`) and no other resource's later ones either (the number follows the last dot).
 */
export const injectionBindingName = (resource: string, index: number): string =>
  index === 0 ? `pullsecret-sync-${resource}` : `pullsecret-sync.${resource}.${String(index + 1)}`;

/** A label selector in the form the API server stores it: no empty map or list, no values where none apply. */
function stored(s: LabelSelector): NamespaceSelector {
  const labels = Object.entries(s.matchLabels ?? {});
  const expressions = (s.matchExpressions ?? []).map((r): SelectorRequirement => (
    r.operator === 'In' || r.operator === 'NotIn' ? { key: r.key, operator: r.operator, values: [...(r.values ?? [])] } : { key: r.key, operator: r.operator }));
  return {
    ...(labels.length ? { matchLabels: Object.fromEntries(labels) } : {}),
    ...(expressions.length ? { matchExpressions: expressions } : {}),
  };
}

/** Whether the target selects only by namespace names and labels (no selector expresses annotations or pods). */
const expressible = (t: Target): boolean =>
  [t.namespaces?.annotations, t.namespacesWithPods?.labels, t.namespacesWithPods?.annotations].every((list) => !list?.length);

const isEmpty = (s: NamespaceSelector): boolean => !s.matchLabels && !s.matchExpressions;
const key = (s: NamespaceSelector): string => JSON.stringify(s);

/**
 * The namespace selectors of the bindings `target` needs, one per term that a selector can express:
 * the name list as `kubernetes.io/metadata.name In [names]`, and each namespace label selector as it is
 * (with `NotIn [names]` added, so that a named namespace runs the policy once, not once per binding).
 * Undefined when one binding without a selector is needed: the target selects by annotations or by pods
 * (no selector expresses those), or has an empty label selector (it matches every namespace). An empty
 * list when the target selects no namespace at all.
 */
export function bindingSelectors(target: Target): NamespaceSelector[] | undefined {
  const ns = target.namespaces ?? {};
  if (!expressible(target)) return undefined;
  const labels = (ns.labels ?? []).map(stored);
  if (labels.some(isEmpty)) return undefined;
  const names = [...new Set(ns.names ?? [])].sort();
  const out: NamespaceSelector[] = names.length ? [{ matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: names }] }] : [];
  const seen = new Set<string>();
  for (const s of labels) {
    if (seen.has(key(s))) continue;
    seen.add(key(s));
    out.push(names.length ? { ...s, matchExpressions: [...(s.matchExpressions ?? []), { key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: names }] } : s);
  }
  return out;
}

/** The `matchResources` of a binding with namespace selector `s`. */
export const bindingMatch = (s: NamespaceSelector): BindingMatch => ({ matchPolicy: 'Equivalent', namespaceSelector: s, objectSelector: {} });
