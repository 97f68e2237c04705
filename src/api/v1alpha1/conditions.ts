// Condition types and reasons of ImagePullSecret status. Reasons are CamelCase constants;
// messages are for people and never contain credential material.
import type { Condition } from './types.ts';

export const READY = 'Ready';

export const Reason = {
  /** Every selected namespace holds the current Secret. */
  Synced: 'Synced',
  /** A source failed or no source gave any entry. */
  SourceError: 'SourceError',
  /** The target Secret name is held by an unmanaged Secret or an older resource somewhere. */
  Conflict: 'Conflict',
  /** The merged credentials exceed what one Secret may hold; nothing is written. */
  TooLarge: 'TooLarge',
  /** The API server refused a write. */
  WriteError: 'WriteError',
  /** The spec fails semantic validation; nothing is written for it. */
  InvalidSpec: 'InvalidSpec',
  /** Waiting for caches or sources before a first decision. */
  Progressing: 'Progressing',
} as const;

export type ReasonName = (typeof Reason)[keyof typeof Reason];

/**
 * Returns `conditions` with `next` in place of the condition of its type. `lastTransitionTime` moves
 * only when the status changes, as metav1.Condition requires.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const previous = conditions?.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString();
  const others = (conditions ?? []).filter((c) => c.type !== next.type);
  return [...others, { ...next, lastTransitionTime }].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}
