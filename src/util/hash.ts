// One digest for every identity, cache key and content hash the daemon computes.
import { createHash } from 'node:crypto';

/**
 * The SHA-256 of `data` as lowercase hex. A string is hashed as UTF-8, or as the bytes it encodes in
 * `encoding` (e.g. a Secret's base64 value, without decoding a copy of it first).
 */
export const sha256Hex = (data: string | Uint8Array, encoding: 'utf8' | 'base64' = 'utf8'): string =>
  (typeof data === 'string' ? createHash('sha256').update(data, encoding) : createHash('sha256').update(data)).digest('hex');
