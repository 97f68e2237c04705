// Resolves a resource's credential sources, in spec order, into contributions for the merge. A source
// that fails keeps contributing its last good entries until they expire; a source Secret that
// was deleted stops contributing at once.
import type { ImagePullSecret, SecretReference, SourceKind } from '../../api/v1alpha1/types.ts';
import type { AuthEntry } from '../../dockerconfig/index.ts';
import { parseSourceSecret } from '../../dockerconfig/index.ts';
import type { Secret } from '../../kube/objects.ts';
import type { SourceSecret, SourceSecrets } from '../watch/source-secrets.ts';
import { listed } from '../status/status-text.ts';

export interface SourceOutcome {
  /** Non-secret reference, e.g. `Secret registry-access/dockerhub`. */
  reference: string;
  kind: SourceKind;
  entries: AuthEntry[];
  expiresAt?: Date;
  lastRefreshTime?: Date;
  /** Cloud sources: the digest of the identity the token was fetched as (see TokenCache.digest). */
  identity?: string;
  /** Set when the source failed this time; its entries are then the last good ones, if any. */
  error?: string;
  /** The source is not readable yet (its watch has not synced): the render must wait. */
  pending?: boolean;
  /** Other spellings of a registry within this source, which lost to the one in `entries`. */
  shadowed?: string[];
}

/** Cloud sources plug in here (see cloud-sources.ts); without them only Secret sources work. */
export interface CloudSources {
  resolve(ips: ImagePullSecret, now: Date): Promise<SourceOutcome[]>;
  /** Secret references the cloud sources of `ips` read (key Secrets). */
  references(ips: ImagePullSecret): SecretReference[];
  /** An IMPS-format ECR login config Secret listed under registry.credentials. */
  fromEcrLoginSecret(owner: string, reference: string, secret: Secret, now: Date): Promise<SourceOutcome>;
  beginRound(name: string): void;
  nextRefreshMs(name: string, nowMs: number): number | undefined;
  forget(name: string): void;
}

/** Secret types that hold ECR keys rather than docker config (IMPS's and ours). */
export const ECR_LOGIN_TYPES = new Set(['banzaicloud.io/aws-ecr-login-config', 'pullsecret-sync.dev/aws-ecr-login-config']);

interface LastGood {
  entries: AuthEntry[];
  expiresAt?: Date;
}

export const refOf = (r: SecretReference): string => `${r.namespace}/${r.name}`;

const lastGoodKey = (owner: string, ref: SecretReference): string => `${owner}\0Secret ${refOf(ref)}`;

export class SourceResolver {
  private readonly lastGood = new Map<string, LastGood>();

  constructor(private readonly secrets: SourceSecrets, private readonly cloud?: CloudSources) {}

  /** Every Secret reference `ips` reads, for the source watches and the reverse index. */
  references(ips: ImagePullSecret): string[] {
    const refs = [...(ips.spec.registry.credentials ?? []), ...(this.cloud?.references(ips) ?? [])];
    return [...new Set(refs.map(refOf))];
  }

  async resolve(ips: ImagePullSecret, now: Date): Promise<SourceOutcome[]> {
    const credentials = ips.spec.registry.credentials ?? [];
    this.cloud?.beginRound(ips.metadata.name);
    this.keepLastGood(ips.metadata.name, credentials);
    const outcomes = await Promise.all(credentials.map((ref) => this.fromSecret(ips.metadata.name, ref, now)));
    if (this.cloud) outcomes.push(...(await this.cloud.resolve(ips, now)));
    return outcomes;
  }

  /** Milliseconds until a cloud source of `name` wants a refresh. */
  nextRefreshMs(name: string, nowMs: number): number | undefined {
    return this.cloud?.nextRefreshMs(name, nowMs);
  }

  forget(name: string): void {
    this.cloud?.forget(name);
    this.keepLastGood(name, []);
  }

  /** Drops what `owner` kept for sources it no longer names: a source left behind is released. */
  private keepLastGood(owner: string, refs: readonly SecretReference[]): void {
    const kept = new Set(refs.map((ref) => lastGoodKey(owner, ref)));
    for (const key of [...this.lastGood.keys()]) if (key.startsWith(`${owner}\0`) && !kept.has(key)) this.lastGood.delete(key);
  }

  private async fromSecret(owner: string, ref: SecretReference, now: Date): Promise<SourceOutcome> {
    const reference = `Secret ${refOf(ref)}`;
    const key = lastGoodKey(owner, ref);
    const state = this.secrets.get(refOf(ref));
    if (state.kind === 'pending') return { reference, kind: 'Secret', entries: [], pending: true };
    if (state.kind === 'missing') {
      this.lastGood.delete(key);
      return { reference, kind: 'Secret', entries: [], error: 'Secret not found' };
    }
    if (ECR_LOGIN_TYPES.has(state.secret.type ?? '')) {
      if (!this.cloud) return { reference, kind: 'ECR', entries: [], error: 'ECR support is not enabled in this daemon' };
      return this.cloud.fromEcrLoginSecret(owner, reference, state.secret, now);
    }
    return this.fromDockerConfig(key, reference, state.secret, now);
  }

  /** Reads the cached parsed copy, shared with every other resource that names the Secret. */
  private fromDockerConfig(key: string, reference: string, secret: SourceSecret, now: Date): SourceOutcome {
    const parsed = secret.parsed ?? parseSourceSecret(secret.type ?? '', secret.data ?? {});
    const shadowed = parsed.shadowed?.length ? { shadowed: parsed.shadowed } : {};
    if (parsed.entries.length > 0 && parsed.problems.length === 0) {
      this.lastGood.set(key, { entries: parsed.entries });
      return { reference, kind: 'Secret', entries: parsed.entries, ...shadowed };
    }
    const previous = this.lastGood.get(key);
    const usable = previous && (!previous.expiresAt || previous.expiresAt > now) ? previous.entries : parsed.entries;
    return { reference, kind: 'Secret', entries: usable, error: listed(parsed.problems, 3) || 'no usable entries', ...shadowed };
  }
}
