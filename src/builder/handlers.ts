// The three authenticated operations of the builder front, each called with the caller's ServiceAccount
// and the ImagePullSecrets that allow it (never empty: the server answered 403 before any registry was
// looked at). Each one parses its input (400), narrows the resources by `builder.repositories` (403),
// picks the first resource, oldest first, that holds credentials for the registry (404), and only then
// contacts that registry. Replies carry credentials only in the credentials answer; every error message
// is safe to show (no credentials, no registry response bodies).
import type { ImagePullSecret } from '../api/v1alpha1/types.ts';
import { normalizeRegistryKey } from '../dockerconfig/index.ts';
import type { BuilderAccess, EcrRepositories, RegistryCredentials, ServiceAccountRef } from './access.ts';
import { authorize, type Scope } from './authz.ts';
import { EcrRepositoryError, parseEcrHost } from './ecr-repositories.ts';
import { apiHost, formatImageRef, imageKeyCandidates, keyCandidates, manifestReference, parseImageRef, registryKeyOf, type ImageRef } from './image-ref.ts';
import { basicCredentials, checkManifest, RegistryError, type FetchLike } from './registry-client.ts';

const MAX_INPUT = 2048;

/** An answer other than 200, with a message safe to return. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HandlerContext {
  access: BuilderAccess;
  ecr?: EcrRepositories;
  fetch?: FetchLike;
  registryTimeoutMs?: number;
}

export interface Caller {
  sa: ServiceAccountRef;
  /** The resources that allow the ServiceAccount; not empty. */
  resources: ImagePullSecret[];
}

function field(body: unknown, name: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new HttpError(400, `the request body needs a string field "${name}"`);
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

/** `POST /v1/credentials {"serverURL"}` → `{ServerURL, Username, Secret, expiresAt?}`. */
export function credentials(ctx: HandlerContext, caller: Caller, body: unknown): Record<string, string> {
  const serverURL = field(body, 'serverURL');
  const key = normalizeRegistryKey(serverURL);
  if (!key) throw new HttpError(400, '"serverURL" names no registry');
  const found = findCredentials(ctx.access, inScope(caller, { registry: key }), keyCandidates(key));
  if (!found) throw new HttpError(404, 'no credentials for that registry');
  const expiresAt = found.creds.expiresAt;
  return { ServerURL: serverURL, ...helperFields(found.creds), ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
}

/** `GET /v1/images?ref=` → `{exists, digest?}` from a HEAD on the manifest with the resource's credentials. */
export async function images(ctx: HandlerContext, caller: Caller, rawRef: string | null): Promise<{ exists: boolean; digest?: string }> {
  if (rawRef === null || rawRef.trim() === '') throw new HttpError(400, 'the query needs a "ref" parameter');
  if (rawRef.length > MAX_INPUT) throw new HttpError(400, `"ref" is longer than ${MAX_INPUT} characters`);
  const ref = imageRef(rawRef);
  const found = findCredentials(ctx.access, inScope(caller, { image: ref }), imageKeyCandidates(ref));
  if (!found) throw new HttpError(404, 'no credentials for that registry');
  try {
    return await checkManifest({
      host: apiHost(ref), repository: ref.repository, reference: manifestReference(ref), entry: found.creds.entry,
      ...(ctx.fetch ? { fetch: ctx.fetch } : {}), ...(ctx.registryTimeoutMs ? { timeoutMs: ctx.registryTimeoutMs } : {}),
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
