// Proof that a provider's entry logs in: a TLS docker-registry whose only htpasswd user is the entry's
// user with, as password, a token the issuing server itself recorded handing out (never the entry's own
// password, which would prove nothing); an image pushed there, then `skopeo inspect` with an auth file
// built from the entry (re-keyed to the registry's loopback host, the way the merge writes it). The
// negative control logs in with a stale token the issuer handed out earlier (or, with none, the issued
// token altered) and must be refused.
// bcrypt (htpasswd -B) uses only the first 72 bytes of a password, and htpasswd refuses long ones, so the
// user is registered with that prefix: the registry accepts the full token exactly when its prefix matches.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AuthEntry } from '../../../src/dockerconfig/index.ts';
import { mergeContributions, serialize } from '../../../src/dockerconfig/index.ts';
import { startRegistry, stopRegistry } from '../../testbed/registry.ts';
import { currentTestbed } from '../../testbed/testbed.ts';
import { makeOciImage } from '../oci-image.ts';
import { authFile, inspect, push, type SkopeoResult } from '../skopeo.ts';

export interface LoginProof {
  /** skopeo inspect with the entry's auth file. */
  withEntry: SkopeoResult;
  /** skopeo inspect with the same user and a stale or wrong token: must fail, or the proof proves nothing. */
  withWrongPassword: SkopeoResult;
}

const PREFIX = 72;

/** A token the registry must refuse: an earlier one the issuer handed out, else `token` altered early on. */
function staleToken(token: string, issued: readonly string[]): string {
  const stale = issued.find((t) => t.slice(0, PREFIX) !== token.slice(0, PREFIX));
  if (stale) return stale;
  const at = Math.min(PREFIX, token.length) - 1;
  return token.slice(0, at) + (token[at] === 'x' ? 'y' : 'x') + token.slice(at + 1);
}

async function inspectWith(image: string, certDir: string, entry: AuthEntry, host: string): Promise<SkopeoResult> {
  const file = authFile(serialize(mergeContributions([{ source: 'test', entries: [{ ...entry, registry: host }] }]).config));
  try {
    return await inspect(image, certDir, file);
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

/** `issued`: every token the issuing server (moto, metadata, token endpoint, ACR exchange) handed out. */
export async function proveRegistryLogin(entry: AuthEntry, issued: readonly string[]): Promise<LoginProof> {
  if (!entry.username || !entry.password) throw new Error('entry has no username/password');
  const token = issued.find((t) => t === entry.password);
  if (token === undefined) throw new Error(`the entry's password is none of the ${String(issued.length)} tokens the issuer handed out`);
  const { pki } = currentTestbed();
  const dir = mkdtempSync(join(tmpdir(), 'login-proof-'));
  const registry = await startRegistry({
    dir, ca: pki.ca.cert, cert: pki.registry.cert, key: pki.registry.key,
    users: [{ username: entry.username, password: token.slice(0, PREFIX) }],
  });
  try {
    const image = `${registry.host}/proof/app:v1`;
    const pushed = await push(makeOciImage(join(dir, 'image')), image, registry.certDir, `${entry.username}:${token}`);
    if (!pushed.ok) throw new Error(`push failed: ${pushed.stderr}`);
    const withEntry = await inspectWith(image, registry.certDir, entry, registry.host);
    const stale = staleToken(token, issued);
    const wrong = { ...entry, auth: Buffer.from(`${entry.username}:${stale}`).toString('base64'), password: stale };
    const withWrongPassword = await inspectWith(image, registry.certDir, wrong, registry.host);
    return { withEntry, withWrongPassword };
  } finally {
    await stopRegistry(registry);
    rmSync(dir, { recursive: true, force: true });
  }
}
