// Google's workload identity federation on loopback, as far as google-auth-library's external_account
// clients use it, on one server:
// - Security Token Service `POST /v1/token` (RFC 8693 token exchange): form-encoded
//   `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `audience` = the pool provider,
//   `subject_token` (an OIDC token of the issuer the provider trusts) and its `subject_token_type`,
//   `requested_token_type` = access token, `scope`. The subject token is verified against the provider's
//   trust (signature, issuer, expiry) and must carry one of the provider's allowed audiences (by default
//   `https:` + the provider's name, as Google's). Answers {access_token, issued_token_type, token_type,
//   expires_in}, or an OAuth error {error, error_description} that never quotes the token.
// - IAM Credentials `POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken` with
//   `Authorization: Bearer <federated token>` and JSON {scope[], lifetime}: only for a subject granted
//   the service account (roles/iam.workloadIdentityUser, `grant`). Answers {accessToken, expireTime} or a
//   Google API error {error: {code, message, status}}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasAudience, verifyIssuedBy, type OidcTrust } from './jwt.ts';
import { handle, listen, randomToken, readBody, readForm, sendJson, type FakeServer } from './server.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const SUBJECT_TOKEN_TYPES = [JWT_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:id_token'];
const IMPERSONATION_PATH = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;

export interface GcpFederationOptions {
  /** `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
  audience: string;
  /** The OIDC issuer the provider trusts. */
  trust: OidcTrust;
  /** Audiences a subject token may carry; default the provider's name with `https:`, as Google's default. */
  allowedAudiences?: string[];
  /** Lifetime of issued tokens, seconds. */
  expiresIn?: number;
}

export interface FakeGcpFederation extends FakeServer {
  /** Federated tokens STS issued, oldest first. */
  readonly stsIssued: readonly string[];
  /** Service-account tokens IAM Credentials issued, oldest first. */
  readonly iamIssued: readonly string[];
  /** The form of the last accepted exchange, subject_token left out. */
  readonly lastExchange: Readonly<Record<string, string>> | undefined;
  /** The `sub` of the last accepted subject token. */
  readonly lastSubject: string | undefined;
  /** The scopes of the last accepted generateAccessToken. */
  readonly lastImpersonationScopes: readonly string[] | undefined;
  /** Requests refused by STS or IAM Credentials (bad grant, token, audience, grant of the account). */
  readonly rejected: number;
  expiresIn: number;
  /** Lets the federated principal of `subject` impersonate `email`. */
  grant(email: string, subject: string): void;
  /**
   * The external_account config `gcloud iam workload-identity-pools create-cred-config` writes for this
   * provider: the subject token read from `tokenFile`, exchanged here, then (with `email`) impersonated.
   */
  credentialConfig(tokenFile: string, email?: string): Record<string, unknown>;
}

