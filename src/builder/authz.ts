// Authorisation of builder requests: which ImagePullSecrets may serve a ServiceAccount for a registry or an
// image. A resource serves when its `builder.serviceAccounts` names the ServiceAccount (name `*` = any of
// the namespace) and, if it has `builder.repositories`, the request falls under one of those prefixes. For
// a bare registry (the Docker credential-helper protocol carries no repository) a prefix on the same
// registry host is enough, since registry credentials cannot be narrower than the registry anyway.
// Prefixes are plain string prefixes of the fully qualified reference `host/repository[:tag][@digest]`,
// so end a prefix with `/` to mean "below this path". Pure; the reasons go into 403 answers.
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { DOCKER_HUB_KEY, registryHost } from '../dockerconfig/index.ts';
import type { ServiceAccountRef } from './access.ts';
import { DOCKER_HUB_HOST, formatImageRef, normalizePrefix, prefixHost, type ImageRef } from './image-ref.ts';

/** What a request asks for: a registry (canonical key) or one image. */
export type Scope = { registry: string } | { image: ImageRef };

export type Authorization =
  | { allowed: true; resources: ImagePullSecret[] }
  | { allowed: false; reason: string };

export function allowsServiceAccount(ips: ImagePullSecret, sa: ServiceAccountRef): boolean {
  return (ips.spec.builder?.serviceAccounts ?? []).some((allowed) =>
    allowed.namespace === sa.namespace && (allowed.name === '*' || allowed.name === sa.name));
}

function hostOfKey(key: string): string {
  return key === DOCKER_HUB_KEY ? DOCKER_HUB_HOST : registryHost(key);
}

/** True when the resource has no repository allow-list or one of its prefixes is on the registry's host. */
export function allowsRegistry(ips: ImagePullSecret, registryKey: string): boolean {
  const prefixes = ips.spec.builder?.repositories;
  if (!prefixes || prefixes.length === 0) return true;
  const host = hostOfKey(registryKey);
  return prefixes.some((p) => prefixHost(normalizePrefix(p)) === host);
}

/** True when the resource has no repository allow-list or the fully qualified reference starts with a prefix. */
export function allowsImage(ips: ImagePullSecret, ref: ImageRef): boolean {
  const prefixes = ips.spec.builder?.repositories;
  if (!prefixes || prefixes.length === 0) return true;
  const name = formatImageRef(ref);
  return prefixes.some((p) => name.startsWith(normalizePrefix(p)));
}

/** Older resources first (then by name), the order in which resources are asked for credentials. */
export function byAge(a: ImagePullSecret, b: ImagePullSecret): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** The resources that allow `sa` at all, oldest first. Empty means the ServiceAccount gets 403 for anything. */
export function resourcesAllowing(resources: readonly ImagePullSecret[], sa: ServiceAccountRef): ImagePullSecret[] {
  return resources.filter((r) => allowsServiceAccount(r, sa)).sort(byAge);
}

/** The resources that may serve `sa` for `scope`, oldest first, or why none may. */
export function authorize(resources: readonly ImagePullSecret[], sa: ServiceAccountRef, scope: Scope): Authorization {
  const allowing = resourcesAllowing(resources, sa);
  if (allowing.length === 0) {
    return { allowed: false, reason: `no ImagePullSecret allows ServiceAccount ${sa.namespace}/${sa.name}` };
  }
  const inScope = 'registry' in scope
    ? allowing.filter((r) => allowsRegistry(r, scope.registry))
    : allowing.filter((r) => allowsImage(r, scope.image));
  if (inScope.length === 0) {
    const what = 'registry' in scope ? `registry ${hostOfKey(scope.registry)}` : formatImageRef(scope.image);
    return { allowed: false, reason: `${what} is outside the builder.repositories allowed to ServiceAccount ${sa.namespace}/${sa.name}` };
  }
  return { allowed: true, resources: inScope };
}
