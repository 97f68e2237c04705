// The `serverURL` of a credentials request, parsed by the same grammar as image references (the
// Distribution reference grammar): a registry host with an optional port, optionally a repository path,
// optionally behind `https://`. Docker clients send `host`, `https://host` or Docker Hub's
// `https://index.docker.io/v1/`; nothing else is accepted. Each rejection names the rule it broke, so a
// 400 answer tells the caller what to fix. Pure.
import { DOCKER_HUB_KEY, normalizeRegistryKey } from '../dockerconfig/index.ts';
import { COMPONENT_RE, DOCKER_HUB_HOST, HOST_RE, HUB_ALIASES } from './image-ref.ts';

export interface ServerURL {
  /** Lower-case registry host with port; `docker.io` for every Docker Hub alias. */
  host: string;
  /** The repository path the URL names, if any (`team/app` of `r.io/team/app`). */
  repository?: string;
  /** The canonical registry key credentials are stored under (see normalizeRegistryKey). */
  key: string;
}

const SCHEME_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
/** The API version suffix clients append (`https://index.docker.io/v1/`): names no repository. */
const VERSION_RE = /^v[12]$/;

/** `raw` without its `https://`, or the rule the scheme breaks. */
function stripScheme(raw: string): string | { error: string } {
  const scheme = SCHEME_RE.exec(raw);
  if (!scheme) return raw;
  if (scheme[1]?.toLowerCase() !== 'https') return { error: 'serverURL may only use the https scheme' };
  return raw.slice(scheme[0].length);
}

/** The repository path's segments, or the rule they break. */
function pathSegments(path: string): string[] | { error: string } {
  const segments = path === '' ? [] : path.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return { error: 'serverURL has no dot segments (. or ..)' };
  if (!segments.every((s) => COMPONENT_RE.test(s))) return { error: 'the serverURL path must be a repository name (lower-case letters, digits, separators)' };
  return segments.length === 1 && VERSION_RE.test(segments[0] ?? '') ? [] : segments;
}

function serverURL(host: string, repository: string): ServerURL {
  if (host === DOCKER_HUB_HOST) {
    if (repository === '') return { host, key: DOCKER_HUB_KEY };
    return { host, repository: repository.includes('/') ? repository : `library/${repository}`, key: DOCKER_HUB_KEY };
  }
  const key = normalizeRegistryKey(repository === '' ? host : `${host}/${repository}`) ?? host;
  return repository === '' ? { host, key } : { host, repository, key };
}

/** The parsed serverURL, or the rule it breaks (a message safe to return; it never echoes the input). */
export function parseServerURL(raw: string): ServerURL | string {
  if (raw === '') return 'serverURL is empty';
  if (/\s/.test(raw)) return 'serverURL has no spaces';
  const rest = stripScheme(raw);
  if (typeof rest !== 'string') return rest.error;
  if (/[?#]/.test(rest)) return 'serverURL has no query or fragment';
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  if (authority.includes('@')) return 'serverURL has no user information (user@host)';
  if (!HOST_RE.test(authority)) return 'serverURL must start with a registry host, optionally with :port';
  const host = HUB_ALIASES.has(authority.toLowerCase()) ? DOCKER_HUB_HOST : authority.toLowerCase();
  const segments = pathSegments(slash < 0 ? '' : rest.slice(slash + 1).replace(/\/$/, ''));
  if (!Array.isArray(segments)) return segments.error;
  return serverURL(host, segments.join('/'));
}
