// Resolves a resource's credential sources, in spec order, into contributions for the merge. A source
// that fails keeps contributing its last good entries until they expire (SPEC 2.3); a source Secret that
// was deleted stops contributing at once.
import type { ImagePullSecret, SecretReference, SourceKind } from '../api/v1alpha1/types.ts';
import type { AuthEntry } from '../dockerconfig/index.ts';
import { parseSourceSecret } from '../dockerconfig/index.ts';
import type { SourceSecrets } from './source-secrets.ts';

export interface SourceOutcome {
  /** Non-secret reference, e.g. `Secret registry-access/dockerhub`. */
  reference: string;
  kind: SourceKind;
  entries: AuthEntry[];
  expiresAt?: Date;
  lastRefreshTime?: Date;
  /** Set when the source failed this time; its entries are then the last good ones, if any. */
  error?: string;
  /** The source is not readable yet (its watch has not synced): the render must wait. */
  pending?: boolean;
}

/** A cloud (or other non-Secret) source kind plugs in here; see the credentials package. */
export interface CloudSources {
  resolve(ips: ImagePullSecret, now: Date): Promise<SourceOutcome[]>;
  /** Secret references the cloud sources of `ips` read (key Secrets, IMPS ECR Secrets). */
  references(ips: ImagePullSecret): SecretReference[];
}

interface LastGood {
  entries: AuthEntry[];
  expiresAt?: Date;
}

export const refOf = (r: SecretReference): string => `${r.namespace}/${r.name}`;

export class SourceResolver {
  private readonly lastGood = new Map<string, LastGood>();

  constructor(private readonly secrets: SourceSecrets, private readonly cloud?: CloudSources) {}

  /** Every Secret reference `ips` reads, for the source watches and the reverse index. */
  references(ips: ImagePullSecret): string[] {
    const refs = [...(ips.spec.registry.credentials ?? []), ...(this.cloud?.references(ips) ?? [])];
    return [...new Set(refs.map(refOf))];
  }

  async resolve(ips: ImagePullSecret, now: Date): Promise<SourceOutcome[]> {
    const outcomes = (ips.spec.registry.credentials ?? []).map((ref) => this.fromSecret(ips.metadata.name, ref, now));
    if (this.cloud) outcomes.push(...(await this.cloud.resolve(ips, now)));
    return outcomes;
  }

  forget(name: string): void {
    for (const key of [...this.lastGood.keys()]) if (key.startsWith(`${name}\0`)) this.lastGood.delete(key);
  }

  private fromSecret(owner: string, ref: SecretReference, now: Date): SourceOutcome {
    const reference = `Secret ${refOf(ref)}`;
    const key = `${owner}\0${reference}`;
    const state = this.secrets.get(refOf(ref));
    if (state.kind === 'pending') return { reference, kind: 'Secret', entries: [], pending: true };
    if (state.kind === 'missing') {
      this.lastGood.delete(key);
      return { reference, kind: 'Secret', entries: [], error: 'Secret not found' };
    }
    const parsed = parseSourceSecret(state.secret.type ?? '', state.secret.data ?? {});
    if (parsed.entries.length > 0 && parsed.problems.length === 0) {
      this.lastGood.set(key, { entries: parsed.entries });
      return { reference, kind: 'Secret', entries: parsed.entries };
    }
    const previous = this.lastGood.get(key);
    const usable = previous && (!previous.expiresAt || previous.expiresAt > now) ? previous.entries : parsed.entries;
    return { reference, kind: 'Secret', entries: usable, error: parsed.problems.join('; ') || 'no usable entries' };
  }
}
