// A resource's selection as CEL, for the MutatingAdmissionPolicy that injects its Secret's name into pods
// at admission (policy.ts). The namespace rules read `namespaceObject`, the pod rules the pod
// being admitted (`object`): the admitted pod is itself the pod that makes its namespace selected. The
// semantics are controller/decide/selector.ts's, rule for rule: every matchLabels pair and every expression of one selector
// must hold, `NotIn` and `DoesNotExist` hold for an absent key, an empty selector matches everything, and
// the selectors of a list and the lists themselves are OR-combined. Pure.
import type { AnnotationSelector, LabelSelector, SelectorRequirement, Target } from '../api/v1alpha1/types.ts';

/** A CEL string literal holding exactly `s` (any string the API can carry). */
export function celString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const celList = (values: readonly string[]): string => `[${values.map(celString).join(', ')}]`;

/**
 * The maps selection reads, each a policy variable that is `{}` when the object has none, so that every
 * rule can index it without a `has()` of its own.
 */
export const MAP_VARIABLES = {
  namespaceLabels: 'namespaceObject.metadata.labels',
  namespaceAnnotations: 'namespaceObject.metadata.annotations',
  podLabels: 'object.metadata.labels',
  podAnnotations: 'object.metadata.annotations',
} as const;

export type MapVariable = keyof typeof MAP_VARIABLES;

/** The expression of a map variable: the map, or an empty map when the object has none. */
export const mapVariableExpression = (v: MapVariable): string => `has(${MAP_VARIABLES[v]}) ? ${MAP_VARIABLES[v]} : {}`;

function requirement(map: string, r: SelectorRequirement): string {
  const key = celString(r.key);
  switch (r.operator) {
    case 'In': return `(${key} in ${map} && ${map}[${key}] in ${celList(r.values ?? [])})`;
    case 'NotIn': return `!(${key} in ${map} && ${map}[${key}] in ${celList(r.values ?? [])})`;
    case 'Exists': return `${key} in ${map}`;
    case 'DoesNotExist': return `!(${key} in ${map})`;
  }
}

function selector(map: string, exact: Readonly<Record<string, string>> | undefined, expressions: readonly SelectorRequirement[] | undefined): string {
  const terms = [
    ...Object.entries(exact ?? {}).map(([k, v]) => `(${celString(k)} in ${map} && ${map}[${celString(k)}] == ${celString(v)})`),
    ...(expressions ?? []).map((r) => requirement(map, r)),
  ];
  if (terms.length === 0) return 'true';
  return terms.length === 1 ? (terms[0] ?? 'true') : `(${terms.join(' && ')})`;
}

const labelSelector = (map: string) => (s: LabelSelector): string => selector(map, s.matchLabels, s.matchExpressions);
const annotationSelector = (map: string) => (s: AnnotationSelector): string => selector(map, s.matchAnnotations, s.matchExpressions);

export interface SelectionCel {
  /** The map variables the expression reads, in a fixed order. */
  variables: MapVariable[];
  /** True when the admitted pod is in a namespace the target selects, or itself selects it. */
  expression: string;
}

/**
 * The target's selection as one CEL expression over `variables.<map>` and `namespaceObject.metadata.name`.
 * A target that selects nothing compiles to `false`.
 */
export function selectionCel(target: Target): SelectionCel {
  const used = new Set<MapVariable>();
  const ref = (v: MapVariable): string => { used.add(v); return `variables.${v}`; };
  const names = target.namespaces?.names ?? [];
  const terms = [
    ...(names.length ? [`namespaceObject.metadata.name in ${celList([...new Set(names)].sort())}`] : []),
    ...(target.namespaces?.labels ?? []).map((s) => labelSelector(ref('namespaceLabels'))(s)),
    ...(target.namespaces?.annotations ?? []).map((s) => annotationSelector(ref('namespaceAnnotations'))(s)),
    ...(target.namespacesWithPods?.labels ?? []).map((s) => labelSelector(ref('podLabels'))(s)),
    ...(target.namespacesWithPods?.annotations ?? []).map((s) => annotationSelector(ref('podAnnotations'))(s)),
  ];
  const order = Object.keys(MAP_VARIABLES) as MapVariable[];
  return { variables: order.filter((v) => used.has(v)), expression: terms.length ? terms.join(' || ') : 'false' };
}

/**
 * How the JSON patch's objects are written: `kubernetes` as the API server types them (`JSONPatch{…}`,
 * `Object.spec.imagePullSecrets{…}`), `maps` as plain CEL maps with the same fields, for evaluators that
 * know no object types (the unit tests').
 */
export type PatchStyle = 'kubernetes' | 'maps';

function patchOp(style: PatchStyle, path: string, value: string): string {
  return style === 'kubernetes'
    ? `JSONPatch{op: "add", path: ${celString(path)}, value: ${value}}`
    : `{"op": "add", "path": ${celString(path)}, "value": ${value}}`;
}

/**
 * The mutation: when `variables.selected`, append `{name: secret}` to `spec.imagePullSecrets` unless an
 * entry of that name is there; a pod without the list gets one. Other entries keep their order. The list
 * is created empty and then appended to: kube-apiserver 1.36.3 fails the whole request (a panic it
 * recovers from) when a patch value is a list of typed objects (docs/adr/0008-admission-engines.md).
 */
export function patchCel(secret: string, style: PatchStyle): string {
  const entry = style === 'kubernetes' ? `Object.spec.imagePullSecrets{name: ${celString(secret)}}` : `{"name": ${celString(secret)}}`;
  const append = patchOp(style, '/spec/imagePullSecrets/-', entry);
  return [
    '!variables.selected ? [] :',
    `!has(object.spec.imagePullSecrets) ? [${patchOp(style, '/spec/imagePullSecrets', '[]')}, ${append}] :`,
    `object.spec.imagePullSecrets.exists(s, has(s.name) && s.name == ${celString(secret)}) ? [] :`,
    `[${append}]`,
  ].join('\n');
}
