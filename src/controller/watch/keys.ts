// Work-queue keys. One queue carries two kinds of work:
// - `ips/<cr>`: the resource as a whole (sources, finalizer, status),
// - `target/<cr>/<namespace>`: the Secret of one resource in one namespace.
// Names of cluster-scoped resources and namespaces never contain `/`, so the encoding is unambiguous.

export type WorkKey = { kind: 'ips'; name: string } | { kind: 'target'; name: string; namespace: string };

export function ipsKey(name: string): string {
  return `ips/${name}`;
}

export function targetKey(name: string, namespace: string): string {
  return `target/${name}/${namespace}`;
}

export function parseKey(key: string): WorkKey | undefined {
  const [kind, name, namespace, ...rest] = key.split('/');
  if (rest.length > 0 || !name) return undefined;
  if (kind === 'ips' && namespace === undefined) return { kind, name };
  if (kind === 'target' && namespace) return { kind, name, namespace };
  return undefined;
}
