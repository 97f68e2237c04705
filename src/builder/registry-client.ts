// A registry v2 client for one question: does this manifest exist, and what is its digest? It sends
// `HEAD /v2/<repository>/manifests/<tag|digest>` with every manifest media type in Accept (an OCI index or
// a Docker manifest list is an answer too) and the resource's credentials as Basic auth. A registry that
// answers 401 with a `Bearer realm=…` challenge gets the token flow registries use: a pull-scoped token
// from the realm (GET with Basic auth, or the OAuth2 refresh-token grant for identity tokens), then the
// HEAD again with that token. Redirects are not followed, realms must be https, and errors carry HTTP
// codes only, never credentials or response bodies.
import { createHash } from 'node:crypto';
import type { AuthEntry } from '../dockerconfig/index.ts';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** The subset of WHATWG fetch this client uses; `globalThis.fetch` fits, and tests inject their own. */
export type FetchLike = (url: string, init: {
  method: string;
  headers: Record<string, string>;
  body?: string;
  redirect?: 'manual';
  signal?: AbortSignal;
}) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export type ManifestCheck = { exists: true; digest?: string } | { exists: false };

/** The registry could not answer the question; `message` is safe to return to the caller. */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface ManifestQuery {
  /** Host (and port) serving the v2 API. */
  host: string;
  repository: string;
  /** Tag or digest, already validated by the reference grammar (it goes into the URL as is). */
  reference: string;
  entry: AuthEntry;
  fetch?: FetchLike;
  timeoutMs?: number;
}

/** username/password of an entry: explicit fields first, else decoded from `auth`. */
export function basicCredentials(entry: AuthEntry): { username: string; password: string } {
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  const text = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return { username: text.slice(0, Math.max(0, colon)), password: text.slice(colon + 1) };
}

/** The scheme and parameters of a WWW-Authenticate header (`Bearer realm="…",service="…"`). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of (space < 0 ? '' : header.slice(space + 1)).matchAll(re)) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme, params };
}

async function bearerToken(fetchFn: FetchLike, challenge: Record<string, string>, query: ManifestQuery, signal: AbortSignal): Promise<string> {
  const realm = challenge.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
  } catch {
    throw new RegistryError('the registry asked for a token from an invalid realm');
  }
  if (url.protocol !== 'https:' || url.username || url.password) throw new RegistryError('the registry asked for a token from a non-https realm');
  const scope = `repository:${query.repository}:pull`;
  const service = challenge.service;
  let res;
  if (query.entry.identitytoken !== undefined) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: query.entry.identitytoken, scope, client_id: 'pullsecret-sync' });
    if (service !== undefined) form.set('service', service);
    res = await fetchFn(url.toString(), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), redirect: 'manual', signal });
  } else {
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const { username, password } = basicCredentials(query.entry);
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    res = await fetchFn(url.toString(), { method: 'GET', headers: { Authorization: `Basic ${basic}` }, redirect: 'manual', signal });
  }
  if (res.status !== 200) throw new RegistryError(`the registry's token service answered HTTP ${res.status}`);
  let body: { token?: unknown; access_token?: unknown };
  try {
    body = JSON.parse(await res.text()) as typeof body;
  } catch {
    throw new RegistryError("the registry's token service answered with something that is not JSON");
  }
  const token = typeof body.token === 'string' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '') throw new RegistryError("the registry's token service returned no token");
  return token;
}

function basicHeader(entry: AuthEntry): string {
  if (entry.username !== undefined && entry.password !== undefined) {
    return `Basic ${Buffer.from(`${entry.username}:${entry.password}`).toString('base64')}`;
  }
  return `Basic ${entry.auth}`;
}

/** HEAD on the manifest; see the file comment for the authentication flow. */
export async function checkManifest(query: ManifestQuery): Promise<ManifestCheck> {
  const fetchFn: FetchLike = query.fetch ?? globalThis.fetch;
  const signal = AbortSignal.timeout(query.timeoutMs ?? 15_000);
  const url = `https://${query.host}/v2/${query.repository}/manifests/${query.reference}`;
  const send = (method: string, authorization: string): ReturnType<FetchLike> =>
    fetchFn(url, { method, headers: { Accept: MANIFEST_ACCEPT, Authorization: authorization }, redirect: 'manual', signal });
  try {
    let authorization = basicHeader(query.entry);
    let res = await send('HEAD', authorization);
    const challenge = res.status === 401 ? parseChallenge(res.headers.get('www-authenticate') ?? '') : undefined;
    if (challenge?.scheme === 'bearer') {
      authorization = `Bearer ${await bearerToken(fetchFn, challenge.params, query, signal)}`;
      res = await send('HEAD', authorization);
    }
    if (res.status === 404) return { exists: false };
    if (res.status !== 200) throw new RegistryError(`the registry answered HTTP ${res.status}`);
    const digest = res.headers.get('docker-content-digest');
    if (digest) return { exists: true, digest };
    // Some registries leave the digest out of HEAD answers; the digest of the bytes a GET returns is it.
    const full = await send('GET', authorization);
    if (full.status !== 200) return { exists: true };
    return { exists: true, digest: `sha256:${createHash('sha256').update(await full.text()).digest('hex')}` };
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError(`the registry at ${query.host} is unreachable`);
  }
}
