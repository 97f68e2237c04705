// The MutatingWebhookConfiguration the daemon keeps (docs/adr/0011-admission-webhook.md), built from
// flags and the resources that ask for injection. Pure. Every field the API server would default is
// written out, so the stored object equals the desired one and drift is a plain comparison.
import { INJECT_OPT_OUT_LABEL, INJECT_OPT_OUT_VALUE, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/v1alpha1/labels.ts';
import { KUBE_SYSTEM, MIRROR_POD_ANNOTATION, NODE_USER_PREFIX } from '../admission/index.ts';
import { MUTATE_PATH } from './server.ts';

export const WEBHOOK_NAME = 'pods.pullsecret-sync.dev';
export const MWC_API = 'admissionregistration.k8s.io/v1';

export interface WebhookSettings {
  /** Name of the MutatingWebhookConfiguration (cluster-scoped). */
  name: string;
  /** The daemon's namespace: never mutated, and the Service's namespace. */
  namespace: string;
  /** How the API server reaches the webhook: the Service in front of the replicas, or a URL. */
  target: { service: string; port: number } | { url: string };
  /** PEM of the CA that signed the serving certificate. */
  caBundle: string;
  timeoutSeconds: number;
}

export interface MutatingWebhookConfiguration {
  apiVersion: typeof MWC_API;
  kind: 'MutatingWebhookConfiguration';
  metadata: { name: string; labels: Record<string, string>; resourceVersion?: string };
  webhooks: unknown[];
}

const notOptedOut = { key: INJECT_OPT_OUT_LABEL, operator: 'NotIn', values: [INJECT_OPT_OUT_VALUE] };

const cel = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll('\'', '\\\'')}'`;

/**
 * CEL conditions the API server checks before calling: each skips a round trip whose answer is known.
 * `secrets`: every Secret name some resource injects; a pod that names them all already needs nothing
 * (a reinvocation after another webhook, or a pod spec that lists them).
 */
export function matchConditions(secrets: readonly string[]): { name: string; expression: string }[] {
  const conditions = [
    { name: 'not-a-mirror-pod', expression: `!has(object.metadata.annotations) || !(${cel(MIRROR_POD_ANNOTATION)} in object.metadata.annotations)` },
    { name: 'not-from-a-node', expression: `!request.userInfo.username.startsWith(${cel(NODE_USER_PREFIX)})` },
  ];
  if (secrets.length > 0) {
    const names = `[${[...new Set(secrets)].sort().map(cel).join(', ')}]`;
    conditions.push({ name: 'lacks-an-entry', expression:
      `!has(object.spec.imagePullSecrets) || !${names}.all(n, object.spec.imagePullSecrets.exists(s, has(s.name) && s.name == n))` });
  }
  return conditions;
}

export function desiredConfiguration(s: WebhookSettings, secrets: readonly string[]): MutatingWebhookConfiguration {
  const caBundle = Buffer.from(s.caBundle).toString('base64');
  const clientConfig = 'url' in s.target
    ? { url: `${s.target.url.replace(/\/$/, '')}${MUTATE_PATH}`, caBundle }
    : { service: { namespace: s.namespace, name: s.target.service, path: MUTATE_PATH, port: s.target.port }, caBundle };
  const never = [...new Set([KUBE_SYSTEM, s.namespace])].sort();
  return {
    apiVersion: MWC_API,
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: s.name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
    webhooks: [{
      name: WEBHOOK_NAME,
      admissionReviewVersions: ['v1'],
      clientConfig,
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      failurePolicy: 'Ignore',
      matchPolicy: 'Equivalent',
      sideEffects: 'None',
      timeoutSeconds: s.timeoutSeconds,
      reinvocationPolicy: 'IfNeeded',
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: never }, notOptedOut] },
      objectSelector: { matchExpressions: [notOptedOut] },
      matchConditions: matchConditions(secrets),
    }],
  };
}

/** A JSON text with object keys sorted, so two equal objects compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/** Whether the stored configuration differs from the desired one in what the daemon sets. */
export function drifted(stored: { metadata?: { labels?: Record<string, string> }; webhooks?: unknown } | undefined, desired: MutatingWebhookConfiguration): boolean {
  if (!stored) return true;
  if (stored.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return true;
  return canonical(stored.webhooks ?? []) !== canonical(desired.webhooks);
}
