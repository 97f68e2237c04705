// AdmissionReview (admission.k8s.io/v1) in and out, for pods: reading a request the API server sent and
// writing the answer, with a JSON patch that appends entries to spec.imagePullSecrets. Pure. Whatever the
// request, the answer allows the pod: this webhook only ever adds entries, it never refuses a pod.
import { isRecord } from '../util/own.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The fields of a pod admission this webhook reads. */
export interface PodAdmission {
  uid: string;
  namespace: string;
  dryRun: boolean;
  /** Who creates the pod (a node creating a mirror pod, say). */
  username: string;
  pod: {
    labels: Readonly<Record<string, string>>;
    annotations: Readonly<Record<string, string>>;
    /** The names already in spec.imagePullSecrets, in order; undefined when the field is absent. */
    pullSecrets: string[] | undefined;
  };
}

/** A request that is a well-formed review but not one to mutate: answered "allowed, unchanged" with the reason. */
export interface Refusal {
  uid: string;
  reason: string;
}

export type ParsedReview = { ok: true; admission: PodAdmission } | { ok: false; refusal?: Refusal; reason: string };

const stringMap = (v: unknown): Record<string, string> =>
  (isRecord(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {});

function pullSecretsOf(spec: Record<string, unknown>): string[] | undefined {
  const list = spec.imagePullSecrets;
  if (!Array.isArray(list)) return undefined;
  return list.map((e: unknown) => (isRecord(e) && typeof e.name === 'string' ? e.name : ''));
}

/** What is wrong with the request for a pod CREATE, or undefined when nothing is. */
function kindProblem(request: Record<string, unknown>): string | undefined {
  const kind = isRecord(request.kind) ? request.kind : {};
  if (kind.group !== '' || kind.version !== 'v1' || kind.kind !== 'Pod') return 'only v1 Pods are mutated';
  if (request.subResource !== undefined && request.subResource !== '') return 'subresources are not mutated';
  if (request.operation !== 'CREATE') return 'only CREATE is mutated';
  if (typeof request.namespace !== 'string' || request.namespace === '') return 'the request names no namespace';
  if (!isRecord(request.object) || !isRecord(request.object.spec)) return 'the request carries no pod';
  return undefined;
}

/** Reads an AdmissionReview; a body that is not one has no uid to answer and is refused outright. */
export function parseReview(body: unknown): ParsedReview {
  if (!isRecord(body) || body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    return { ok: false, reason: `not an ${ADMISSION_API_VERSION} AdmissionReview` };
  }
  const request = body.request;
  if (!isRecord(request) || typeof request.uid !== 'string' || request.uid === '') return { ok: false, reason: 'the AdmissionReview has no request uid' };
  const uid = request.uid;
  const problem = kindProblem(request);
  if (problem) return { ok: false, refusal: { uid, reason: problem }, reason: problem };
  const object = request.object as Record<string, unknown>;
  const meta = isRecord(object.metadata) ? object.metadata : {};
  const user = isRecord(request.userInfo) ? request.userInfo : {};
  return {
    ok: true,
    admission: {
      uid, namespace: request.namespace as string, dryRun: request.dryRun === true,
      username: typeof user.username === 'string' ? user.username : '',
      pod: { labels: stringMap(meta.labels), annotations: stringMap(meta.annotations), pullSecrets: pullSecretsOf(object.spec as Record<string, unknown>) },
    },
  };
}

/** RFC 6902 operations appending `names` to a pod's spec.imagePullSecrets (`existing`: what it has now). */
export function appendPatch(existing: readonly string[] | undefined, names: readonly string[]): unknown[] {
  if (names.length === 0) return [];
  if (existing === undefined) return [{ op: 'add', path: '/spec/imagePullSecrets', value: names.map((name) => ({ name })) }];
  return names.map((name) => ({ op: 'add', path: '/spec/imagePullSecrets/-', value: { name } }));
}

/** The AdmissionReview answering `uid`: allowed, with the patch when there is one, and a message saying why not otherwise. */
export function reviewResponse(uid: string, patch: readonly unknown[], message?: string): unknown {
  const response: Record<string, unknown> = { uid, allowed: true };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (message !== undefined) response.status = { code: 200, message };
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
