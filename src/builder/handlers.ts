// The three authenticated operations of the builder front, each called with the caller's ServiceAccount
// and the ImagePullSecrets that allow it (never empty: the server answered 403 before any registry was
// looked at). Each one parses its input by the reference grammar (400 naming the rule broken), narrows the
// resources by `builder.repositories` (403), picks the first resource, oldest first, that holds
// credentials for the registry (404), and only then contacts that registry. A resource with an allow-list
// answers with a credential scoped to repositories (scoped-credentials.ts), never its own. Replies carry
// credentials only in the credentials answer; every error message is safe to show (no credentials, no
// registry response bodies).
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import type { BuilderAccess, EcrRepositories, RegistryCredentials, ServiceAccountRef } from './access.ts';
import { authorize, isLimited, namedRepositories, type Scope } from './authz.ts';
import { EcrRepositoryError, parseEcrHost } from './ecr-repositories.ts';
import { apiHost, COMPONENT_RE, DOCKER_HUB_API_HOST, DOCKER_HUB_HOST, formatImageRef, imageKeyCandidates, keyCandidates, manifestReference, normalizePrefix, parseImageRef, prefixHost, registryKeyOf, type ImageRef } from './image-ref.ts';
import { basicCredentials, checkManifest, RegistryError, type FetchLike } from './registry-client.ts';
import { ScopeUnsupported, type CredentialScoper } from './scoped-credentials.ts';
import { parseServerURL, type ServerURL } from './server-url.ts';
import type { OutboundPolicy } from '../util/outbound.ts';

const MAX_INPUT = 2048;
/** Repositories one scoped credential may name. */
const MAX_REPOSITORIES = 20;

/** An answer other than 200, with a message safe to return. */
export class HttpError extends Error {
  /** `retryAfterS` goes into a Retry-After header (429 and 503 answers). */
  constructor(readonly status: number, message: string, readonly retryAfterS?: number) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HandlerContext {
  access: BuilderAccess;
  ecr?: EcrRepositories;
  /** Narrows credentials for limited callers; without it, limited callers get 403 for credentials. */
  scoper?: CredentialScoper;
  fetch?: FetchLike;
  registryTimeoutMs?: number;
  /** Which token realms beyond a registry's own host the daemon may ask (registry-token.ts). */
  outbound?: OutboundPolicy;
}

export interface Caller {
  sa: ServiceAccountRef;
  /** The resources that allow the ServiceAccount; not empty. */
  resources: ImagePullSecret[];
}

function field(body: unknown, name: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `the request body needs a string field "${name}"`);
  if (value.length > MAX_INPUT) throw new HttpError(400, `"${name}" is longer than ${MAX_INPUT} characters`);
  return value;
}

function imageRef(raw: string): ImageRef {
  const ref = parseImageRef(raw);
  if (typeof ref === 'string') throw new HttpError(400, `invalid image reference: ${ref}`);
  return ref;
}

function inScope(caller: Caller, scope: Scope): ImagePullSecret[] {
  const decision = authorize(caller.resources, caller.sa, scope);
  if (!decision.allowed) throw new HttpError(403, decision.reason);
  return decision.resources;
}

/** The first resource (in order) with credentials under one of `keys` (most specific key first). */
function findCredentials(access: BuilderAccess, resources: ImagePullSecret[], keys: string[]): { ips: ImagePullSecret; creds: RegistryCredentials } | undefined {
  for (const ips of resources) {
    for (const key of keys) {
      const creds = access.credentials(ips.metadata.name, key);
      if (creds) return { ips, creds };
    }
  }
  return undefined;
}

/** Docker credential-helper fields of an entry; an identity token travels as Username `<token>`. */
function helperFields(creds: RegistryCredentials): { Username: string; Secret: string } {
  const { entry } = creds;
  if (entry.identitytoken !== undefined && entry.password === undefined) return { Username: '<token>', Secret: entry.identitytoken };
  const { username, password } = basicCredentials(entry);
  return { Username: username, Secret: password };
}

function serverURLOf(raw: string): ServerURL {
  const parsed = parseServerURL(raw);
  if (typeof parsed === 'string') throw new HttpError(400, parsed);
  return parsed;
}

/** The repositories a credentials request names: the serverURL's path and the optional "repositories" list. */
function requestedRepositories(url: ServerURL, body: unknown): string[] {
  const list = body && typeof body === 'object' ? (body as Record<string, unknown>).repositories : undefined;
  if (list !== undefined && (!Array.isArray(list) || list.length > MAX_REPOSITORIES || !list.every((r) => typeof r === 'string'))) {
    throw new HttpError(400, `"repositories" must be a list of at most ${MAX_REPOSITORIES} repository names`);
  }
  const names = [...(url.repository === undefined ? [] : [url.repository]), ...((list ?? []))];
  for (const name of names) {
    if (name.length > MAX_INPUT || !name.split('/').every((c) => COMPONENT_RE.test(c))) {
      throw new HttpError(400, 'a repository name is lower-case path components (letters, digits, separators), no dot segments');
    }
  }
  return [...new Set(names)].sort();
}

