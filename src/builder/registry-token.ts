// The Distribution token protocol (https://distribution.github.io/distribution/spec/auth/token/), from the
// client's side: a registry that answers 401 with `WWW-Authenticate: Bearer realm=…,service=…` issues
// bearer tokens at its realm for the scopes a client asks (`repository:<name>:pull,push`). The daemon asks
// with the resource's credentials: Basic auth on a GET, or the OAuth2 refresh-token grant when it holds an
// identity token. Used for the pull-scoped token of a manifest check and for the repository-scoped tokens
// handed to limited callers. The realm is named by whoever runs the registry, which the resource's author
// chose, so it is held to the daemon's outbound policy (util/outbound.ts, docs/security.md): https without
// userinfo, on the registry's own host and port, a known token service of a public registry, or a host
// that --outbound-hosts lists. Redirects are not followed, answers are read with a size cap, and errors
// carry HTTP codes only, never credentials, response bodies or the realm.
import { decodeAuth, encodeAuth, type AuthEntry } from '../dockerconfig/index.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { PUBLIC_ONLY, type OutboundPolicy } from '../util/outbound.ts';
import { BodyTooLarge, discard, readCapped, type FetchLike, type FetchResponse } from '../util/fetch.ts';

/** A token answer is a few KiB; anything larger is not a token service speaking the protocol. */
const MAX_TOKEN_ANSWER = 1024 * 1024;
/** The protocol's default lifetime when the realm states none (`expires_in` absent). */
const DEFAULT_EXPIRES_IN_S = 60;

/** The registry could not answer the question; `message` is safe to return to the caller. */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface BearerChallenge { realm: string; service?: string }

/** username/password of an entry: explicit fields first, else decoded from `auth`. */
export function basicCredentials(entry: AuthEntry): { username: string; password: string } {
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return decodeAuth(entry.auth) ?? { username: '', password: '' };
}

/** The Basic Authorization header of an entry. */
export function basicHeader(entry: AuthEntry): string {
  const { username, password } = entry;
  return `Basic ${username !== undefined && password !== undefined ? encodeAuth(username, password) : entry.auth}`;
}

/** The scheme and parameters of a WWW-Authenticate header (`Bearer realm="…",service="…"`). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const re = /([A-Za-z][\w-]*)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of (space < 0 ? '' : header.slice(space + 1)).matchAll(re)) {
    const key = (m[1] ?? '').toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme, params };
}

/** The Bearer challenge of a 401 answer, or undefined when the registry asks for something else. */
export function bearerChallenge(header: string | null): BearerChallenge | undefined {
  const { scheme, params } = parseChallenge(header ?? '');
  if (scheme !== 'bearer' || !Object.hasOwn(params, 'realm')) return undefined;
  const realm = params.realm ?? '';
  return Object.hasOwn(params, 'service') ? { realm, service: params.service ?? '' } : { realm };
}

/**
 * The registry's Bearer challenge from an anonymous `GET /v2/`, or undefined when it does not speak token
 * auth (Basic, or no authentication at all).
 */
export async function discoverChallenge(fetchFn: FetchLike, host: string, signal: AbortSignal): Promise<BearerChallenge | undefined> {
  const res = await fetchFn(`https://${host}/v2/`, { method: 'GET', headers: {}, redirect: 'manual', signal });
  await discard(res);
  return res.status === 401 ? bearerChallenge(res.headers.get('www-authenticate')) : undefined;
}

export interface RegistryToken { token: string; expiresAt: Date }

/** Token services of public registries that live on another host than the registry. */
const KNOWN_REALM_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'docker.io': ['auth.docker.io'],
  'index.docker.io': ['auth.docker.io'],
  'registry-1.docker.io': ['auth.docker.io'],
  'registry.gitlab.com': ['gitlab.com'],
};

/** Where a realm is asked: for which registry host (and port), under which outbound policy. */
export interface RealmContext {
  /** The registry's `host[:port]`, as the daemon contacted it. */
  registry: string;
  outbound?: OutboundPolicy;
  /** The clock the answer's lifetime counts from; default realClock. */
  clock?: Clock;
}

/** Why the daemon will not ask `realm` on behalf of `registry`, or undefined when it may. Names no value. */
export function realmProblem(realm: string, registry: string, outbound: OutboundPolicy = PUBLIC_ONLY): string | undefined {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return 'the registry asked for a token from an invalid realm';
  }
  if (url.protocol !== 'https:' || url.username || url.password) return 'the registry asked for a token from a non-https realm';
  let own: URL | undefined;
  try {
    own = new URL(`https://${registry}/`);
  } catch {
    own = undefined;
  }
  if (own?.host === url.host) return undefined;
  const refused = outbound.urlProblem('realm', realm, own ? KNOWN_REALM_HOSTS[own.hostname] ?? [] : []);
  return refused === undefined ? undefined : 'the registry asked for a token from a realm on another host, which --outbound-hosts does not list';
}

function realmURL(realm: string, at: RealmContext): URL {
  const problem = realmProblem(realm, at.registry, at.outbound);
  if (problem) throw new RegistryError(problem);
  return new URL(realm);
}

/** The realm's answer: OAuth2 refresh-token grant for identity tokens, else a GET with Basic auth. */
function askRealm(fetchFn: FetchLike, challenge: BearerChallenge, entry: AuthEntry, scopes: string[], signal: AbortSignal, at: RealmContext): ReturnType<FetchLike> {
  const url = realmURL(challenge.realm, at);
  if (entry.identitytoken !== undefined) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: entry.identitytoken, scope: scopes.join(' '), client_id: 'pullsecret-sync' });
    if (challenge.service !== undefined) form.set('service', challenge.service);
    return fetchFn(url.toString(), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), redirect: 'manual', signal });
  }
  if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return fetchFn(url.toString(), { method: 'GET', headers: { Authorization: basicHeader(entry) }, redirect: 'manual', signal });
}

type TokenAnswer = { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };

async function tokenAnswer(res: FetchResponse): Promise<TokenAnswer> {
  if (res.status !== 200) {
    await discard(res);
    throw new RegistryError(`the registry's token service answered HTTP ${res.status}`);
  }
  let bytes: Buffer;
  try {
    bytes = await readCapped(res, MAX_TOKEN_ANSWER, "token service's answer");
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new RegistryError(err.message);
    throw err;
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as TokenAnswer;
  } catch {
    throw new RegistryError("the registry's token service answered with something that is not JSON");
  }
}

/** Asks the realm for a token covering `scopes`, with the entry's credentials, if the outbound policy allows it. */
export async function requestToken(fetchFn: FetchLike, challenge: BearerChallenge, entry: AuthEntry, scopes: string[], signal: AbortSignal, at: RealmContext): Promise<RegistryToken> {
  const now = (at.clock ?? realClock).nowMs();
  const body = await tokenAnswer(await askRealm(fetchFn, challenge, entry, scopes, signal, at));
  const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '') throw new RegistryError("the registry's token service returned no token");
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN_S;
  const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
  return { token, expiresAt: new Date((Number.isFinite(issued) ? Math.min(issued, now) : now) + expiresIn * 1000) };
}
