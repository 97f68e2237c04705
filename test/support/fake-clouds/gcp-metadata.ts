// A GCE metadata server on loopback, speaking the protocol google-auth-library's ADC uses: every
// request must carry `Metadata-Flavor: Google` and every answer carries it back; the detection probe
// (`/computeMetadata/v1/instance`), project-id, service-account email, universe domain, and the token
// endpoint `/computeMetadata/v1/instance/service-accounts/default/token` → {access_token, expires_in,
// token_type}. Point ADC at it with GCE_METADATA_HOST=<host>.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handle, listen, randomToken, sendJson, sendText, type FakeServer } from './server.ts';

export interface GcpMetadataOptions {
  projectId?: string;
  email?: string;
  /** Lifetime of issued tokens, seconds. */
  expiresIn?: number;
}

export interface FakeGcpMetadata extends FakeServer {
  /** Every access token issued, oldest first. */
  readonly issued: readonly string[];
  /** The `scopes` query of the last token request. */
  readonly lastScopes: string | undefined;
  /** Requests of any path (the detection probe and project-id lookups included). */
  readonly allRequests: number;
  expiresIn: number;
}

const BASE = '/computeMetadata/v1';
const FLAVOR = { 'Metadata-Flavor': 'Google' };

export async function startGcpMetadata(opts: GcpMetadataOptions = {}): Promise<FakeGcpMetadata> {
  const projectId = opts.projectId ?? 'pullsecret-sync-test';
  const email = opts.email ?? `default@${projectId}.iam.gserviceaccount.com`;
  const issued: string[] = [];
  let requests = 0;
  let allRequests = 0;
  let lastScopes: string | undefined;
  const state = { fail: false, expiresIn: opts.expiresIn ?? 3599 };

  const token = (res: ServerResponse, url: URL): void => {
    requests++;
    lastScopes = url.searchParams.get('scopes') ?? undefined;
    if (state.fail) {
      sendText(res, 500, 'metadata server failure (test)', FLAVOR);
      return;
    }
    // Short enough (< 72 bytes) that a bcrypt htpasswd registry compares all of it.
    const accessToken = `ya29.${randomToken(24)}`;
    issued.push(accessToken);
    sendJson(res, 200, { access_token: accessToken, expires_in: state.expiresIn, token_type: 'Bearer' }, FLAVOR);
  };

  const texts: Record<string, string> = {
    [`${BASE}/instance`]: 'attributes/\nhostname\nid\nservice-accounts/\nzone\n',
    [`${BASE}/instance/`]: 'attributes/\nhostname\nid\nservice-accounts/\nzone\n',
    [`${BASE}/project/project-id`]: projectId,
    [`${BASE}/project/numeric-project-id`]: '123456789012',
    [`${BASE}/instance/service-accounts/default/email`]: email,
    [`${BASE}/instance/service-accounts/${email}/email`]: email,
    [`${BASE}/universe/universe-domain`]: 'googleapis.com',
  };
  const tokenPaths = new Set([`${BASE}/instance/service-accounts/default/token`, `${BASE}/instance/service-accounts/${email}/token`]);

  const listening = await listen(handle((req: IncomingMessage, res: ServerResponse) => {
    allRequests++;
    const url = new URL(req.url ?? '/', 'http://metadata.google.internal');
    if (req.headers['metadata-flavor'] !== 'Google') {
      sendText(res, 403, 'Missing Metadata-Flavor:Google header.');
    } else if (req.method !== 'GET') {
      sendText(res, 405, 'method not allowed', FLAVOR);
    } else if (tokenPaths.has(url.pathname)) {
      token(res, url);
    } else {
      const text = texts[url.pathname];
      if (text === undefined) sendText(res, 404, 'Not Found', FLAVOR);
      else sendText(res, 200, text, { ...FLAVOR, 'Content-Type': 'application/text' });
    }
    return Promise.resolve();
  }));

  return {
    url: listening.url,
    host: listening.host,
    get requests() { return requests; },
    get allRequests() { return allRequests; },
    get issued() { return issued; },
    get lastScopes() { return lastScopes; },
    get fail() { return state.fail; },
    set fail(value: boolean) { state.fail = value; },
    get expiresIn() { return state.expiresIn; },
    set expiresIn(value: number) { state.expiresIn = value; },
    close: listening.close,
  };
}
