// Semantic validation of an ImagePullSecret spec: what the CRD's structural schema cannot say. The daemon
// reports these problems in status (Reason InvalidSpec) and writes nothing for the resource; `validate`
// on the command line prints them. Pure.
import { secretReferenceIssues, type ProviderModule, type SourceIssue } from '../../credentials/provider-module.ts';
import { PROVIDER_MODULES, providerSources } from '../../credentials/registry.ts';
import { isDnsLabel, isDnsSubdomain } from '../../util/names.ts';
import type {
  AnnotationSelector, Builder, ImagePullSecretSpec, LabelSelector, Registry, SelectorRequirement, Target,
} from './types.ts';
import { DATA_HASH_ANNOTATION, MANAGED_BY_LABEL, OWNER_LABEL } from './labels.ts';

export { isDnsLabel, isDnsSubdomain };

const RESERVED_LABELS = new Set([MANAGED_BY_LABEL, OWNER_LABEL]);

/** A problem at a JSON-path-like location, e.g. `spec.target.namespaces.labels[0].matchExpressions[1]`. */
export type ValidationIssue = SourceIssue;

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A label or annotation key: optional DNS-subdomain prefix and a name of at most 63 characters. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

export const isLabelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);

type Issues = ValidationIssue[];

function requirement(r: SelectorRequirement, path: string, labels: boolean, out: Issues): void {
  if (!isQualifiedName(r.key)) out.push({ path: `${path}.key`, message: `"${r.key}" is not a valid key` });
  const values = r.values ?? [];
  if ((r.operator === 'In' || r.operator === 'NotIn') && values.length === 0) {
    out.push({ path: `${path}.values`, message: `operator ${r.operator} needs at least one value` });
  } else if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && values.length > 0) {
    out.push({ path: `${path}.values`, message: `operator ${r.operator} takes no values` });
  } else if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(r.operator)) {
    out.push({ path: `${path}.operator`, message: `unknown operator "${r.operator}"` });
  }
  if (labels) {
    values.forEach((v, i) => {
      if (!isLabelValue(v)) out.push({ path: `${path}.values[${String(i)}]`, message: `"${v}" is not a valid label value` });
    });
  }
}

function labelSelector(s: LabelSelector, path: string, out: Issues): void {
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) {
    if (!isQualifiedName(k)) out.push({ path: `${path}.matchLabels`, message: `"${k}" is not a valid label key` });
    if (!isLabelValue(v)) out.push({ path: `${path}.matchLabels`, message: `"${v}" is not a valid label value for ${k}` });
  }
  (s.matchExpressions ?? []).forEach((r, i) => { requirement(r, `${path}.matchExpressions[${String(i)}]`, true, out); });
}

function annotationSelector(s: AnnotationSelector, path: string, out: Issues): void {
  for (const k of Object.keys(s.matchAnnotations ?? {})) {
    if (!isQualifiedName(k)) out.push({ path: `${path}.matchAnnotations`, message: `"${k}" is not a valid annotation key` });
  }
  (s.matchExpressions ?? []).forEach((r, i) => { requirement(r, `${path}.matchExpressions[${String(i)}]`, false, out); });
}

function selectors(s: { labels?: LabelSelector[]; annotations?: AnnotationSelector[] }, path: string, out: Issues): void {
  s.labels?.forEach((item, i) => { labelSelector(item, `${path}.labels[${String(i)}]`, out); });
  s.annotations?.forEach((item, i) => { annotationSelector(item, `${path}.annotations[${String(i)}]`, out); });
}

/**
 * The extra labels and annotations of the target Secret, checked as the API server would check them at
 * write time (so a bad one is reported once, up front, not once per namespace as a WriteError).
 */
function secretMetadata(secret: Target['secret'], path: string, out: Issues): void {
  for (const [k, v] of Object.entries(secret.labels ?? {})) {
    if (!isQualifiedName(k)) out.push({ path: `${path}.labels`, message: `"${k}" is not a valid label key` });
    else if (!isLabelValue(v)) out.push({ path: `${path}.labels`, message: `the value of ${k} is not a valid label value` });
    if (RESERVED_LABELS.has(k)) out.push({ path: `${path}.labels`, message: `"${k}" is set by the daemon` });
  }
  for (const k of Object.keys(secret.annotations ?? {})) {
    if (!isQualifiedName(k)) out.push({ path: `${path}.annotations`, message: `"${k}" is not a valid annotation key` });
    if (k === DATA_HASH_ANNOTATION) out.push({ path: `${path}.annotations`, message: `"${k}" is set by the daemon` });
  }
}

/** Problems with the selectors and the Secret of `target`. */
export function validateTarget(target: Target, path = 'spec.target'): ValidationIssue[] {
  const out: Issues = [];
  if (!isDnsSubdomain(target.secret.name)) {
    out.push({ path: `${path}.secret.name`, message: `"${target.secret.name}" is not a valid Secret name` });
  }
  (target.namespaces?.names ?? []).forEach((n, i) => {
    if (!isDnsLabel(n)) out.push({ path: `${path}.namespaces.names[${String(i)}]`, message: `"${n}" is not a valid namespace name` });
  });
  selectors(target.namespaces ?? {}, `${path}.namespaces`, out);
  selectors(target.namespacesWithPods ?? {}, `${path}.namespacesWithPods`, out);
  secretMetadata(target.secret, `${path}.secret`, out);
  return out;
}

function registry(r: Registry, modules: readonly ProviderModule[], out: Issues): void {
  const p = 'spec.registry';
  const sources = providerSources(r, modules, p);
  if ((r.credentials?.length ?? 0) + sources.length === 0) out.push({ path: p, message: 'names no credential source' });
  r.credentials?.forEach((ref, i) => { out.push(...secretReferenceIssues(ref, `${p}.credentials[${String(i)}]`)); });
  for (const { module, source, path } of sources) out.push(...module.validateSpec(source, path));
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function builder(b: Builder, out: Issues): void {
  const p = 'spec.builder';
  b.serviceAccounts.forEach((sa, i) => {
    if (!isDnsLabel(sa.namespace)) out.push({ path: `${p}.serviceAccounts[${String(i)}].namespace`, message: `"${sa.namespace}" is not a valid namespace name` });
    if (sa.name !== '*' && !isDnsSubdomain(sa.name)) out.push({ path: `${p}.serviceAccounts[${String(i)}].name`, message: `"${sa.name}" is not a valid ServiceAccount name` });
  });
  const creation = b.ecrRepositoryCreation;
  for (const field of ['accessPolicy', 'lifecyclePolicy'] as const) {
    const text = creation?.[field];
    if (text !== undefined && !isJson(text)) out.push({ path: `${p}.ecrRepositoryCreation.${field}`, message: 'is not valid JSON' });
  }
}

/** Every semantic problem of `spec` (its provider sources checked by `modules`); empty when the daemon can act on it. */
export function validateSpec(spec: ImagePullSecretSpec, modules: readonly ProviderModule[] = PROVIDER_MODULES): ValidationIssue[] {
  const out: Issues = [];
  registry(spec.registry, modules, out);
  out.push(...validateTarget(spec.target));
  if (spec.builder) builder(spec.builder, out);
  return out;
}
