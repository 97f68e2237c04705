// The credential sources of one resource as `plan` sees them: Secret sources are read from the world
// (cluster or snapshot) and parsed exactly as the daemon parses them; cloud sources (every registered
// provider's, and IMPS ECR login Secrets) are listed by the registries their module says they serve,
// without fetching a token. The references and the spec order are the daemon's own
// (controller/decide/cloud-sources.ts). Pure.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { plan as cloudSources, secretData } from '../../controller/decide/cloud-sources.ts';
import { ECR_LOGIN_TYPES, refOf } from '../../controller/decide/sources.ts';
import { ecrSourceFromImpsSecret } from '../../credentials/ecr.ts';
import { PROVIDERS, PROVIDER_MODULES, type ProviderModule } from '../../credentials/index.ts';
import { parseSourceSecret, type AuthEntry, type Contribution } from '../../dockerconfig/index.ts';
import type { Secret } from '../../kube/objects.ts';

export interface PlannedSources {
  contributions: Contribution[];
  /** Whether any source is a cloud token: its bytes cannot be known without fetching. */
  cloud: boolean;
  /** Per source that would fail: `reference: problem` (never a credential value). */
  problems: string[];
}

/** A stand-in entry: cloud tokens are not fetched, so only the registry key is known. */
const placeholder = (registry: string): AuthEntry => ({ registry, auth: '' });

/**
 * The contributions of `ips`'s sources, in spec order. `secret(ref)` looks a Secret up by namespace/name;
 * `modules` are the registered providers unless a test registers more.
 */
export function planSources(ips: ImagePullSecret, secret: (ref: string) => Secret | undefined,
  modules: readonly ProviderModule[] = PROVIDER_MODULES): PlannedSources {
  const out: PlannedSources = { contributions: [], cloud: false, problems: [] };
  for (const ref of ips.spec.registry.credentials ?? []) {
    const source = `Secret ${refOf(ref)}`;
    const found = secret(refOf(ref));
    if (!found) {
      out.problems.push(`${source}: Secret not found`);
      continue;
    }
    if (ECR_LOGIN_TYPES.has(found.type ?? '')) {
      const { source: ecr, problems } = ecrSourceFromImpsSecret(secretData(found));
      out.cloud = true;
      if (problems.length) out.problems.push(`${source}: ${problems.join('; ')}`);
      else out.contributions.push({ source, entries: PROVIDERS.ECR.registries(ecr).map(placeholder) });
      continue;
    }
    const parsed = parseSourceSecret(found.type ?? '', found.data ?? {});
    if (parsed.problems.length) out.problems.push(`${source}: ${parsed.problems.join('; ')}`);
    out.contributions.push({ source, entries: parsed.entries });
  }
  for (const p of cloudSources(ips, {}, modules)) {
    out.cloud = true;
    if (p.secretRef && !secret(refOf(p.secretRef))) out.problems.push(`${p.reference}: Secret ${refOf(p.secretRef)} not found`);
    out.contributions.push({ source: p.reference, entries: p.module.registries(p.source).map(placeholder) });
  }
  return out;
}
