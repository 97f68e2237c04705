// Cloud sources of a resource (each registered provider's list under spec.registry, and IMPS ECR login
// Secrets listed under credentials) resolved through the token cache. The controller reads the
// referenced Secrets from its watches and hands their data to the providers, which never call the
// Kubernetes API.
// One fetch per identity serves every resource that shares it; each resource is requeued for the
// earliest refresh among its sources, so a new token reaches every Secret that carries it at once.
import type { ImagePullSecret, SecretReference, SourceKind } from '../../api/v1alpha1/types.ts';
import {
  ecrSourceFromImpsSecret, providerSources, PROVIDERS, PROVIDER_MODULES,
  type CloudProviders, type CredentialProvider, type ProviderModule, type SecretData, type TokenCache,
} from '../../credentials/index.ts';
import type { Secret } from '../../kube/objects.ts';
import { dataMap, ownValue } from '../../util/own.ts';
import type { SourceSecrets } from '../watch/source-secrets.ts';
import { tokenSeed } from './token-seed.ts';
import { refOf, type CloudSources, type SourceOutcome } from './sources.ts';

export type { CloudProviders };

export interface Planned<S> {
  /** The provider's module: what `plan` asks about the source without fetching. */
  module: ProviderModule;
  kind: Exclude<SourceKind, 'Secret'>;
  reference: string;
  provider: CredentialProvider<S> | undefined;
  source: S;
  secretRef?: SecretReference;
  /** The one data key the provider reads from secretRef; undefined: it reads the whole Secret. */
  secretKey?: string;
}

