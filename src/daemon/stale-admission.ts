// The policy engine's MutatingAdmissionPolicies and bindings when it is not the active engine
// (docs/adr/0008-admission-engines.md): the leader removes them once when it starts leading, so a switch to
// the webhook or to `off` (by flag, or by what discovery finds) never leaves the old policies mutating
// pods. Only objects with the daemon's managed-by label are touched; every delete carries the uid it
// listed, so an object replaced meanwhile stays. (The webhook engine's configuration is the keeper's:
// src/daemon/webhook.ts, webhookCleaner.)
import type { Logger } from 'pino';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/v1alpha1/labels.ts';
import { BINDINGS_PATH, POLICIES_PATH } from '../admission/policy.ts';
import { isStatus, type KubeRest } from '../kube/rest.ts';
import { exponentialBackoff } from '../util/backoff.ts';
import { realClock, sleep, type Clock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import type { AdmissionEngine } from './admission-engine.ts';

const OURS = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

interface Listed { items?: { metadata: { name: string; uid?: string; labels?: Record<string, string> } }[] }

export interface StaleAdmissionOptions {
  rest: KubeRest;
  /** The engine this daemon runs: with any but `policy`, the policies and bindings are removed. */
  engine: AdmissionEngine;
  log: Logger;
  /** Aborted when the daemon stops or loses the lead: no further attempt is made. */
  signal: AbortSignal;
  clock?: Clock;
}

/** Deletes the listed objects (ours only), each with the uid it was listed with; how many went. */
async function deleteListed(rest: KubeRest, collection: string, listed: Listed, signal: AbortSignal): Promise<number> {
  let removed = 0;
  for (const item of listed.items ?? []) {
    if (item.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) continue;
    try {
      await rest.call({ method: 'DELETE', path: `${collection}/${item.metadata.name}`, signal,
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: item.metadata.uid } } });
      removed++;
    } catch (err) {
      // Gone already, or replaced by an object that is not the one listed (the precondition): not ours to delete.
      if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
    }
  }
  return removed;
}

/** Removes the policy engine's policies and bindings (the bindings first: a policy without one applies to nothing). */
async function removePolicies(rest: KubeRest, log: Logger, signal: AbortSignal): Promise<void> {
  const query = { labelSelector: OURS };
  const bindings = await deleteListed(rest, BINDINGS_PATH, await rest.call<Listed>({ method: 'GET', path: BINDINGS_PATH, query, signal }), signal);
  const policies = await deleteListed(rest, POLICIES_PATH, await rest.call<Listed>({ method: 'GET', path: POLICIES_PATH, query, signal }), signal);
  if (bindings + policies > 0) {
    log.info({ policies, bindings }, 'Removed the MutatingAdmissionPolicies and bindings of the policy engine, which is not the active engine');
  }
}

/**
 * Removes the policy engine's objects unless it is the active engine, retrying (0.5 s doubling to 60 s)
 * until it succeeds or `signal` aborts. Without the RBAC to list or delete them it says once how to remove
 * them by hand and gives up.
 */
export async function removeStalePolicies(opts: StaleAdmissionOptions): Promise<void> {
  if (opts.engine === 'policy') return;
  const clock = opts.clock ?? realClock;
  const log = opts.log.child({ component: 'admission-engine' });
  const backoff = exponentialBackoff({ baseMs: 500, capMs: 60_000 });
  const stopped = (): boolean => opts.signal.aborted;
  for (let attempt = 1; !stopped(); attempt++) {
    try {
      await removePolicies(opts.rest, log, opts.signal);
      return;
    } catch (err) {
      if (stopped()) return;
      if (isStatus(err, 403)) {
        log.error({ error: errorMessage(err) }, 'Not allowed to remove the MutatingAdmissionPolicies and bindings of the policy engine, which is not '
          + `the active engine: grant list and delete on them (the chart does), or run kubectl delete mutatingadmissionpolicybinding,mutatingadmissionpolicy -l ${OURS}`);
        return;
      }
      log.warn({ error: errorMessage(err) }, 'Removing the MutatingAdmissionPolicies and bindings of the inactive policy engine failed; retrying with backoff');
      await sleep(clock, backoff(attempt), opts.signal);
    }
  }
}