/** A credential scoped to repositories for a limited resource (see scoped-credentials.ts). */
async function scoped(ctx: HandlerContext, ips: ImagePullSecret, url: ServerURL, creds: RegistryCredentials, requested: string[]): Promise<Record<string, string | string[]>> {
  const repositories = requested.length > 0 ? requested : namedRepositories(ips, url.host);
  const prefixes = (ips.spec.builder?.repositories ?? []).map(normalizePrefix).filter((p) => prefixHost(p) === url.host);
  if (!ctx.scoper) throw new HttpError(403, 'this ServiceAccount is limited to repositories and this server cannot narrow credentials');
  try {
    const host = url.host === DOCKER_HUB_HOST ? DOCKER_HUB_API_HOST : url.host;
    const token = await ctx.scoper.scope({ ips, host, entry: creds.entry, repositories, prefixes });
    if (token.login) return { Username: token.login.username, Secret: token.login.password, Repositories: repositories, expiresAt: token.expiresAt.toISOString() };
    return { RegistryToken: token.token, Repositories: repositories, expiresAt: token.expiresAt.toISOString() };
  } catch (err) {
    if (err instanceof ScopeUnsupported) throw new HttpError(403, `this ServiceAccount is limited to repositories: ${err.message}`);
    if (err instanceof RegistryError) throw new HttpError(502, err.message);
    throw new HttpError(502, `the registry at ${url.host} is unreachable`);
  }
}

/**
 * `POST /v1/credentials {"serverURL", "repositories"?}` → `{ServerURL, Username, Secret, expiresAt?}`, or
 * for a caller limited by `builder.repositories`, `{ServerURL, RegistryToken, Repositories, expiresAt}`.
 */
export async function credentials(ctx: HandlerContext, caller: Caller, body: unknown): Promise<Record<string, string | string[]>> {
  const serverURL = field(body, 'serverURL');
  const url = serverURLOf(serverURL);
  const requested = requestedRepositories(url, body);
  const found = findCredentials(ctx.access, inScope(caller, { registry: url.key, repositories: requested }), keyCandidates(url.key));
  if (!found) throw new HttpError(404, 'no credentials for that registry');
  if (isLimited(found.ips)) return { ServerURL: serverURL, ...(await scoped(ctx, found.ips, url, found.creds, requested)) };
  const expiresAt = found.creds.expiresAt;
  return { ServerURL: serverURL, ...helperFields(found.creds), ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
}

/** `GET /v1/images?ref=` → `{exists, digest?}` from a HEAD on the manifest with the resource's credentials. */
export async function images(ctx: HandlerContext, caller: Caller, rawRef: string | null): Promise<{ exists: boolean; digest?: string }> {
  if (rawRef === null || rawRef === '') throw new HttpError(400, 'the query needs a "ref" parameter');
  if (rawRef.length > MAX_INPUT) throw new HttpError(400, `"ref" is longer than ${MAX_INPUT} characters`);
  const ref = imageRef(rawRef);
  const found = findCredentials(ctx.access, inScope(caller, { image: ref }), imageKeyCandidates(ref));
  if (!found) throw new HttpError(404, 'no credentials for that registry');
  try {
    return await checkManifest({
      host: apiHost(ref), repository: ref.repository, reference: manifestReference(ref), entry: found.creds.entry,
      ...(ctx.fetch ? { fetch: ctx.fetch } : {}), ...(ctx.registryTimeoutMs ? { timeoutMs: ctx.registryTimeoutMs } : {}),
      ...(ctx.outbound ? { outbound: ctx.outbound } : {}),
    });
  } catch (err) {
    if (err instanceof RegistryError) throw new HttpError(502, err.message);
    throw err;
  }
}

/** `POST /v1/repositories {"ref"}` → `{registry, repository, created}` after ensuring the ECR repository. */
export async function repositories(ctx: HandlerContext, caller: Caller, body: unknown): Promise<{ registry: string; repository: string; created: boolean }> {
  const ref = imageRef(field(body, 'ref'));
  if (!parseEcrHost(ref.host)) throw new HttpError(400, `${ref.host} is not an ECR registry; only ECR repositories are created`);
  const allowed = inScope(caller, { image: ref });
  const withCredentials = allowed.filter((ips) => findCredentials(ctx.access, [ips], [registryKeyOf(ref)]));
  if (withCredentials.length === 0) throw new HttpError(404, 'no credentials for that registry');
  const ips = withCredentials.find((r) => r.spec.builder?.ecrRepositoryCreation?.enabled === true);
  if (!ips) throw new HttpError(403, `repository creation is not enabled for ${formatImageRef(ref)}`);
  if (!ctx.ecr) throw new HttpError(501, 'ECR repository creation is not configured on this server');
  try {
    const { created } = await ctx.ecr.ensure(ips, ref.host, ref.repository);
    return { registry: ref.host, repository: ref.repository, created };
  } catch (err) {
    if (err instanceof EcrRepositoryError) throw new HttpError(502, err.message);
    throw err;
  }
}
