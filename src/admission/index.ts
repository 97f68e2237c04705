// The admission rule's interface: decide one pod (decide.ts), answer one AdmissionReview (review.ts), and
// the shapes and outcomes they share (pod.ts). The webhook serves these; the admission policies compile
// the same rule to CEL.
export { decidePodAdmission, patchFor, type PodAdmission } from './decide.ts';
export { injectingTarget, selectedSecrets, type Selected } from './selection.ts';
export { answerReview, parseReview, reviewResponse, type AdmissionResponse, type AdmissionReviewResponse, type AdmissionView, type Answer, type ParsedReview } from './review.ts';
export { ADMISSION_API_VERSION, ADMISSION_KIND } from './review-parse.ts';
export * from './pod.ts';
