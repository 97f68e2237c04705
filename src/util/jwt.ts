// Claims of JWTs we were handed, read without verifying the signature: only to learn when a token
// expires or which tenant issued it, never to decide whom to trust.
import { isRecord } from './own.ts';

/** The claims of a JWT, unverified; undefined when `token` is not a JWT. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return isRecord(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

/** The `exp` claim in epoch milliseconds, unverified; undefined when it is missing or not a positive number. */
export function jwtExpiryMs(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
}
