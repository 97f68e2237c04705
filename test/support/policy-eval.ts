// The injection policy evaluated the way the API server evaluates a MutatingAdmissionPolicy, with
// @marcbachmann/cel-js for the CEL: matchConstraints' selectors (Kubernetes LabelSelector semantics),
// then every matchCondition, then the variables in order, then the JSON patch, applied to the pod. The
// patch runs in its `maps` spelling (this evaluator knows no object types); the policy must carry the
// `kubernetes` spelling of the same expression, which the caller checks.
import { Environment } from '@marcbachmann/cel-js';
import { patchCel } from '../../src/admission/policy-cel.ts';
import { NAMESPACE_NAME_LABEL, type MutatingAdmissionPolicy } from '../../src/admission/policy.ts';
import { labelMatcher } from '../../src/controller/decide/selector.ts';

export interface AdmittedPod {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  imagePullSecrets?: { name?: string }[];
}

export interface PolicyInput {
  namespace: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  pod: AdmittedPod;
  username?: string;
}

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const programs = new Map<string, ReturnType<Environment['parse']>>();

function run(expression: string, context: Record<string, unknown>): unknown {
  let p = programs.get(expression);
  if (!p) programs.set(expression, (p = env.parse(expression)));
  return p(context);
}

const withoutUndefined = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

/**
 * A JSON value with every object as a Map: cel-js tells a plain object's type by its `constructor`, which a
 * label key of that name would shadow; a Map holds any key as data.
 */
function asCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asCel);
  if (typeof v === 'object' && v !== null) return new Map(Object.entries(v).map(([k, x]) => [k, asCel(x)]));
  return v;
}

/** A CEL result back as JSON values. */
function fromCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromCel);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), fromCel(x)]));
  return v;
}

/**
 * The pod's `imagePullSecrets` after admission through `policy` for a Secret named `secret`: undefined
 * when the policy does not apply or patches nothing (the pod comes back as it was sent).
 */
export function admitThrough(policy: MutatingAdmissionPolicy, secret: string, input: PolicyInput): { name?: string }[] | undefined {
  const { pod } = input;
  const namespaceObject = withoutUndefined({ metadata: { name: input.namespace.name,
    labels: { ...input.namespace.labels, [NAMESPACE_NAME_LABEL]: input.namespace.name }, annotations: input.namespace.annotations } });
  const object = withoutUndefined({ metadata: { labels: pod.labels, annotations: pod.annotations },
    spec: { containers: [{ name: 'c', image: 'i' }], imagePullSecrets: pod.imagePullSecrets } });
  const c = policy.spec.matchConstraints;
  if (!labelMatcher(c.namespaceSelector)(namespaceObject.metadata.labels)) return undefined;
  if (!labelMatcher(c.objectSelector)(object.metadata.labels ?? {})) return undefined;
  const request = { userInfo: { username: input.username ?? 'alice' }, operation: 'CREATE' };
  const context: Record<string, unknown> = { object: asCel(object), namespaceObject: asCel(namespaceObject), request: asCel(request) };
  if (!policy.spec.matchConditions.every((m) => run(m.expression, context) === true)) return undefined;
  const variables: Record<string, unknown> = {};
  context.variables = variables;
  for (const v of policy.spec.variables) variables[v.name] = run(v.expression, context);
  const ops = fromCel(run(patchCel(secret, 'maps'), context)) as { op: string; path: string; value: unknown }[];
  if (ops.length === 0) return undefined;
  let list = pod.imagePullSecrets;
  for (const op of ops) {
    if (op.op !== 'add') throw new Error(`unexpected op ${op.op}`);
    if (op.path === '/spec/imagePullSecrets') list = op.value as { name?: string }[];
    else if (op.path === '/spec/imagePullSecrets/-' && list) list = [...list, op.value as { name?: string }];
    else throw new Error(`patch path ${op.path} on a pod without that list`);
  }
  return list;
}
