// The credential sources of one resource as `plan` sees them: Secret sources are read from the world
// (cluster or snapshot) and parsed exactly as the daemon parses them; cloud sources (ECR, GCP, Azure and
// IMPS ECR login Secrets) are listed by the registries they would provide, without fetching a token. The
// references and the spec order are the daemon's own (controller/cloud-sources.ts). Pure.
import type { EcrSource, ImagePullSecret } from '../../api/v1alpha1/types.ts';
import { plan as cloudSources, secretData } from '../../controller/decide/cloud-sources.ts';
import { ECR_LOGIN_TYPES, refOf } from '../../controller/decide/sources.ts';
import { ecrRegistryHost, ecrSourceFromImpsSecret } from '../../credentials/ecr.ts';
import { normalizeRegistryKey, parseSourceSecret, type AuthEntry, type Contribution } from '../../dockerconfig/index.ts';
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

/** Stands for the account of the daemon's own AWS identity when a source names none. */
export const CALLER_ACCOUNT = '<account>';

function ecrRegistries(source: EcrSource): string[] {
  const accounts = source.accountIDs?.length ? source.accountIDs : [CALLER_ACCOUNT];
  return accounts.map((a) => ecrRegistryHost(a, source.region, source.endpointType));
}

function cloudRegistries(kind: string, source: unknown): string[] {
  if (kind === 'ECR') return ecrRegistries(source as EcrSource);
  const raw = kind === 'GCP' ? (source as { registries: string[] }).registries : [(source as { registry: string }).registry];
  return raw.map((r) => normalizeRegistryKey(r) ?? r);
}

/** The contributions of `ips`'s sources, in spec order. `secret(ref)` looks a Secret up by namespace/name. */
export function planSources(ips: ImagePullSecret, secret: (ref: string) => Secret | undefined): PlannedSources {
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
      else out.contributions.push({ source, entries: ecrRegistries(ecr).map(placeholder) });
      continue;
    }
    const parsed = parseSourceSecret(found.type ?? '', found.data ?? {});
    if (parsed.problems.length) out.problems.push(`${source}: ${parsed.problems.join('; ')}`);
    out.contributions.push({ source, entries: parsed.entries });
  }
  for (const p of cloudSources(ips, {})) {
    out.cloud = true;
    if (p.secretRef && !secret(refOf(p.secretRef))) out.problems.push(`${p.reference}: Secret ${refOf(p.secretRef)} not found`);
    out.contributions.push({ source: p.reference, entries: cloudRegistries(p.kind, p.source).map(placeholder) });
  }
  return out;
}
