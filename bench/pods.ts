// Pods on the testbed's node, as the pod benchmark (bench/pod-pull.ts) and `npm run demo -- --node` run
// them: the private image pushed to the bed's registry, one pod per namespace created right behind it and
// naming the pull Secret, and two watches that say when each namespace's pod first ran and which of its
// pulls failed (the kubelet's `ErrImagePull` / `ImagePullBackOff` events).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStatus, type KubeRest } from '../src/kube/rest.ts';
import { pushPrivateImage } from '../test/testbed/images.ts';
import { NODE_TOLERATION } from '../test/testbed/node.ts';
import type { TestbedState } from '../test/testbed/testbed.ts';

/** The label every pod made here carries, so the watches see only these. */
export const POD_LABEL = { 'pullsecret-sync.dev/bench': 'pod-pull' } as const;

/**
 * Pushes the sleeper image to the bed's registry as `<host>/private/<repo>:1`; returns the reference and
 * the registry's login. The node built that image's archive for its pause image already: it is reused,
 * so no build (and no wait for the shared build store) happens here.
 */
export async function pushImage(state: TestbedState, repo: string): Promise<{ image: string; host: string; user: { username: string; password: string } }> {
  const registry = state.registry;
  const user = registry?.users[0];
  if (!registry || !user) throw new Error('the bed runs no registry: start it with one (startTestbed({ registry: true }) or `npm run testbed -- up`)');
  // The name pods reach the registry by where the bed has one (the node's containerd trusts both).
  const host = state.node?.registryHost ?? registry.host;
  const image = `${host}/private/${repo}:1`;
  const work = state.node ? undefined : mkdtempSync(join(tmpdir(), 'pod-pull-image-'));
  try {
    await pushPrivateImage(work ?? join(state.node?.dir ?? '', 'images'), image, registry.certDir, user);
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
  return { image, host, user };
}

/** A dockerconfigjson Secret body with one login for `host`. */
export function registrySecret(name: string, host: string, user: { username: string; password: string }):
  { metadata: { name: string }; type: string; stringData: Record<string, string> } {
  const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64');
  return { metadata: { name }, type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [host]: { username: user.username, password: user.password, auth } } }) } };
}

/**
 * Creates pod `name` in `namespace` on the node, running `image` and naming `secret`. `Always` makes every
 * pod ask the registry with the namespace's own credentials, even once the node holds the layers.
 * Retried while the namespace's `default` ServiceAccount (which admission needs) is not there yet.
 */
export async function createPod(rest: KubeRest, namespace: string, image: string, secret: string, name = 'app', deadlineMs = 60_000): Promise<void> {
  const body = {
    metadata: { name, labels: POD_LABEL },
    spec: {
      containers: [{ name: 'app', image, imagePullPolicy: 'Always' }], imagePullSecrets: [{ name: secret }],
      tolerations: [NODE_TOLERATION], terminationGracePeriodSeconds: 1, automountServiceAccountToken: false,
    },
  };
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      await rest.call({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body });
      return;
    } catch (err) {
      // 403 while the ServiceAccount is missing; 409 when an earlier attempt's response was lost.
      if (isStatus(err, 409)) return;
      if (!isStatus(err, 403) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

interface PodObject { metadata?: { namespace?: string; name?: string }; spec?: { nodeName?: string }; status?: { phase?: string } }
interface EventObject { metadata?: { uid?: string; namespace?: string }; involvedObject?: { name?: string }; message?: string; count?: number }

export interface PodWatch {
  /** performance.now() when each pod (`namespace/name`) was first seen Running. */
  running: Map<string, number>;
  /** performance.now() when each pod was first seen at all (admitted), and bound to a node. */
  admitted: Map<string, number>;
  scheduled: Map<string, number>;
  /** performance.now() when the first failed pull of pod `namespace/name` was seen. */
  firstFailure(namespace: string, name: string): number | undefined;
  /** The kubelet's pull failures so far for pod `namespace/name`. */
  failures(namespace: string, name: string): { errImagePull: number; imagePullBackOff: number };
  /** The kubelet's "Failed to pull image" messages, distinct, with the image reference and digests cut out. */
  pullErrors: Set<string>;
  stop(): void;
}

/**
 * Watches the pods carrying POD_LABEL (first Running, per namespace) and the kubelet's events about pods
 * (each event's latest count, by uid): the events outlive nothing, since a deleted namespace takes its
 * events with it, so they are counted as they arrive.
 */
export function watchPods(rest: KubeRest): PodWatch {
  const running = new Map<string, number>();
  const admitted = new Map<string, number>();
  const scheduled = new Map<string, number>();
  const events = new Map<string, { pod: string; kind: 'errImagePull' | 'imagePullBackOff'; count: number; seen: number }>();
  const pullErrors = new Set<string>();
  const stop = new AbortController();
  const selector = Object.entries(POD_LABEL).map(([k, v]) => `${k}=${v}`).join(',');
  void rest.watch({ path: '/api/v1/pods', query: { labelSelector: selector, timeoutSeconds: 3600 } }, (e) => {
    const pod = e.object as PodObject;
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    const now = performance.now();
    if (!admitted.has(key)) admitted.set(key, now);
    if (pod.spec?.nodeName && !scheduled.has(key)) scheduled.set(key, now);
    if (pod.status?.phase === 'Running' && !running.has(key)) running.set(key, now);
  }, stop.signal).catch(() => undefined);
  const record = (event: EventObject) => {
    const kind = event.message === 'Error: ErrImagePull' ? 'errImagePull' : event.message === 'Error: ImagePullBackOff' ? 'imagePullBackOff' : undefined;
    const uid = event.metadata?.uid;
    if (!kind || !uid) return;
    const seen = events.get(uid)?.seen ?? performance.now();
    events.set(uid, { pod: `${event.metadata?.namespace ?? ''}/${event.involvedObject?.name ?? ''}`, kind, count: event.count ?? 1, seen });
  };
  void rest.watch({ path: '/api/v1/events', query: { fieldSelector: 'involvedObject.kind=Pod', timeoutSeconds: 3600 } }, (e) => {
    // A deleted namespace takes its events with it: their DELETED notices are no new failures.
    if (e.type === 'DELETED') return;
    const event = e.object as EventObject;
    if (event.message?.startsWith('Failed to pull image')) pullErrors.add(event.message.replace(/"[^"]*"/g, '"…"').replace(/sha256:[0-9a-f]+/g, 'sha256:…'));
    record(event);
  }, stop.signal).catch(() => undefined);
  return {
    running, admitted, scheduled, pullErrors,
    firstFailure: (namespace, name) => {
      const seen = [...events.values()].filter((e) => e.pod === `${namespace}/${name}`).map((e) => e.seen);
      return seen.length > 0 ? Math.min(...seen) : undefined;
    },
    failures: (namespace, name) => {
      const out = { errImagePull: 0, imagePullBackOff: 0 };
      for (const e of events.values()) if (e.pod === `${namespace}/${name}`) out[e.kind] += e.count;
      return out;
    },
    stop: () => { stop.abort(); },
  };
}
