// Pods through the API server's admission, for the injection tests: created (or dry-run created) with
// the fields injection looks at, and the daemon's admission policies read back.
import { INJECT_OPT_OUT_LABEL, OWNER_LABEL } from '../../src/api/v1alpha1/labels.ts';
import { BINDINGS_PATH, injectionPolicyName, POLICIES_PATH } from '../../src/admission/policy.ts';
import { isStatus } from '../../src/kube/rest.ts';
import { rest } from './cluster.ts';
import { eventually } from './eventually.ts';

export { INJECT_OPT_OUT_LABEL };

export interface PodInput {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  imagePullSecrets?: { name: string }[];
  nodeName?: string;
}

export interface AdmittedPod {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { imagePullSecrets?: { name: string }[] } & Record<string, unknown>;
}

/**
 * Creates pod `name` in `namespace` (only a dry run with `dryRun`) and returns it as admitted; retries
 * while the namespace's `default` ServiceAccount, which admission needs, is not there yet.
 */
export function admitPod(namespace: string, name: string, input: PodInput = {}, dryRun = false): Promise<AdmittedPod> {
  const body = {
    metadata: { name, labels: input.labels ?? {}, annotations: input.annotations ?? {} },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }], ...(input.imagePullSecrets ? { imagePullSecrets: input.imagePullSecrets } : {}),
      ...(input.nodeName ? { nodeName: input.nodeName } : {}) },
  };
  return eventually(() => rest.call<AdmittedPod>({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body,
    ...(dryRun ? { query: { dryRun: 'All' } } : {}) }), { message: `pod ${namespace}/${name} is admitted` });
}

/** The names in a pod's `imagePullSecrets`, in order; undefined when it has no such list. */
export const pullSecretNames = (pod: AdmittedPod): string[] | undefined => pod.spec.imagePullSecrets?.map((e) => e.name);

export interface LivePolicyObject {
  metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** Resource `resource`'s policy and its first binding (both named injectionPolicyName) as the API server has them (undefined where absent). */
export async function readInjectionObjects(resource: string): Promise<{ policy?: LivePolicyObject; binding?: LivePolicyObject }> {
  const read = (collection: string) => rest.call<LivePolicyObject>({ method: 'GET', path: `${collection}/${injectionPolicyName(resource)}` })
    .catch((err: unknown) => { if (isStatus(err, 404)) return undefined; throw err; });
  const [policy, binding] = await Promise.all([read(POLICIES_PATH), read(BINDINGS_PATH)]);
  return { ...(policy ? { policy } : {}), ...(binding ? { binding } : {}) };
}

/** The bindings labelled as resource `resource`'s, by name. */
export async function readInjectionBindings(resource: string): Promise<LivePolicyObject[]> {
  const list = await rest.call<{ items: LivePolicyObject[] }>({ method: 'GET', path: BINDINGS_PATH, query: { labelSelector: `${OWNER_LABEL}=${resource}` } });
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Waits until a dry-run pod in `namespace` comes back with `secret`: the API server applies the policy. */
export async function untilInjecting(namespace: string, secret: string, timeoutMs = 20_000): Promise<void> {
  await eventually(async () => pullSecretNames(await admitPod(namespace, 'canary', {}, true))?.includes(secret),
    { timeoutMs, intervalMs: 100, message: `pods in ${namespace} get ${secret}` });
}
