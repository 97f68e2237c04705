// Pods on the testbed's node, and what a user sees of their pulls: the pod's phase, the waiting reason of
// its container, and the kubelet's Failed/BackOff events.
import { NODE_TOLERATION } from '../testbed/node.ts';
import { rest } from './cluster.ts';
import { eventually } from './eventually.ts';

/** How long a pod on the node may take to run or to fail its pull (a loaded 2-core machine). */
export const POD_DEADLINE_MS = 90_000;

export interface Pod {
  metadata?: { name?: string; namespace?: string };
  spec?: { imagePullSecrets?: { name: string }[]; nodeName?: string };
  status?: { phase?: string; containerStatuses?: { ready?: boolean; state?: { waiting?: { reason?: string } } }[] };
}

interface PodEvent { reason?: string; message?: string; involvedObject?: { kind?: string; name?: string } }

export interface NodePod {
  image: string;
  /** The pull Secret the pod names; none when absent. */
  pullSecret?: string;
  name?: string;
  /** Admitted and answered, never stored (`dryRun=All`): what admission would make of the pod now. */
  dryRun?: boolean;
}

/**
 * Creates a pod meant for the testbed's node. Retried while the namespace's `default` ServiceAccount,
 * which admission needs, is not there yet.
 */
export function createNodePod(namespace: string, pod: NodePod): Promise<Pod> {
  const name = pod.name ?? 'app';
  return eventually(() => rest.call<Pod>({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, ...(pod.dryRun ? { query: { dryRun: 'All' } } : {}), body: {
    metadata: { name },
    spec: {
      containers: [{ name: 'app', image: pod.image }], ...(pod.pullSecret ? { imagePullSecrets: [{ name: pod.pullSecret }] } : {}),
      tolerations: [NODE_TOLERATION], terminationGracePeriodSeconds: 1, automountServiceAccountToken: false,
    },
  } }), { message: `pod ${namespace}/${name} is admitted` });
}

export const readPod = (namespace: string, name = 'app'): Promise<Pod> =>
  rest.call<Pod>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods/${name}` });

/** Resolves 'Running' or 'pull failed' (ErrImagePull, ImagePullBackOff), whichever the pod reaches first. */
export function pullOutcome(namespace: string, name = 'app'): Promise<string> {
  return eventually(async () => {
    const status = (await readPod(namespace, name)).status;
    if (status?.phase === 'Running') return 'Running';
    const waiting = status?.containerStatuses?.at(0)?.state?.waiting?.reason;
    return waiting === 'ErrImagePull' || waiting === 'ImagePullBackOff' ? 'pull failed' : undefined;
  }, { timeoutMs: POD_DEADLINE_MS, intervalMs: 250, message: `pod ${namespace}/${name} runs or fails to pull` });
}

/** Waits until the pod `app` of every namespace runs. */
export async function allRunning(namespaces: readonly string[], timeoutMs = POD_DEADLINE_MS): Promise<void> {
  await eventually(async () => {
    const phases = await Promise.all(namespaces.map(async (n) => (await readPod(n)).status?.phase));
    return phases.every((p) => p === 'Running');
  }, { timeoutMs, intervalMs: 250, message: `${namespaces.length} pods Running` });
}

/** The kubelet's pull failures (Failed, BackOff) for pods in `namespace`, as "namespace: reason: message". */
export async function pullFailures(namespace: string): Promise<string[]> {
  const list = await rest.call<{ items: PodEvent[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/events` });
  return list.items
    .filter((e) => e.involvedObject?.kind === 'Pod' && (e.reason === 'Failed' || e.reason === 'BackOff'))
    .map((e) => `${namespace}: ${e.reason ?? ''}: ${e.message ?? ''}`);
}
