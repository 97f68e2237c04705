// Which namespaces a resource selects: by name, by namespace labels, by namespace annotations,
// or by the pods running there; the rules are OR-combined. Compiled once per resource generation and then
// evaluated per namespace. Pure.
import { validateTarget } from '../../api/v1alpha1/validation.ts';
import type { Target } from '../../api/v1alpha1/types.ts';
import { annotationMatcher, anyMatches, labelMatcher, type Matcher } from './selector.ts';

export interface CompiledTarget {
  names: ReadonlySet<string>;
  namespaceLabels: Matcher[];
  namespaceAnnotations: Matcher[];
  podLabels: Matcher[];
  podAnnotations: Matcher[];
}

/** What selection looks at of a namespace or a pod. */
export interface Selectable {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  terminating?: boolean;
}

export type Compiled = { ok: true; value: CompiledTarget } | { ok: false; errors: string[] };

export function compileTarget(target: Target): Compiled {
  const issues = validateTarget(target);
  if (issues.length) return { ok: false, errors: issues.map((i) => `${i.path}: ${i.message}`) };
  return {
    ok: true,
    value: {
      names: new Set(target.namespaces?.names ?? []),
      namespaceLabels: (target.namespaces?.labels ?? []).map(labelMatcher),
      namespaceAnnotations: (target.namespaces?.annotations ?? []).map(annotationMatcher),
      podLabels: (target.namespacesWithPods?.labels ?? []).map(labelMatcher),
      podAnnotations: (target.namespacesWithPods?.annotations ?? []).map(annotationMatcher),
    },
  };
}

export type SelectionRule = 'name' | 'labels' | 'annotations' | 'pods';

export interface SelectionResult {
  selected: boolean;
  /** The first rule that selected the namespace, for `plan` and logs. */
  rule?: SelectionRule;
}

export const usesPods = (t: CompiledTarget): boolean => t.podLabels.length > 0 || t.podAnnotations.length > 0;

export const podMatches = (t: CompiledTarget, pod: Selectable): boolean =>
  anyMatches(t.podLabels, pod.labels) || anyMatches(t.podAnnotations, pod.annotations);

type RuleTest = (t: CompiledTarget, namespace: Selectable, pods: readonly Selectable[]) => boolean;

/** The selection rules in the order they are tried (cheapest first: pods last). */
const RULES: readonly (readonly [SelectionRule, RuleTest])[] = [
  ['name', (t, ns) => t.names.has(ns.name)],
  ['labels', (t, ns) => anyMatches(t.namespaceLabels, ns.labels)],
  ['annotations', (t, ns) => anyMatches(t.namespaceAnnotations, ns.annotations)],
  ['pods', (t, _ns, pods) => usesPods(t) && pods.some((p) => podMatches(t, p))],
];

/**
 * Whether `namespace` is selected, given the pods in it (only consulted when the target selects by pods).
 * A Terminating namespace is still reported as selected: the caller leaves it untouched rather than
 * treating it as deselected and deleting from it.
 */
export function selectNamespace(t: CompiledTarget, namespace: Selectable, pods: readonly Selectable[]): SelectionResult {
  const hit = RULES.find(([, holds]) => holds(t, namespace, pods));
  return hit ? { selected: true, rule: hit[0] } : { selected: false };
}

/** Every rule that selects `namespace` (empty when none does), for `plan`. */
export function selectingRules(t: CompiledTarget, namespace: Selectable, pods: readonly Selectable[]): SelectionRule[] {
  return RULES.filter(([, holds]) => holds(t, namespace, pods)).map(([rule]) => rule);
}
