// Azure's Instance Metadata Service token endpoint on loopback HTTP, as MSAL's managed identity (IMDS
// source) calls it: `GET /metadata/identity/oauth2/token?api-version=…&resource=<resource>`, header
// `Metadata: true`, and `client_id=<id>` for a user-assigned identity (none: the system-assigned one).
// The token is minted by the fake Entra (`issue`), as IMDS hands out Entra tokens, so the fake ACR
// exchange accepts it. Answers IMDS's shape (numbers as strings) or {error, error_description}. Point
// @azure/identity at it with AZURE_POD_IDENTITY_AUTHORITY_HOST=<url>.
import { handle, listen, sendJson, type FakeServer } from './server.ts';
import type { FakeEntra } from './entra.ts';

export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';

export interface ImdsOptions {
  entra: FakeEntra;
  /** Client ID of the system-assigned identity; none: only user-assigned ones. */
  systemAssigned?: string;
  /** Client IDs of the user-assigned identities attached to this "VM". */
  userAssigned?: string[];
}

export interface FakeImds extends FakeServer {
  /** Access tokens handed out, oldest first. */
  readonly issued: readonly string[];
  /** The query of the last token request. */
  readonly lastQuery: Readonly<Record<string, string>> | undefined;
  /** Token requests refused (no Metadata header, no resource, unknown identity). */
  readonly rejected: number;
}

export async function startImds(opts: ImdsOptions): Promise<FakeImds> {
  const userAssigned = new Set(opts.userAssigned ?? []);
  const issued: string[] = [];
  const state = { fail: false, requests: 0, rejected: 0 };
  let lastQuery: Record<string, string> | undefined;

  /** The identity a request names, or why it is refused. */
  const identityOf = (query: URLSearchParams, metadataHeader: unknown): { clientID: string } | { refused: string } => {
    if (metadataHeader !== 'true') return { refused: 'Required metadata header not specified' };
    if (!query.get('api-version')) return { refused: 'Required queryparam api-version not specified' };
    if (!query.get('resource')) return { refused: 'Required queryparam resource not specified' };
    const requested = query.get('client_id');
    if (requested !== null) return userAssigned.has(requested) ? { clientID: requested } : { refused: 'Identity not found' };
    return opts.systemAssigned ? { clientID: opts.systemAssigned } : { refused: 'Identity not found' };
  };

  const listening = await listen(handle((req, res) => {
    const url = new URL(req.url ?? '/', 'http://169.254.169.254');
    // MSAL canonicalizes the endpoint from AZURE_POD_IDENTITY_AUTHORITY_HOST with a trailing slash.
    if (req.method !== 'GET' || url.pathname.replace(/\/$/, '') !== IMDS_TOKEN_PATH) {
      sendJson(res, 404, { error: 'not_found', error_description: 'Not found' });
      return Promise.resolve();
    }
    state.requests++;
    lastQuery = Object.fromEntries(url.searchParams.entries());
    if (state.fail) {
      sendJson(res, 500, { error: 'unknown', error_description: 'IMDS failure (test)' });
      return Promise.resolve();
    }
    const identity = identityOf(url.searchParams, req.headers.metadata);
    if ('refused' in identity) {
      state.rejected++;
      sendJson(res, 400, { error: 'invalid_request', error_description: identity.refused });
      return Promise.resolve();
    }
    const resource = url.searchParams.get('resource') ?? '';
    const { token, expiresIn } = opts.entra.issue(identity.clientID, resource.replace(/\/$/, ''));
    issued.push(token);
    const now = Math.floor(Date.now() / 1000);
    sendJson(res, 200, {
      access_token: token, client_id: identity.clientID, expires_in: String(expiresIn), expires_on: String(now + expiresIn),
      ext_expires_in: String(expiresIn), not_before: String(now), resource, token_type: 'Bearer',
    });
    return Promise.resolve();
  }));

  return {
    url: listening.url,
    host: listening.host,
    get requests() { return state.requests; },
    get rejected() { return state.rejected; },
    get issued() { return issued; },
    get lastQuery() { return lastQuery; },
    get fail() { return state.fail; },
    set fail(value: boolean) { state.fail = value; },
    close: listening.close,
  };
}
