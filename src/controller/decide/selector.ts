// Label and annotation selectors compiled to predicates. Kubernetes LabelSelector semantics: every
// matchLabels pair and every expression must hold; `NotIn` and `DoesNotExist` hold for an absent key; an
// empty selector matches everything. Annotation selectors have the same shape over annotations. Pure.
import type { AnnotationSelector, LabelSelector, SelectorRequirement } from '../../api/v1alpha1/types.ts';
import { ownValue } from '../../util/own.ts';

export type Matcher = (map: Readonly<Record<string, string>>) => boolean;

function requirementMatcher(r: SelectorRequirement): Matcher {
  const values = new Set(r.values ?? []);
  switch (r.operator) {
    case 'In': return (m) => { const v = ownValue(m, r.key); return v !== undefined && values.has(v); };
    case 'NotIn': return (m) => { const v = ownValue(m, r.key); return v === undefined || !values.has(v); };
    case 'Exists': return (m) => Object.hasOwn(m, r.key);
    case 'DoesNotExist': return (m) => !Object.hasOwn(m, r.key);
  }
}

function compile(exact: Record<string, string> | undefined, expressions: SelectorRequirement[] | undefined): Matcher {
  const pairs = Object.entries(exact ?? {});
  const checks = (expressions ?? []).map(requirementMatcher);
  return (m) => pairs.every(([k, v]) => ownValue(m, k) === v) && checks.every((check) => check(m));
}

export const labelMatcher = (s: LabelSelector): Matcher => compile(s.matchLabels, s.matchExpressions);
export const annotationMatcher = (s: AnnotationSelector): Matcher => compile(s.matchAnnotations, s.matchExpressions);

/** True when any matcher holds (the OR of a selector list); false for an empty list. */
export const anyMatches = (matchers: readonly Matcher[], map: Readonly<Record<string, string>>): boolean =>
  matchers.some((m) => m(map));
