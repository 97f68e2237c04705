// Proof that a provider's entry logs in: a TLS docker-registry whose only htpasswd user is the entry's
// user with the issued token as password, an image pushed there, then `skopeo inspect` with an auth file
// built from the entry (re-keyed to the registry's loopback host, the way the merge writes it).
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
  /** skopeo inspect with the same user and a wrong password: must fail, or the proof proves nothing. */
  withWrongPassword: SkopeoResult;
}

async function inspectWith(image: string, certDir: string, entry: AuthEntry, host: string): Promise<SkopeoResult> {
  const file = authFile(serialize(mergeContributions([{ source: 'test', entries: [{ ...entry, registry: host }] }]).config));
  try {
    return await inspect(image, certDir, file);
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

export async function proveRegistryLogin(entry: AuthEntry): Promise<LoginProof> {
  if (!entry.username || !entry.password) throw new Error('entry has no username/password');
  const { pki } = currentTestbed();
  const dir = mkdtempSync(join(tmpdir(), 'login-proof-'));
  const registry = await startRegistry({
    dir, ca: pki.ca.cert, cert: pki.registry.cert, key: pki.registry.key,
    users: [{ username: entry.username, password: entry.password.slice(0, 72) }],
  });
  try {
    const image = `${registry.host}/proof/app:v1`;
    const pushed = await push(makeOciImage(join(dir, 'image')), image, registry.certDir, `${entry.username}:${entry.password}`);
    if (!pushed.ok) throw new Error(`push failed: ${pushed.stderr}`);
    const withEntry = await inspectWith(image, registry.certDir, entry, registry.host);
    const wrong = { ...entry, auth: Buffer.from(`${entry.username}:not-the-token`).toString('base64'), password: 'not-the-token' };
    const withWrongPassword = await inspectWith(image, registry.certDir, wrong, registry.host);
    return { withEntry, withWrongPassword };
  } finally {
    await stopRegistry(registry);
    rmSync(dir, { recursive: true, force: true });
  }
}
