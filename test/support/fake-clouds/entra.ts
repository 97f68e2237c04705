// Microsoft Entra ID (v2 endpoints) on loopback HTTPS, as far as @azure/identity's ClientSecretCredential
// (MSAL) uses it: the OpenID discovery document `/<tenant>/v2.0/.well-known/openid-configuration`, the
// instance-discovery document `/common/discovery/instance` (MSAL asks it when instance discovery is on),
// and the token endpoint `/<tenant>/oauth2/v2.0/token` for `grant_type=client_credentials` with a
// `<resource>/.default` scope and either a client_secret or, for workload identity
// (WorkloadIdentityCredential), a `client_assertion` of type jwt-bearer: an OIDC token that a federated
// identity credential of the app trusts (issuer, subject, audience `api://AzureADTokenExchange`).
// Access tokens are ES256 JWTs with aud, tid and appid claims; `verify` checks them, so the fake ACR
// exchange accepts only tokens this server issued (`issue` mints them for the fake IMDS, as Entra does
// for managed identities).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasAudience, signJwt, verifyIssuedBy, verifyJwt, type Claims, type OidcTrust } from './jwt.ts';
import { handle, listen, readBody, readForm, sendJson, type FakeServer, type Tls } from './server.ts';

export interface EntraOptions {
  tls: Tls;
  tenantID?: string;
  /** clientID → client secret */
  clients?: Record<string, string>;
  /** Lifetime of issued tokens, seconds. */
  expiresIn?: number;
}

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The audience Entra expects in federated tokens by default. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** Where a redirected token request goes (same origin, so only a client's redirect policy stops it). */
export const REDIRECTED_TOKEN_PATH = '/redirected/oauth2/v2.0/token';

/** A federated identity credential of an app: which external tokens stand in for its secret. */
export interface FederatedCredential {
  trust: OidcTrust;
  subject: string;
  audience?: string;
}

export interface FakeEntra extends FakeServer {
  readonly tenantID: string;
  readonly issued: readonly string[];
  /** `scope` of each accepted token request, oldest first. */
  readonly scopes: readonly string[];
  /** Token requests refused (unknown client, wrong secret or assertion, bad grant or scope). */
  readonly rejected: number;
  /** OpenID discovery requests. */
  readonly discoveries: number;
  /** While true, token requests are answered 307 to REDIRECTED_TOKEN_PATH on this server, which issues tokens too. */
  redirect: boolean;
  /** Token requests that arrived at REDIRECTED_TOKEN_PATH, i.e. redirects a client followed. */
  readonly redirectedRequests: number;
  /** The claims of a token this server issued and that has not expired, else undefined. */
  verify(token: string): Claims | undefined;
  addClient(clientID: string, secret: string): void;
  addFederatedCredential(clientID: string, credential: FederatedCredential): void;
  /** Mints an access token for `clientID` and `resource` (as Entra does for a managed identity). */
  issue(clientID: string, resource: string): { token: string; expiresIn: number };
}

export async function startEntra(opts: EntraOptions): Promise<FakeEntra> {
  const tenantID = opts.tenantID ?? randomUUID();
  const clients = new Map(Object.entries(opts.clients ?? {}));
  const federations = new Map<string, FederatedCredential>();
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const issued: string[] = [];
  const scopes: string[] = [];
  const state = { fail: false, requests: 0, rejected: 0, discoveries: 0, redirect: false, redirectedRequests: 0 };
  let url = '';

  const openIdConfiguration = () => ({
    token_endpoint: `${url}/${tenantID}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${url}/${tenantID}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${url}/${tenantID}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${url}/oidc/userinfo`,
    authorization_endpoint: `${url}/${tenantID}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${url}/${tenantID}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${url}/${tenantID}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
  });

  const instanceDiscovery = () => {
    const host = new URL(url).host;
    return {
      tenant_discovery_endpoint: `${url}/${tenantID}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  };

  /** Why the client does not authenticate: a wrong secret, or an assertion no federated credential accepts. */
  const clientProblem = (form: URLSearchParams, clientID: string): string | undefined => {
    if (form.get('client_assertion_type') === JWT_BEARER_ASSERTION) {
      const federation = federations.get(clientID);
      const claims = federation ? verifyIssuedBy(federation.trust, form.get('client_assertion') ?? '') : undefined;
      const matches = federation && claims && claims.sub === federation.subject && hasAudience(claims, federation.audience ?? TOKEN_EXCHANGE_AUDIENCE);
      return matches ? undefined : 'AADSTS70021: No matching federated identity record found for presented assertion.';
    }
    return clients.has(clientID) && clients.get(clientID) === form.get('client_secret') ? undefined : 'AADSTS7000215: Invalid client secret provided.';
  };

  const issue = (clientID: string, resource: string): { token: string; expiresIn: number } => {
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 3599;
    const accessToken = signJwt({
      aud: resource, iss: `https://sts.windows.net/${tenantID}/`, iat: now, nbf: now, exp: now + expiresIn,
      appid: clientID, oid: randomUUID(), sub: clientID, tid: tenantID, ver: '1.0',
    }, privateKey, 'ES256', { kid });
    issued.push(accessToken);
    return { token: accessToken, expiresIn };
  };

  const token = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = await readForm(req);
    state.requests++;
    if (state.fail) {
      sendJson(res, 500, { error: 'temporarily_unavailable', error_description: 'AADSTS90033: test failure' });
      return;
    }
    const clientID = form.get('client_id') ?? '';
    const scope = form.get('scope') ?? '';
    const refuse = (status: number, error: string, description: string): void => {
      state.rejected++;
      sendJson(res, status, { error, error_description: description, error_codes: [status === 401 ? 7000215 : 70011] });
    };
    if (form.get('grant_type') !== 'client_credentials') {
      refuse(400, 'unsupported_grant_type', 'AADSTS70003: grant type not supported');
      return;
    }
    const unauthenticated = clientProblem(form, clientID);
    if (unauthenticated) {
      refuse(401, 'invalid_client', unauthenticated);
      return;
    }
    const resource = scope.split(' ').find((s) => s.endsWith('/.default'))?.slice(0, -'/.default'.length);
    if (!resource) {
      refuse(400, 'invalid_scope', 'AADSTS70011: The provided value for scope is not valid.');
      return;
    }
    scopes.push(scope);
    const { token: accessToken, expiresIn } = issue(clientID, resource);
    sendJson(res, 200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken });
  };

  const listening = await listen(handle(async (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    if (req.method === 'GET' && path === `/${tenantID}/v2.0/.well-known/openid-configuration`) {
      state.discoveries++;
      sendJson(res, 200, openIdConfiguration());
    } else if (req.method === 'GET' && path === '/common/discovery/instance') {
      sendJson(res, 200, instanceDiscovery());
    } else if (req.method === 'POST' && path === `/${tenantID}/oauth2/v2.0/token` && state.redirect) {
      await readBody(req);
      res.writeHead(307, { Location: REDIRECTED_TOKEN_PATH }).end();
    } else if (req.method === 'POST' && path === `/${tenantID}/oauth2/v2.0/token`) {
      await token(req, res);
    } else if (req.method === 'POST' && path === REDIRECTED_TOKEN_PATH) {
      state.redirectedRequests++;
      await token(req, res);
    } else {
      sendJson(res, 404, { error: 'invalid_request', error_description: `AADSTS90002: no route ${path}` });
    }
  }), opts.tls);
  url = listening.url;

  return {
    url,
    host: listening.host,
    tenantID,
    get requests() { return state.requests; },
    get rejected() { return state.rejected; },
    get discoveries() { return state.discoveries; },
    get issued() { return issued; },
    get scopes() { return scopes; },
    get fail() { return state.fail; },
    set fail(value: boolean) { state.fail = value; },
    get redirect() { return state.redirect; },
    set redirect(value: boolean) { state.redirect = value; },
    get redirectedRequests() { return state.redirectedRequests; },
    verify: (t) => verifyJwt(t, publicKey, 'ES256'),
    addClient: (clientID, secret) => { clients.set(clientID, secret); },
    addFederatedCredential: (clientID, credential) => { federations.set(clientID, credential); },
    issue,
    close: listening.close,
  };
}
