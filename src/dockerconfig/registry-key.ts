// Registry keys of a docker config: the many spellings of one registry become one key.
// `https://r.io`, `r.io` and `r.io/` are the same registry; every Docker Hub alias is written as
// `https://index.docker.io/v1/`, the key docker and the kubelet look up. Paths are kept (`gcr.io/proj`),
// since the kubelet matches keys with paths. Pure.

export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The longest registry key: an image name, registry host included, is at most 255 characters (the
 * distribution reference grammar), so a longer key can match no image. Keys are checked before they are
 * normalised, allowing for a scheme and a `/v1/` suffix.
 */
export const MAX_REGISTRY_KEY_LENGTH = 255;
const MAX_RAW_KEY_LENGTH = MAX_REGISTRY_KEY_LENGTH + 'https://'.length + '/v1/'.length;

/** Why `raw` is too long to be a registry key (its length, never its text), or undefined when it is not. */
export function keyLengthProblem(raw: string): string | undefined {
  const key = raw.trim();
  if (key.length <= MAX_REGISTRY_KEY_LENGTH) return undefined;
  const canonical = key.length <= MAX_RAW_KEY_LENGTH ? normalizeRegistryKey(key) : undefined;
  if (canonical !== undefined && canonical.length <= MAX_REGISTRY_KEY_LENGTH) return undefined;
  return `is ${String(key.length)} characters long; a registry key has at most ${String(MAX_REGISTRY_KEY_LENGTH)} (the longest image name)`;
}

/** Whether `raw` carries user information (`user:password@host`): credentials in a key, never valid. */
export function hasUserInfo(raw: string): boolean {
  const rest = raw.trim().replace(SCHEME, '');
  const slash = rest.indexOf('/');
  return (slash < 0 ? rest : rest.slice(0, slash)).includes('@');
}

/** The canonical key for `raw`, or undefined when `raw` names no registry (or carries user information). */
export function normalizeRegistryKey(raw: string): string | undefined {
  if (hasUserInfo(raw)) return undefined;
  let key = raw.trim().replace(SCHEME, '');
  key = key.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  const slash = key.indexOf('/');
  const host = (slash < 0 ? key : key.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : key.slice(slash);
  if (!host || /\s/.test(host)) return undefined;
  if (DOCKER_HUB_HOSTS.has(host) && path === '') return DOCKER_HUB_KEY;
  return host + path;
}

/** The host part of a canonical key, as a client dials it. */
export function registryHost(key: string): string {
  if (key === DOCKER_HUB_KEY) return 'index.docker.io';
  const slash = key.indexOf('/');
  return slash < 0 ? key : key.slice(0, slash);
}
