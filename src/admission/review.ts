// An AdmissionReview in, an AdmissionReview out: the whole answer of the webhook as pure functions. Every
// answer allows the pod (the daemon never blocks pod creation); a mutation carries a base64 JSON patch.
// A bad body, another kind, or anything that goes wrong while deciding is "allowed, not mutated" with the
// reason in the response's audit annotations, never a throw. A dry-run request is answered the same way.
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { errorMessage } from '../util/errors.ts';
import { decidePodAdmission } from './decide.ts';
import type { NamespaceView, PodDecision } from './pod.ts';
import { ADMISSION_API_VERSION, ADMISSION_KIND, parseReview, type ParsedReview } from './review-parse.ts';

export { parseReview, type ParsedReview } from './review-parse.ts';

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  /** Base64 of the JSON patch. */
  patch?: string;
  /** Recorded in the API server's audit log under the webhook's name. */
  auditAnnotations: { outcome: string; reason: string };
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

/** Audit annotation values are kept short. */
const MAX_REASON = 512;

/** The review answering request `uid` with `decision`. */
export function reviewResponse(uid: string, decision: PodDecision): AdmissionReviewResponse {
  const reason = decision.reason.length > MAX_REASON ? `${decision.reason.slice(0, MAX_REASON - 1)}…` : decision.reason;
  const response: AdmissionResponse = { uid, allowed: true, auditAnnotations: { outcome: decision.outcome, reason } };
  if (decision.outcome === 'mutated' && decision.patch?.length) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(decision.patch)).toString('base64');
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

/** What the answer is decided from: the daemon's caches, read only. */
export interface AdmissionView {
  namespace(name: string): NamespaceView | undefined;
  resources(): readonly ImagePullSecret[];
  ownNamespace: string;
}

export interface Answer {
  review: AdmissionReviewResponse;
  decision: PodDecision;
  /** The parsed request, when the body was a pod CREATE. */
  request?: Extract<ParsedReview, { ok: true }>;
}

/** Parses `body` (JSON-decoded), decides and answers. Never throws. */
export function answerReview(body: unknown, view: AdmissionView): Answer {
  const parsed = parseReview(body);
  if (!parsed.ok) {
    const decision: PodDecision = { outcome: 'error', add: [], reason: `not mutated: ${parsed.reason}` };
    return { review: reviewResponse(parsed.uid, decision), decision };
  }
  let decision: PodDecision;
  try {
    decision = decidePodAdmission({
      pod: parsed.pod, namespace: view.namespace(parsed.pod.metadata.namespace), resources: view.resources(),
      ownNamespace: view.ownNamespace, ...(parsed.requester !== undefined ? { requester: parsed.requester } : {}),
    });
  } catch (err) {
    decision = { outcome: 'error', add: [], reason: `not mutated: ${errorMessage(err)}` };
  }
  return { review: reviewResponse(parsed.uid, decision), decision, request: parsed };
}