export async function startGcpFederation(opts: GcpFederationOptions): Promise<FakeGcpFederation> {
  const allowedAudiences = opts.allowedAudiences ?? [`https:${opts.audience}`];
  /** Federated token → the subject it was issued for. */
  const federated = new Map<string, { subject: string; expiresAtMs: number }>();
  const grants = new Set<string>();
  const stsIssued: string[] = [];
  const iamIssued: string[] = [];
  const state = { fail: false, requests: 0, rejected: 0, expiresIn: opts.expiresIn ?? 3599 };
  const last: { exchange?: Record<string, string>; subject?: string; scopes?: string[] } = {};
  let url = '';

  /** The subject of an acceptable exchange, or why it is refused. */
  const checkExchange = (form: URLSearchParams): { subject: string } | { refused: { error: string; description: string } } => {
    const refuse = (error: string, description: string) => ({ refused: { error, description } });
    if (form.get('grant_type') !== TOKEN_EXCHANGE) return refuse('unsupported_grant_type', 'Unsupported grant_type.');
    if (form.get('requested_token_type') !== ACCESS_TOKEN_TYPE) return refuse('invalid_request', 'Invalid requested_token_type.');
    if (!SUBJECT_TOKEN_TYPES.includes(form.get('subject_token_type') ?? '')) return refuse('invalid_request', 'Invalid subject_token_type.');
    if (form.get('audience') !== opts.audience) return refuse('invalid_target', 'The target service indicated by the "audience" parameters is invalid.');
    if (!(form.get('scope') ?? '').split(' ').includes('https://www.googleapis.com/auth/cloud-platform')) {
      return refuse('invalid_scope', 'The scope must include cloud-platform.');
    }
    const claims = verifyIssuedBy(opts.trust, form.get('subject_token') ?? '');
    if (!claims) return refuse('invalid_grant', 'The subject token is not a valid, unexpired token of the trusted issuer.');
    if (!allowedAudiences.some((a) => hasAudience(claims, a))) return refuse('invalid_grant', 'The audience in the ID token does not match the expected audience.');
    if (typeof claims.sub !== 'string' || claims.sub === '') return refuse('invalid_grant', 'The subject token has no sub.');
    return { subject: claims.sub };
  };

  const exchange = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = await readForm(req);
    state.requests++;
    if (state.fail) {
      sendJson(res, 500, { error: 'internal_failure', error_description: 'STS failure (test)' });
      return;
    }
    const checked = checkExchange(form);
    if ('refused' in checked) {
      state.rejected++;
      sendJson(res, 400, { error: checked.refused.error, error_description: checked.refused.description });
      return;
    }
    const { subject } = checked;
    last.exchange = Object.fromEntries([...form.entries()].filter(([k]) => k !== 'subject_token'));
    last.subject = subject;
    const accessToken = `ya29.d.${randomToken(24)}`;
    federated.set(accessToken, { subject, expiresAtMs: Date.now() + state.expiresIn * 1000 });
    stsIssued.push(accessToken);
    sendJson(res, 200, { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: state.expiresIn });
  };

  const apiError = (res: ServerResponse, code: number, status: string, message: string): void => {
    state.rejected++;
    sendJson(res, code, { error: { code, message, status } });
  };

  const generateAccessToken = async (req: IncomingMessage, res: ServerResponse, email: string): Promise<void> => {
    const body = await readBody(req);
    state.requests++;
    if (state.fail) {
      sendJson(res, 500, { error: { code: 500, message: 'IAM Credentials failure (test)', status: 'INTERNAL' } });
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const caller = bearer === undefined ? undefined : federated.get(bearer);
    if (!caller || caller.expiresAtMs <= Date.now()) {
      apiError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
      return;
    }
    if (!grants.has(`${email} ${caller.subject}`)) {
      apiError(res, 403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
      return;
    }
    const scope = (JSON.parse(body || '{}') as { scope?: unknown }).scope;
    if (!Array.isArray(scope) || scope.length === 0) {
      apiError(res, 400, 'INVALID_ARGUMENT', 'Request contains an invalid argument: scope.');
      return;
    }
    last.scopes = scope.map(String);
    const accessToken = `ya29.c.${randomToken(24)}`;
    iamIssued.push(accessToken);
    sendJson(res, 200, { accessToken, expireTime: new Date(Date.now() + state.expiresIn * 1000).toISOString() });
  };

  const listening = await listen(handle(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const impersonated = IMPERSONATION_PATH.exec(path)?.[1];
    if (req.method === 'POST' && path === '/v1/token') await exchange(req, res);
    else if (req.method === 'POST' && impersonated !== undefined) await generateAccessToken(req, res, decodeURIComponent(impersonated));
    else sendJson(res, 404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
  }));
  url = listening.url;

  return {
    url,
    host: listening.host,
    get requests() { return state.requests; },
    get rejected() { return state.rejected; },
    get stsIssued() { return stsIssued; },
    get iamIssued() { return iamIssued; },
    get lastExchange() { return last.exchange; },
    get lastSubject() { return last.subject; },
    get lastImpersonationScopes() { return last.scopes; },
    get fail() { return state.fail; },
    set fail(value: boolean) { state.fail = value; },
    get expiresIn() { return state.expiresIn; },
    set expiresIn(value: number) { state.expiresIn = value; },
    grant: (email, subject) => { grants.add(`${email} ${subject}`); },
    credentialConfig: (tokenFile, email) => ({
      universe_domain: 'googleapis.com', type: 'external_account', audience: opts.audience, subject_token_type: JWT_TOKEN_TYPE,
      token_url: `${url}/v1/token`, credential_source: { file: tokenFile, format: { type: 'text' } },
      ...(email ? { service_account_impersonation_url: `${url}/v1/projects/-/serviceAccounts/${email}:generateAccessToken` } : {}),
    }),
    close: listening.close,
  };
}
