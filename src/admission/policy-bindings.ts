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
const key = (s: unknown): string => JSON.stringify(s);

const OPPOSITE = { In: 'NotIn', NotIn: 'In', Exists: 'DoesNotExist', DoesNotExist: 'Exists' } as const;

/** The one requirement of a selector that has exactly one (a matchLabels pair as `In [value]`), else undefined. */
function single(s: NamespaceSelector): SelectorRequirement | undefined {
  const labels = Object.entries(s.matchLabels ?? {});
  const expressions = s.matchExpressions ?? [];
  if (labels.length + expressions.length !== 1) return undefined;
  const [pair] = labels;
  return pair ? { key: pair[0], operator: 'In', values: [pair[1]] } : expressions[0];
}

/** The requirement that holds exactly where `r` does not. */
const negation = (r: SelectorRequirement): SelectorRequirement =>
  (r.values ? { key: r.key, operator: OPPOSITE[r.operator], values: r.values } : { key: r.key, operator: OPPOSITE[r.operator] });

/** Whether every namespace `s` selects also meets `r` (`r` is one of its own requirements). */
const implies = (s: NamespaceSelector, r: SelectorRequirement): boolean =>
  (s.matchExpressions ?? []).some((e) => key(e) === key(r))
  || (r.operator === 'In' && r.values?.length === 1 && Object.entries(s.matchLabels ?? {}).some(([k, v]) => k === r.key && v === r.values?.[0]));

/**
 * The label selectors' bindings, made disjoint where a selector can say so: each leaves out the named
 * namespaces and the namespaces of every earlier selector that has a single requirement (its negation is
 * one requirement too); a selector an earlier one covers gets no binding. The first selector that matches a
 * namespace keeps it, so every namespace a label selector matches is still bound.
 */
function labelBindings(labels: readonly NamespaceSelector[], names: readonly string[]): NamespaceSelector[] {
  const out: NamespaceSelector[] = [];
  const earlier: SelectorRequirement[] = [];
  for (const s of labels) {
    if (earlier.some((r) => implies(s, r))) continue;
    const excluded = [...(names.length ? [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn' as const, values: [...names] }] : []), ...earlier.map(negation)];
    out.push(excluded.length ? { ...s, matchExpressions: [...(s.matchExpressions ?? []), ...excluded] } : s);
    const only = single(s);
    if (only) earlier.push(only);
  }
  return out;
}

/**
 * The namespace selectors of the bindings `target` needs, one per term that a selector can express:
 * the name list as `kubernetes.io/metadata.name In [names]`, and each namespace label selector
 * (labelBindings: with `NotIn [names]` added, so that a named namespace runs the policy once, not once per
 * binding). Undefined when one binding without a selector is needed: the target selects by annotations or
 * by pods (no selector expresses those), or has an empty label selector (it matches every namespace). An
 * empty list when the target selects no namespace at all.
 */
export function bindingSelectors(target: Target): NamespaceSelector[] | undefined {
  if (!expressible(target)) return undefined;
  const labels = (target.namespaces?.labels ?? []).map(stored);
  if (labels.some(isEmpty)) return undefined;
  const names = [...new Set(target.namespaces?.names ?? [])].sort();
  const unique = [...new Map(labels.map((s) => [key(s), s])).values()];
  return [
    ...(names.length ? [{ matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In' as const, values: names }] }] : []),
    ...labelBindings(unique, names),
  ];
}

/** The `matchResources` of a binding with namespace selector `s`. */
export const bindingMatch = (s: NamespaceSelector): BindingMatch => ({ matchPolicy: 'Equivalent', namespaceSelector: s, objectSelector: {} });
