// Source Secrets are watched one by one: a resource names a handful of Secrets in a few namespaces, so
// a field-selected watch per referenced Secret reads exactly those, never every Secret of the cluster.
// A reverse index (reference -> resources) turns a change into work for the resources that use it.
import { DOCKER_CFG_TYPE, DOCKER_CONFIG_JSON_TYPE, parseSourceSecret, type Parsed } from '../../dockerconfig/index.ts';
import { Informer, type InformerLog } from '../../kube/informer.ts';
import type { ObjectMeta, Secret } from '../../kube/objects.ts';
import type { KubeRest } from '../../kube/rest.ts';
import type { KubeObject } from '../../kube/store.ts';

/**
 * A source Secret as cached. A docker config is parsed once, as it arrives, and kept in parsed form only:
 * neither its bytes nor its annotations (`kubectl apply` keeps a second copy of the data in one) stay.
 * Any other Secret (a cloud key, an IMPS ECR login config: a few hundred bytes) keeps its data.
 */
export interface SourceSecret extends KubeObject {
  metadata: Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'resourceVersion'>;
  type?: string;
  data?: Record<string, string>;
  /** Present for dockerconfigjson and dockercfg Secrets. */
  parsed?: Parsed;
}

/**
 * The informer's transform for source Secrets. The informer's store keeps one object per Secret, replaced
 * when its resourceVersion changes and dropped with the Secret or with its last user's watch: so every
 * resource that names the Secret reads the same parsed copy, and no edit leaves an old one behind. Pure.
 */
export function toSourceSecret(obj: unknown): SourceSecret {
  const { metadata: m, type, data } = obj as Secret;
  const metadata = { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
  if (type === DOCKER_CONFIG_JSON_TYPE || type === DOCKER_CFG_TYPE) return { metadata, type, parsed: parseSourceSecret(type, data ?? {}) };
  return { metadata, ...(type === undefined ? {} : { type }), ...(data === undefined ? {} : { data }) };
}

export type SourceState = { kind: 'pending' } | { kind: 'missing' } | { kind: 'found'; secret: SourceSecret };

export class SourceSecrets {
  private readonly watches = new Map<string, Informer<SourceSecret>>();
  private readonly users = new Map<string, Set<string>>();
  private listener: (ref: string) => void = () => undefined;

  constructor(private readonly rest: KubeRest, private readonly opts: { log?: InformerLog; minWatchTimeoutSeconds?: number; metadataOnly?: boolean }) {}

  /** Called with `namespace/name` whenever that source Secret changes. */
  onChange(listener: (ref: string) => void): void {
    this.listener = listener;
  }

  /** Declares which references resource `owner` uses; starts and stops watches to match. */
  use(owner: string, refs: Iterable<string>): void {
    const wanted = new Set(refs);
    for (const [ref, owners] of this.users) {
      if (!wanted.has(ref) && owners.delete(owner) && owners.size === 0) this.drop(ref);
    }
    for (const ref of wanted) {
      let owners = this.users.get(ref);
      if (!owners) this.users.set(ref, (owners = new Set()));
      owners.add(owner);
      if (!this.watches.has(ref)) this.watch(ref);
    }
  }

  /** Resources that use reference `ref`. */
  usersOf(ref: string): string[] {
    return [...(this.users.get(ref) ?? [])];
  }

  get(ref: string): SourceState {
    const inf = this.watches.get(ref);
    if (!inf?.hasSynced()) return { kind: 'pending' };
    const secret = inf.store.get(ref);
    return secret ? { kind: 'found', secret } : { kind: 'missing' };
  }

  /** Watches that have made no progress for longer than their stall threshold. */
  stalled(): string[] {
    return [...this.watches].filter(([, inf]) => inf.sinceProgress() > inf.stallThresholdMs()).map(([ref]) => ref);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
    this.watches.clear();
  }

  private watch(ref: string): void {
    const [namespace, name] = ref.split('/');
    const inf = new Informer<SourceSecret>(this.rest, {
      ...this.opts, resource: 'secrets', transform: toSourceSecret, path: `/api/v1/namespaces/${namespace ?? ''}/secrets`, fieldSelector: `metadata.name=${name ?? ''}`,
    });
    const notify = () => { this.listener(ref); };
    inf.on({ add: notify, update: notify, delete: notify });
    this.watches.set(ref, inf);
    inf.start();
    // The first sync of an absent Secret emits nothing; tell the users it is settled either way.
    void inf.whenSynced().then(notify);
  }

  private drop(ref: string): void {
    this.users.delete(ref);
    const inf = this.watches.get(ref);
    this.watches.delete(ref);
    void inf?.stop();
  }
}
