// Google's OAuth2 token endpoint for service-account keys, on loopback: `POST /token` with the JWT-bearer
// grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<RS256 JWT>`). The assertion
// is verified with the public half of a key this server generated (createServiceAccount), then its claims:
// iss is the account, aud the Google token URL (what google-auth-library signs for) or this endpoint,
// scope present, iat/exp current and at most an hour apart. Answers {access_token, expires_in, token_type}
// or an OAuth error ({error, error_description}) like the real endpoint.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt, verifyJwt } from './jwt.ts';
import { handle, listen, randomToken, readForm, sendJson, type FakeServer } from './server.ts';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

export interface ServiceAccount {
  email: string;
  /** The key file's JSON text, with token_uri pointing at this server. */
  json: string;
  publicKey: KeyObject;
}

export interface FakeGcpToken extends FakeServer {
  /** The token endpoint URL (`<url>/token`). */
  readonly tokenUri: string;
  readonly issued: readonly string[];
  /** Scope claims of the accepted assertions, oldest first. */
  readonly scopes: readonly string[];
  /** Assertions refused (bad signature, unknown account, wrong claims). */
  readonly rejected: number;
  expiresIn: number;
  /** Generates an RSA key for `email`, registers its public half and returns the key file. */
  createServiceAccount(email?: string, projectId?: string): ServiceAccount;
}

export async function startGcpTokenServer(opts: { expiresIn?: number } = {}): Promise<FakeGcpToken> {
  const accounts = new Map<string, KeyObject>();
  const issued: string[] = [];
  const scopes: string[] = [];
  const state = { fail: false, expiresIn: opts.expiresIn ?? 3599, requests: 0, rejected: 0 };
  let tokenUri = '';

  const refuse = (res: ServerResponse, error: string, description: string): void => {
    state.rejected++;
    sendJson(res, 400, { error, error_description: description });
  };

  const checkAssertion = (assertion: string): { claims?: Record<string, unknown>; problem?: string } => {
    const unverified = decodeJwt(assertion)?.claims ?? {};
    const key = typeof unverified.iss === 'string' ? accounts.get(unverified.iss) : undefined;
    if (!key) return { problem: 'Invalid JWT: unknown issuer' };
    const claims = verifyJwt(assertion, key, 'RS256');
    if (!claims) return { problem: 'Invalid JWT Signature.' };
    const { aud, iat, exp, scope } = claims;
    if (aud !== GOOGLE_TOKEN_URL && aud !== tokenUri) return { problem: 'Invalid JWT: audience' };
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || iat * 1000 > Date.now() + 60_000) {
      return { problem: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.' };
    }
    if (typeof scope !== 'string' || scope === '') return { problem: 'Invalid JWT: no scope' };
    return { claims };
  };

  const listening = await listen(handle(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/token') {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    const form = await readForm(req);
    state.requests++;
    if (state.fail) {
      sendJson(res, 500, { error: 'internal_failure', error_description: 'token server failure (test)' });
      return;
    }
    if (form.get('grant_type') !== JWT_BEARER) {
      refuse(res, 'unsupported_grant_type', 'Invalid grant_type');
      return;
    }
    const { claims, problem } = checkAssertion(form.get('assertion') ?? '');
    if (!claims) {
      refuse(res, 'invalid_grant', problem ?? 'invalid assertion');
      return;
    }
    scopes.push(String(claims.scope));
    const accessToken = `ya29.${randomToken(24)}`;
    issued.push(accessToken);
    sendJson(res, 200, { access_token: accessToken, expires_in: state.expiresIn, token_type: 'Bearer' });
  }));
  tokenUri = `${listening.url}/token`;

  return {
    url: listening.url,
    host: listening.host,
    tokenUri,
    get requests() { return state.requests; },
    get rejected() { return state.rejected; },
    get issued() { return issued; },
    get scopes() { return scopes; },
    get fail() { return state.fail; },
    set fail(value: boolean) { state.fail = value; },
    get expiresIn() { return state.expiresIn; },
    set expiresIn(value: number) { state.expiresIn = value; },
    close: listening.close,
    createServiceAccount(email = `puller-${randomToken(4).toLowerCase()}@pullsecret-sync-test.iam.gserviceaccount.com`, projectId = 'pullsecret-sync-test') {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      accounts.set(email, publicKey);
      const json = JSON.stringify({
        type: 'service_account', project_id: projectId, private_key_id: randomToken(20),
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), client_email: email,
        client_id: '100000000000000000001', auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: tokenUri,
        universe_domain: 'googleapis.com',
      });
      return { email, json, publicKey };
    },
  };
}
