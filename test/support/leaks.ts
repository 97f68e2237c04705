// The suite-wide check that no credential material reaches a daemon's logs. Tests
// register every secret value they hand out; every daemon the suite runs is checked when it stops, for
// those values (plain and base64) and for the shapes credentials take in docker configs and headers.
import assert from 'node:assert/strict';

const known = new Set<string>();

/** Remembers a secret value (password, token, key) that must never appear in any daemon output. */
export function rememberSecret(value: string): string {
  if (value.length >= 6) known.add(value);
  return value;
}

const SHAPES: [RegExp, string][] = [
  [/eyJhdXRocyI6/, 'a base64 docker config'],
  [/"(password|auth|identitytoken|secretKey|clientSecret|accessKeyID)"\s*:\s*"[^"[]/i, 'a credential field with a value'],
  [/Bearer\s+[A-Za-z0-9._-]{20,}/, 'a bearer token'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
];

export function assertNoCredentials(text: string, where: string): void {
  for (const [shape, what] of SHAPES) assert.doesNotMatch(text, shape, `${what} in ${where}`);
  for (const value of known) {
    assert.ok(!text.includes(value), `a registered secret value (${String(value.length)} chars) in ${where}`);
    assert.ok(!text.includes(Buffer.from(value).toString('base64')), `a registered secret value, base64, in ${where}`);
  }
}
