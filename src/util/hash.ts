// One digest for every identity, cache key and content hash the daemon computes.
import { createHash } from 'node:crypto';

/** The SHA-256 of `data` as lowercase hex. */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
