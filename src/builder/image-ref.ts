// Image references as builders write them (`registry.example.com:5000/team/app:1.2@sha256:…`, `nginx`),
// parsed by the distribution reference grammar: the first path component is a registry host only when it
// contains `.` or `:`, is `localhost`, or has upper-case letters; otherwise the image lives on Docker Hub
// (`docker.io`, with `library/` for single-component names). The builder front uses the parts to pick
// credentials, match `builder.repositories` prefixes and address the registry v2 API. Pure.
import { DOCKER_HUB_KEY, normalizeRegistryKey } from '../dockerconfig/index.ts';

export const DOCKER_HUB_HOST = 'docker.io';
/** Where Docker Hub's v2 API answers. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const MAX_NAME_LENGTH = 255;

const HOST_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
export const HOST_RE = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
export const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^\w[\w.-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export interface ImageRef {
  /** The registry host (lower-case, with port), `docker.io` for Docker Hub. */
  host: string;
  /** The repository path inside the registry, e.g. `library/nginx`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export function isHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

function splitName(name: string): { host: string; path: string } | string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || !isHost(first)) {
    return { host: DOCKER_HUB_HOST, path: name.includes('/') ? name : `library/${name}` };
  }
  if (!HOST_RE.test(first)) return `"${first}" is not a registry host`;
  const host = first.toLowerCase();
  const path = name.slice(slash + 1);
  if (HUB_ALIASES.has(host)) return { host: DOCKER_HUB_HOST, path: path.includes('/') ? path : `library/${path}` };
  return { host, path };
}

/** The parsed reference, or a message saying what is wrong with it (safe to return to the caller). */
export function parseImageRef(raw: string): ImageRef | string {
  if (raw === '') return 'the image reference is empty';
  if (/\s/.test(raw)) return 'an image reference has no spaces';
  const text = raw;
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) return 'the digest is not of the form algorithm:hex';
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return 'the tag has characters a tag cannot have';
  }
  if (rest.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
  const split = splitName(rest);
  if (typeof split === 'string') return split;
  if (!split.path.split('/').every((c) => COMPONENT_RE.test(c))) return 'the repository path has characters a repository name cannot have';
  return { host: split.host, repository: split.path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** The tag or digest a manifest request names: the digest wins, `latest` when neither is given. */
export function manifestReference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host that serves the registry v2 API for `ref`. */
export function apiHost(ref: ImageRef): string {
  return ref.host === DOCKER_HUB_HOST ? DOCKER_HUB_API_HOST : ref.host;
}

/** `host/repository[:tag][@digest]`, the fully qualified form that prefixes are matched against. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.host}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The canonical registry key of the image's registry (Docker Hub: `https://index.docker.io/v1/`). */
export function registryKeyOf(ref: ImageRef): string {
  return ref.host === DOCKER_HUB_HOST ? DOCKER_HUB_KEY : (normalizeRegistryKey(ref.host) ?? ref.host);
}

/**
 * Registry keys that may hold credentials for `key`, most specific first, as the kubelet matches them:
 * `r.io/a/b` → `r.io/a/b`, `r.io/a`, `r.io`. Docker Hub has the one key.
 */
export function keyCandidates(key: string): string[] {
  if (key === DOCKER_HUB_KEY) return [key];
  const parts = key.split('/');
  const out: string[] = [];
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join('/'));
  return out;
}

/** Keys that may hold credentials for the image, most specific first. */
export function imageKeyCandidates(ref: ImageRef): string[] {
  return ref.host === DOCKER_HUB_HOST ? [DOCKER_HUB_KEY] : keyCandidates(`${registryKeyOf(ref)}/${ref.repository}`);
}

/**
 * A `builder.repositories` prefix in fully qualified form: scheme dropped, host lower-cased, Docker Hub
 * aliases written `docker.io`. A prefix without a registry host is a Docker Hub prefix.
 */
export function normalizePrefix(prefix: string): string {
  const text = prefix.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = text.indexOf('/');
  const first = slash < 0 ? text : text.slice(0, slash);
  if (!isHost(first)) return `${DOCKER_HUB_HOST}/${text}`;
  const host = HUB_ALIASES.has(first.toLowerCase()) ? DOCKER_HUB_HOST : first.toLowerCase();
  return slash < 0 ? host : `${host}${text.slice(slash)}`;
}

/** The registry host a normalised prefix names. */
export function prefixHost(normalizedPrefix: string): string {
  const slash = normalizedPrefix.indexOf('/');
  return slash < 0 ? normalizedPrefix : normalizedPrefix.slice(0, slash);
}
