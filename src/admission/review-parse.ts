// Reads an AdmissionReview (admission.k8s.io/v1) body as the API server sends it for a pod CREATE. Every
// shape is checked, nothing is trusted: a body that is not such a review, another kind or operation, or
// a pod whose fields have the wrong types is a refusal with a reason, never a throw. Pure.
import { isRecord } from '../util/own.ts';
import type { AdmittedPod, PodPullSecret } from './pod.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

/** A pod CREATE to decide on, or why the request is answered "allowed, not mutated" without a decision. */
export type ParsedReview =
  | { ok: true; uid: string; pod: AdmittedPod; dryRun: boolean; requester?: string }
  | { ok: false; uid: string; reason: string };

const isStringMap = (v: unknown): v is Record<string, string> => isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
const optional = (v: unknown, is: (x: unknown) => boolean): boolean => v === undefined || v === null || is(v);
const isEntry = (e: unknown): e is PodPullSecret => isRecord(e) && optional(e.name, (x) => typeof x === 'string');
const isEntryList = (v: unknown): v is PodPullSecret[] => Array.isArray(v) && v.every(isEntry);

/** The pod's fields the rule reads, or the first one with a wrong type. */
function podOf(object: unknown, namespace: string): AdmittedPod | string {
  if (!isRecord(object)) return 'request.object is not an object';
  const metadata = object.metadata ?? {};
  const spec = object.spec;
  if (!isRecord(metadata)) return 'request.object.metadata is not an object';
  if (!isRecord(spec)) return 'request.object.spec is not an object';
  if (!optional(metadata.labels, isStringMap)) return 'request.object.metadata.labels is not a map of strings';
  if (!optional(metadata.annotations, isStringMap)) return 'request.object.metadata.annotations is not a map of strings';
  if (!optional(spec.imagePullSecrets, isEntryList)) return 'request.object.spec.imagePullSecrets is not a list of {name}';
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    metadata: {
      name: text(metadata.name), generateName: text(metadata.generateName), namespace,
      labels: metadata.labels ?? undefined, annotations: metadata.annotations ?? undefined,
    } as AdmittedPod['metadata'],
    spec: { imagePullSecrets: spec.imagePullSecrets as PodPullSecret[] | null | undefined },
  };
}

/** Why `request` is not a pod CREATE this rule decides; undefined when it is one. */
function notAPodCreate(request: Record<string, unknown>): string | undefined {
  const kind = isRecord(request.kind) ? request.kind : {};
  if (kind.group !== '' || kind.version !== 'v1' || kind.kind !== 'Pod') {
    return `request.kind ${JSON.stringify([kind.group, kind.version, kind.kind])} is not ["","v1","Pod"]`;
  }
  if (request.subResource !== undefined && request.subResource !== '') return `subresource ${JSON.stringify(request.subResource)} is not handled`;
  if (request.operation !== 'CREATE') return `operation ${typeof request.operation === 'string' ? request.operation : '(none)'} is not handled: only CREATE`;
  if (typeof request.namespace !== 'string' || request.namespace === '') return 'request.namespace is missing';
  return undefined;
}

/** Parses a review body (already JSON-decoded). */
export function parseReview(body: unknown): ParsedReview {
  const request = isRecord(body) && isRecord(body.request) ? body.request : undefined;
  const uid = typeof request?.uid === 'string' ? request.uid : '';
  if (!isRecord(body) || body.apiVersion !== ADMISSION_API_VERSION || body.kind !== ADMISSION_KIND) {
    return { ok: false, uid, reason: `the body is not an ${ADMISSION_KIND} of ${ADMISSION_API_VERSION}` };
  }
  if (!request || uid === '') return { ok: false, uid, reason: 'the review has no request with a uid' };
  const refused = notAPodCreate(request);
  if (refused !== undefined) return { ok: false, uid, reason: refused };
  const pod = podOf(request.object, request.namespace as string);
  if (typeof pod === 'string') return { ok: false, uid, reason: pod };
  const user = isRecord(request.userInfo) ? request.userInfo.username : undefined;
  return { ok: true, uid, pod, dryRun: request.dryRun === true, ...(typeof user === 'string' ? { requester: user } : {}) };
}
