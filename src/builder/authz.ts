// Authorisation of builder requests: which ImagePullSecrets may serve a ServiceAccount for a registry or an
// image. A resource serves when its `builder.serviceAccounts` names the ServiceAccount (name `*` = any of
// the namespace) and, if it has `builder.repositories`, the request falls under one of those entries.
// Entries match whole path segments of `host/repository`: `r.io/team/app` admits `r.io/team/app` and
// `r.io/team/app/cache` but not `r.io/team/appendix`; an entry ending in `/` admits only what is below it.
// A resource with an allow-list is "limited": its callers get credentials scoped to repositories
// (scoped-credentials.ts), never the registry-wide ones. Pure; the reasons go into 403 answers.
import { allowsServiceAccount, olderFirst } from '../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { DOCKER_HUB_KEY, registryHost } from '../dockerconfig/index.ts';
import type { ServiceAccountRef } from './access.ts';
import { DOCKER_HUB_HOST, formatImageRef, normalizePrefix, prefixHost, type ImageRef } from './image-ref.ts';

/** What a request asks for: a registry (canonical key) or one image. */
export type Scope = { registry: string; repositories?: string[] } | { image: ImageRef };

export type Authorization =
  | { allowed: true; resources: ImagePullSecret[] }
  | { allowed: false; reason: string };

export function hostOfKey(key: string): string {
  return key === DOCKER_HUB_KEY ? DOCKER_HUB_HOST : registryHost(key);
}

/** True when the resource has a `builder.repositories` allow-list. */
export function isLimited(ips: ImagePullSecret): boolean {
  return (ips.spec.builder?.repositories ?? []).length > 0;
}

/** True when allow-list entry `prefix` admits repository `name` (`host/repository`), by whole segments. */
export function prefixAdmits(prefix: string, name: string): boolean {
  const p = normalizePrefix(prefix);
  if (p.endsWith('/')) return name.startsWith(p);
  return name === p || name.startsWith(`${p}/`);
}

function admits(ips: ImagePullSecret, host: string, repository: string): boolean {
  return (ips.spec.builder?.repositories ?? []).some((p) => prefixAdmits(p, `${host}/${repository}`));
}

/**
 * True when the resource has no allow-list, or admits every repository named (on the registry's host), or,
 * when none is named, has an entry on the registry's host.
 */
export function allowsRegistry(ips: ImagePullSecret, registryKey: string, repositories: readonly string[] = []): boolean {
  if (!isLimited(ips)) return true;
  const host = hostOfKey(registryKey);
  if (repositories.length > 0) return repositories.every((r) => admits(ips, host, r));
  return (ips.spec.builder?.repositories ?? []).some((p) => prefixHost(normalizePrefix(p)) === host);
}

/** True when the resource has no allow-list or an entry admits the image's repository. */
export function allowsImage(ips: ImagePullSecret, ref: ImageRef): boolean {
  return !isLimited(ips) || admits(ips, ref.host, ref.repository);
}

/**
 * The repositories on `host` that the allow-list names exactly (entries not ending in `/`): what a scoped
 * credential covers when the caller names no repository. Entries ending in `/` name no repository.
 */
export function namedRepositories(ips: ImagePullSecret, host: string): string[] {
  const out: string[] = [];
  for (const p of ips.spec.builder?.repositories ?? []) {
    const n = normalizePrefix(p);
    if (!n.endsWith('/') && prefixHost(n) === host && n.length > host.length + 1) out.push(n.slice(host.length + 1));
  }
  return [...new Set(out)].sort();
}

/** The resources that allow `sa` at all, oldest first. Empty means the ServiceAccount gets 403 for anything. */
export function resourcesAllowing(resources: readonly ImagePullSecret[], sa: ServiceAccountRef): ImagePullSecret[] {
  return resources.filter((r) => allowsServiceAccount(r, sa)).sort(olderFirst);
}

/** The resources that may serve `sa` for `scope`, oldest first, or why none may. */
export function authorize(resources: readonly ImagePullSecret[], sa: ServiceAccountRef, scope: Scope): Authorization {
  const allowing = resourcesAllowing(resources, sa);
  if (allowing.length === 0) {
    return { allowed: false, reason: `no ImagePullSecret allows ServiceAccount ${sa.namespace}/${sa.name}` };
  }
  const inScope = 'registry' in scope
    ? allowing.filter((r) => allowsRegistry(r, scope.registry, scope.repositories))
    : allowing.filter((r) => allowsImage(r, scope.image));
  if (inScope.length === 0) {
    const what = 'registry' in scope
      ? (scope.repositories?.length ? `repositories ${scope.repositories.join(', ')} of ${hostOfKey(scope.registry)}` : `registry ${hostOfKey(scope.registry)}`)
      : formatImageRef(scope.image);
    return { allowed: false, reason: `${what} is outside the builder.repositories allowed to ServiceAccount ${sa.namespace}/${sa.name}` };
  }
  return { allowed: true, resources: inScope };
}
