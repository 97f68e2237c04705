// ACR's token exchange on loopback HTTPS: `POST /oauth2/exchange`, form-encoded
// `grant_type=access_token&service=<registry>&tenant=<tenant>&access_token=<Entra token>` → {refresh_token}.
// The Entra token must be one the fake Entra issued (its `verify`), for an audience ACR accepts (ARM or
// ACR), from the named tenant; `service` must be this registry. The refresh token is an ES256 JWT with
// `exp` (3 h by default, like ACR's).
//
// Its header carries a random `kid` first: registries with bcrypt htpasswd compare only the first 72
// bytes of a password, and this puts randomness inside them, so a test that logs in with the token
// proves it has this very token.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { decodeJwt, signJwt, type Claims } from './jwt.ts';
import { handle, listen, randomToken, readForm, sendJson, type FakeServer, type Tls } from './server.ts';

export const ACR_AUDIENCES = ['https://management.azure.com', 'https://management.core.windows.net', 'https://containerregistry.azure.net'];

export interface AcrExchangeOptions {
  tls: Tls;
  /** Verifies an Entra access token (FakeEntra.verify). */
  verify(token: string): Claims | undefined;
  /** Refresh token lifetime, seconds. */
  lifetimeSeconds?: number;
}

export interface FakeAcrExchange extends FakeServer {
  readonly issued: readonly string[];
  /** Exchanges refused (bad grant, wrong service or tenant, unverifiable token). */
  readonly rejected: number;
  /** The form fields of the last exchange, access_token left out. */
  readonly lastForm: Readonly<Record<string, string>> | undefined;
  lifetimeSeconds: number;
}

export async function startAcrExchange(opts: AcrExchangeOptions): Promise<FakeAcrExchange> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued: string[] = [];
  const state = { fail: false, requests: 0, rejected: 0, lifetimeSeconds: opts.lifetimeSeconds ?? 3 * 3600 };
  let lastForm: Record<string, string> | undefined;
  let host = '';

  const problem = (form: URLSearchParams): string | undefined => {
    if (form.get('grant_type') !== 'access_token') return 'grant_type must be access_token';
    if (form.get('service') !== host) return 'service does not name this registry';
    const claims = opts.verify(form.get('access_token') ?? '');
    if (!claims) return 'access_token is not a valid Entra token';
    const aud = String(claims.aud).replace(/\/$/, '');
    if (!ACR_AUDIENCES.includes(aud)) return 'access_token audience is not accepted';
    const tenant = form.get('tenant');
    if (tenant !== null && tenant !== claims.tid) return 'tenant does not match the token';
    return undefined;
  };

  const listening = await listen(handle(async (req, res) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'https://x').pathname !== '/oauth2/exchange') {
      sendJson(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }
    const form = await readForm(req);
    state.requests++;
    lastForm = Object.fromEntries([...form.entries()].filter(([k]) => k !== 'access_token'));
    if (state.fail) {
      sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: 'exchange failure (test)' }] });
      return;
    }
    const refused = problem(form);
    if (refused) {
      state.rejected++;
      sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: refused }] });
      return;
    }
    const claims = decodeJwt(form.get('access_token') ?? '')?.claims ?? {};
    const now = Math.floor(Date.now() / 1000);
    const refreshToken = signJwt({
      jti: randomUUID(), sub: claims.appid, nbf: now, exp: now + state.lifetimeSeconds, iat: now,
      iss: 'Azure Container Registry', aud: host, version: '1.0', grant_type: 'refresh_token', tenant: claims.tid,
    }, privateKey, 'ES256', { kid: randomToken(18) });
    issued.push(refreshToken);
    sendJson(res, 200, { refresh_token: refreshToken });
  }), opts.tls);
  host = listening.host;

  return {
    url: listening.url,
    host,
    get requests() { return state.requests; },
    get rejected() { return state.rejected; },
    get issued() { return issued; },
    get lastForm() { return lastForm; },
    get fail() { return state.fail; },
    set fail(value: boolean) { state.fail = value; },
    get lifetimeSeconds() { return state.lifetimeSeconds; },
    set lifetimeSeconds(value: number) { state.lifetimeSeconds = value; },
    close: listening.close,
  };
}
