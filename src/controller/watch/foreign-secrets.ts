// Secrets held by someone else where a resource wants to write its own (a Conflict with an unmanaged
// Secret). Rather than retrying the create on a timer, the target waits: a metadata-only watch on that
// one Secret brings the target back when the Secret changes or disappears, and is dropped once the
// conflict is gone. Twenty conflicts are twenty narrow watches and no writes.
import type { KubeRest } from '../../kube/rest.ts';
import type { InformerLog } from '../../kube/informer.ts';
import { SourceSecrets } from './source-secrets.ts';

export class ForeignSecrets {
  private readonly watches: SourceSecrets;
  /** resource -> namespace -> watched reference (`namespace/name`). */
  private readonly held = new Map<string, Map<string, string>>();

  constructor(rest: KubeRest, opts: { log?: InformerLog; minWatchTimeoutSeconds?: number }) {
    this.watches = new SourceSecrets(rest, { ...opts, metadataOnly: true });
  }

  /** Calls `listener` with the resource and namespace whose foreign Secret changed or went away. */
  onChange(listener: (name: string, namespace: string) => void): void {
    this.watches.onChange((ref) => {
      for (const owner of this.watches.usersOf(ref)) {
        const [name = '', namespace = ''] = owner.split('\0');
        listener(name, namespace);
      }
    });
  }

  /** Resource `name` found Secret `secretName` in `namespace` held by someone else: watch it. */
  watch(name: string, namespace: string, secretName: string): void {
    let mine = this.held.get(name);
    if (!mine) this.held.set(name, (mine = new Map<string, string>()));
    const ref = `${namespace}/${secretName}`;
    if (mine.get(namespace) === ref) return;
    mine.set(namespace, ref);
    this.watches.use(`${name}\0${namespace}`, [ref]);
  }

  /** The conflict of `name` in `namespace` is over (or never was). */
  release(name: string, namespace: string): void {
    const mine = this.held.get(name);
    if (!mine?.delete(namespace)) return;
    if (mine.size === 0) this.held.delete(name);
    this.watches.use(`${name}\0${namespace}`, []);
  }

  /** The resource is gone: every watch it held goes too. */
  forget(name: string): void {
    for (const namespace of [...(this.held.get(name)?.keys() ?? [])]) this.release(name, namespace);
  }

  /** Number of foreign Secrets watched (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const mine of this.held.values()) n += mine.size;
    return n;
  }

  stalled(): string[] {
    return this.watches.stalled();
  }

  stop(): Promise<void> {
    return this.watches.stop();
  }
}
