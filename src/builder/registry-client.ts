// A registry v2 client for one question: does this manifest exist, and what is its digest? It sends
// `HEAD /v2/<repository>/manifests/<tag|digest>` with every manifest media type in Accept (an OCI index or
// a Docker manifest list is an answer too) and the resource's credentials as Basic auth. A registry that
// answers 401 with a `Bearer realm=…` challenge gets the token flow (registry-token.ts) for a pull-scoped
// token, then the HEAD again with it. A registry that leaves the digest out of its HEAD answer gets a GET,
// whose body is read as bytes up to MAX_MANIFEST_BYTES (registries refuse larger manifests themselves) and
// hashed as bytes; a larger body is an error naming the cap, never a buffer of whatever size the peer sends.
// Redirects are not followed and errors carry HTTP codes only, never credentials or response bodies.
import type { AuthEntry } from '../dockerconfig/index.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { deadline } from '../util/deadline.ts';
import { sha256Hex } from '../util/hash.ts';
import type { OutboundPolicy } from '../util/outbound.ts';
import { BodyTooLarge, discard, readCapped, type FetchLike } from '../util/fetch.ts';
import { basicHeader, bearerChallenge, RegistryError, requestToken } from './registry-token.ts';

export type { FetchLike } from '../util/fetch.ts';
export { basicCredentials, parseChallenge, RegistryError } from './registry-token.ts';

/** The manifest size limit of the distribution registry (and the OCI distribution spec's advice). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export type ManifestCheck = { exists: true; digest?: string } | { exists: false };

export interface ManifestQuery {
  /** Host (and port) serving the v2 API. */
  host: string;
  repository: string;
  /** Tag or digest, already validated by the reference grammar (it goes into the URL as is). */
  reference: string;
  entry: AuthEntry;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** Which realms beyond the registry's own host may be asked (registry-token.ts); default none. */
  outbound?: OutboundPolicy;
  /** Times the deadline and the token's lifetime; default realClock. */
  clock?: Clock;
}

/** HEAD on the manifest; see the file comment for the authentication flow. */
export async function checkManifest(query: ManifestQuery): Promise<ManifestCheck> {
  const fetchFn: FetchLike = query.fetch ?? (globalThis.fetch);
  const ms = query.timeoutMs ?? 15_000;
  const { signal, clear } = deadline({ clock: query.clock ?? realClock, ms, timeoutError: () => new RegistryError(`no answer within ${String(ms / 1000)} s`) });
  const url = `https://${query.host}/v2/${query.repository}/manifests/${query.reference}`;
  const send = (method: string, authorization: string): ReturnType<FetchLike> =>
    fetchFn(url, { method, headers: { Accept: MANIFEST_ACCEPT, Authorization: authorization }, redirect: 'manual', signal });
  try {
    let authorization = basicHeader(query.entry);
    let res = await send('HEAD', authorization);
    await discard(res);
    const challenge = res.status === 401 ? bearerChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge) {
      const { token } = await requestToken(fetchFn, challenge, query.entry, [`repository:${query.repository}:pull`], signal,
        { registry: query.host, ...(query.outbound ? { outbound: query.outbound } : {}), ...(query.clock ? { clock: query.clock } : {}) });
      authorization = `Bearer ${token}`;
      res = await send('HEAD', authorization);
      await discard(res);
    }
    if (res.status === 404) return { exists: false };
    if (res.status !== 200) throw new RegistryError(`the registry answered HTTP ${res.status}`);
    const digest = res.headers.get('docker-content-digest');
    if (digest) return { exists: true, digest };
    // Some registries leave the digest out of HEAD answers; the digest of the bytes a GET returns is it.
    const full = await send('GET', authorization);
    if (full.status !== 200) {
      await discard(full);
      return { exists: true };
    }
    const bytes = await readCapped(full, MAX_MANIFEST_BYTES, 'manifest');
    return { exists: true, digest: `sha256:${sha256Hex(bytes)}` };
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    if (err instanceof BodyTooLarge) throw new RegistryError(`${err.message}: the registry at ${query.host} sent more than registries accept`);
    throw new RegistryError(`the registry at ${query.host} is unreachable`);
  } finally {
    clear();
  }
}