/** The decoded data of a Secret, values as UTF-8 strings, in a map without a prototype. */
export function secretData(secret: Secret): SecretData {
  return dataMap(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/**
 * The provider sources of `ips` in spec order (registry order, then list order), with their references;
 * `plan` lists them too. `modules` are the registered providers unless a test registers more.
 */
export function plan(ips: ImagePullSecret, p: CloudProviders, modules: readonly ProviderModule[] = PROVIDER_MODULES): Planned<unknown>[] {
  const providers = p as Readonly<Record<string, CredentialProvider<unknown> | undefined>>;
  return providerSources(ips.spec.registry, modules).map(({ module, source }) => {
    const secretRef = module.secretRef(source);
    return {
      module, kind: module.kind as Planned<unknown>['kind'], reference: module.reference(source), source,
      provider: Object.hasOwn(providers, module.field) ? providers[module.field] : undefined,
      ...(secretRef ? { secretRef, ...(module.defaultSecretKey === undefined ? {} : { secretKey: secretRef.key ?? module.defaultSecretKey }) } : {}),
    };
  });
}

export class CloudSourceResolver implements CloudSources {
  /** Resource name -> earliest refresh among its cloud sources, from its last resolve. */
  private readonly refreshAt = new Map<string, number>();
  /**
   * Resource and source reference -> when the token this source was last handed was fetched and when it
   * expires. A token is shared by every source of its identity, so the cache's times may belong to a fetch
   * whose login never reached this source (it expired first, or could not be written for its registries):
   * status shows only what the source itself received.
   */
  private readonly received = new Map<string, { expiresAt?: Date; lastRefreshTime?: Date; identity: string }>();
  /** Sources of each resource resolved in its current round; the others are forgotten at its end. */
  private readonly round = new Map<string, Set<string>>();

  /**
   * `written` gives a resource and the value its Secrets carry, so that after a restart the tokens they
   * hold seed the cache (see token-seed.ts) instead of being fetched and written again.
   */
  constructor(private readonly secrets: SourceSecrets, private readonly providers: CloudProviders, private readonly cache: TokenCache,
    private readonly written?: (owner: string) => { ips?: ImagePullSecret; payload?: string }) {}

  references(ips: ImagePullSecret): SecretReference[] {
    return plan(ips, this.providers).flatMap((p) => (p.secretRef ? [p.secretRef] : []));
  }

  async resolve(ips: ImagePullSecret, now: Date): Promise<SourceOutcome[]> {
    const owner = ips.metadata.name;
    const outcomes = await Promise.all(plan(ips, this.providers).map((p) => this.one(owner, p, now)));
    const seen = this.round.get(owner);
    for (const key of [...this.received.keys()]) if (seen && key.startsWith(`${owner}\0`) && !seen.has(key)) this.received.delete(key);
    return outcomes;
  }

  /** An IMPS ECR login config Secret listed under registry.credentials. */
  async fromEcrLoginSecret(owner: string, reference: string, secret: Secret, now: Date): Promise<SourceOutcome> {
    const data = secretData(secret);
    const { source, problems } = ecrSourceFromImpsSecret(data);
    if (problems.length) return { reference, kind: 'ECR', entries: [], error: problems.join('; ') };
    return this.fetch(owner, { module: PROVIDERS.ECR, kind: PROVIDERS.ECR.kind, reference, provider: this.providers.ecr, source }, data, now);
  }

  /** Milliseconds until the earliest refresh any cloud source of `name` wants; undefined for none. */
  nextRefreshMs(name: string, nowMs: number): number | undefined {
    const at = this.refreshAt.get(name);
    return at === undefined ? undefined : Math.max(1000, at - nowMs);
  }

  forget(name: string): void {
    this.refreshAt.delete(name);
    this.round.delete(name);
    for (const key of [...this.received.keys()]) if (key.startsWith(`${name}\0`)) this.received.delete(key);
  }

  /** Starts a fresh round of refresh bookkeeping for `name` (called before its sources resolve). */
  beginRound(name: string): void {
    this.refreshAt.delete(name);
    this.round.set(name, new Set());
  }

  private async one(owner: string, p: Planned<unknown>, now: Date): Promise<SourceOutcome> {
    let data: SecretData | undefined;
    if (p.secretRef) {
      const state = this.secrets.get(refOf(p.secretRef));
      if (state.kind === 'pending') return { reference: p.reference, kind: p.kind, entries: [], pending: true };
      if (state.kind === 'missing') return { reference: p.reference, kind: p.kind, entries: [], error: `Secret ${refOf(p.secretRef)} not found` };
      data = secretData(state.secret);
      const key = p.secretKey;
      if (key !== undefined && ownValue(data, key) === undefined) {
        return { reference: p.reference, kind: p.kind, entries: [], error: `Secret ${refOf(p.secretRef)} has no key ${key}` };
      }
    }
    return this.fetch(owner, p, data, now);
  }

  private async fetch(owner: string, p: Planned<unknown>, data: SecretData | undefined, now: Date): Promise<SourceOutcome> {
    if (!p.provider) return { reference: p.reference, kind: p.kind, entries: [], error: `${p.kind} support is not enabled in this daemon` };
    const problems = p.provider.validate(p.source);
    if (problems.length) return { reference: p.reference, kind: p.kind, entries: [], error: problems.join('; ') };
    const secret = this.forProvider(p, data);
    const identity = this.cache.digest(p.provider, p.source, secret);
    this.seed(owner, p as Planned<unknown> & { provider: CredentialProvider<unknown> }, secret, identity);
    const state = await this.cache.get(p.provider, p.source, secret);
    const at = state.refreshAt.getTime();
    this.refreshAt.set(owner, Math.min(this.refreshAt.get(owner) ?? at, at));
    const key = `${owner}\0${p.reference}`;
    this.round.get(owner)?.add(key);
    if (state.entries.length) this.received.set(key, { expiresAt: state.expiresAt, lastRefreshTime: state.lastRefreshTime, identity });
    const own = this.received.get(key);
    return {
      reference: p.reference, kind: p.kind, entries: state.entries,
      ...(own?.expiresAt ? { expiresAt: own.expiresAt } : {}),
      ...(own?.lastRefreshTime ? { lastRefreshTime: own.lastRefreshTime } : {}),
      ...(own ? { identity: own.identity } : {}),
      ...(state.error ? { error: state.error } : state.entries.length || !state.expiresAt || state.expiresAt > now ? {} : { error: 'token expired' }),
    };
  }

  /**
   * After a restart (nothing received yet for this source): the token the resource's Secrets carry, when
   * its status says it was fetched for this identity and it written under this source's registries gives
   * exactly what the Secrets hold.
   */
  private seed(owner: string, p: Planned<unknown> & { provider: CredentialProvider<unknown> }, secret: SecretData | undefined, identity: string): void {
    if (!this.written || this.received.has(`${owner}\0${p.reference}`)) return;
    const { ips, payload } = this.written(owner);
    const seed = ips && tokenSeed(ips, payload, p.reference, identity);
    if (!seed) return;
    try {
      const entries = p.provider.retarget(p.source, seed.fetched);
      const wanted = new Map(entries.map((e) => [e.registry, e.auth]));
      if (seed.fetched.entries.every((e) => wanted.get(e.registry) === e.auth)) this.cache.seed(p.provider, p.source, secret, seed.fetched, seed.fetchedAt);
    } catch {
      // Not a login this source would write: fetched as usual.
    }
  }

  /** A provider that reads one key gets that key alone; one that reads fixed keys (ECR) gets the whole Secret. */
  private forProvider(p: Planned<unknown>, data: SecretData | undefined): SecretData | undefined {
    if (!data || p.secretKey === undefined) return data;
    return dataMap([[p.secretKey, ownValue(data, p.secretKey) ?? '']]);
  }
}
