// Which engine injects pull Secrets into pods at admission (docs/adr/0008-admission-engines.md): the
// MutatingAdmissionPolicies the API server evaluates where it serves them, else the daemon's webhook.
// `--admission-engine` overrides the discovery.
import { isStatus, type KubeRest } from '../kube/rest.ts';
import { exponentialBackoff } from '../util/backoff.ts';
import { realClock, sleep, type Clock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { ConfigError } from '../cli/args.ts';

export const ADMISSION_ENGINE_CHOICES = ['auto', 'policy', 'webhook', 'off'] as const;
export type AdmissionEngineChoice = (typeof ADMISSION_ENGINE_CHOICES)[number];
export type AdmissionEngine = Exclude<AdmissionEngineChoice, 'auto'>;

export interface EngineDecision {
  engine: AdmissionEngine;
  /** Why, for the start-up log line. */
  reason: string;
}

const POLICY_GROUP_VERSION = 'admissionregistration.k8s.io/v1';
const POLICY_RESOURCE = 'mutatingadmissionpolicies';

/** Whether the API server serves MutatingAdmissionPolicy in admissionregistration.k8s.io/v1 (discovery). */
export async function servesMutatingAdmissionPolicy(rest: KubeRest, signal?: AbortSignal): Promise<boolean> {
  try {
    const list = await rest.call<{ resources?: { name?: string }[] }>({ method: 'GET', path: `/apis/${POLICY_GROUP_VERSION}`,
      ...(signal ? { signal } : {}) });
    return (list.resources ?? []).some((r) => r.name === POLICY_RESOURCE);
  } catch (err) {
    if (isStatus(err, 404)) return false;
    throw err;
  }
}

/**
 * servesMutatingAdmissionPolicy, asked until the API server answers (1 s doubling to 30 s between tries,
 * each failure passed to `failed`): the daemon cannot start without knowing, as it cannot without its caches.
 */
export async function discoverPolicySupport(rest: KubeRest, failed: (error: string) => void, clock: Clock = realClock): Promise<boolean> {
  const backoff = exponentialBackoff({ baseMs: 1000, capMs: 30_000 });
  for (let attempt = 1; ; attempt++) {
    try {
      return await servesMutatingAdmissionPolicy(rest);
    } catch (err) {
      failed(errorMessage(err));
      await sleep(clock, backoff(attempt));
    }
  }
}

/** The engine for `choice`, asking `serves` only when the choice depends on what the cluster serves. */
export async function chooseAdmissionEngine(choice: AdmissionEngineChoice, serves: () => Promise<boolean>): Promise<EngineDecision> {
  switch (choice) {
    case 'off': return { engine: 'off', reason: '--admission-engine=off: nothing is injected at admission' };
    case 'webhook': return { engine: 'webhook', reason: '--admission-engine=webhook' };
    case 'policy':
      if (await serves()) return { engine: 'policy', reason: '--admission-engine=policy' };
      throw new ConfigError(`run: --admission-engine=policy needs ${POLICY_GROUP_VERSION} MutatingAdmissionPolicy, which this API server `
        + 'does not serve (Kubernetes 1.36 and later serve it); use --admission-engine=webhook, or auto to choose by what the cluster serves');
    case 'auto':
      return await serves()
        ? { engine: 'policy', reason: `the API server serves ${POLICY_GROUP_VERSION} MutatingAdmissionPolicy` }
        : { engine: 'webhook', reason: `the API server does not serve ${POLICY_GROUP_VERSION} MutatingAdmissionPolicy` };
  }
}
