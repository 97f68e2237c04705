// Compact JWS for the fake clouds: sign with RS256 or ES256 and verify, so each fake checks the tokens
// and assertions it receives the way the real service would (signature, then claims).
import { sign, verify, type KeyObject } from 'node:crypto';

export type Alg = 'RS256' | 'ES256';
export type Claims = Record<string, unknown>;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const keyFor = (key: KeyObject, alg: Alg) => (alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key);

/** Extra `header` fields come first, so a random `kid` lands early in the token (see acr-exchange.ts). */
export function signJwt(claims: Claims, key: KeyObject, alg: Alg, header: Record<string, string> = {}): string {
  const input = `${b64({ ...header, alg, typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), keyFor(key, alg)).toString('base64url')}`;
}

/** A JWT with `alg: none` and a placeholder signature: for code that reads claims without verifying them. */
export function unsignedJwt(claims: unknown): string {
  return `${b64({ alg: 'none' })}.${b64(claims)}.sig`;
}

export interface Decoded {
  header: Record<string, unknown>;
  claims: Claims;
}

export function decodeJwt(token: string): Decoded | undefined {
  const [header, claims] = token.split('.');
  if (!header || !claims) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Claims,
    };
  } catch {
    return undefined;
  }
}

/** The claims when the signature verifies with `key` under `alg` and `exp` is in the future. */
export function verifyJwt(token: string, key: KeyObject, alg: Alg, nowMs = Date.now()): Claims | undefined {
  const parts = token.split('.');
  const decoded = decodeJwt(token);
  if (parts.length !== 3 || !decoded || decoded.header.alg !== alg) return undefined;
  const ok = verify('sha256', Buffer.from(`${parts[0] ?? ''}.${parts[1] ?? ''}`), keyFor(key, alg), Buffer.from(parts[2] ?? '', 'base64url'));
  if (!ok) return undefined;
  const exp = decoded.claims.exp;
  return typeof exp === 'number' && exp * 1000 > nowMs ? decoded.claims : undefined;
}

/** An OIDC issuer as a relying party knows it: its `iss` and its RS256 signing keys by `kid`. */
export interface OidcTrust {
  readonly issuer: string;
  /** Signing keys by `kid`. */
  readonly keys: ReadonlyMap<string, KeyObject>;
}

/** The claims of a token `trust` issued (signature by its `kid`, `iss`, unexpired), else undefined. */
export function verifyIssuedBy(trust: OidcTrust, token: string): Claims | undefined {
  const kid = decodeJwt(token)?.header.kid;
  const key = typeof kid === 'string' ? trust.keys.get(kid) : undefined;
  const claims = key ? verifyJwt(token, key, 'RS256') : undefined;
  return claims?.iss === trust.issuer ? claims : undefined;
}

/** Whether `claims.aud` (a string or a list) names `audience`. */
export function hasAudience(claims: Claims, audience: string): boolean {
  return Array.isArray(claims.aud) ? claims.aud.includes(audience) : claims.aud === audience;
}
