// What the fault-injection suite asserts after every fault: the world a user sees. Every selected
// namespace holds exactly the right Secret bytes, no other namespace holds one, and the daemon still runs.
// Plus `persist`, for test steps that must go through while the API server is down or restarting.
import assert from 'node:assert/strict';
import { OWNER_LABEL } from '../../src/api/v1alpha1/labels.ts';
import { isStatus } from '../../src/kube/rest.ts';
import type { Secret } from '../../src/kube/objects.ts';
import { deleteIpsAndWait, deleteNamespace, dockerConfigOf, rest } from './cluster.ts';
import { spawnDaemon, type DaemonProcess } from './daemon-process.ts';
import { eventually, uniqueName } from './eventually.ts';

/**
 * Runs one API step until it succeeds (the API server may be down for a while). A retried create that
 * finds the object (409) or a retried delete that finds it gone (404) succeeded the first time.
 */
export async function persist<T>(step: () => Promise<T>, timeoutMs = 120_000): Promise<T | undefined> {
  return eventually(async () => {
    try {
      return { value: await step() };
    } catch (err) {
      if (isStatus(err, 409) || isStatus(err, 404)) return { value: undefined };
      throw err;
    }
  }, { timeoutMs, intervalMs: 200, message: 'an API step goes through' }).then((r) => r.value);
}

/** The Secrets a resource owns, by namespace. */
export async function ownedSecrets(owner: string): Promise<Map<string, Secret>> {
  const list = await rest.call<{ items: Secret[] }>({ method: 'GET', path: '/api/v1/secrets',
    query: { labelSelector: `${OWNER_LABEL}=${owner}` } });
  return new Map(list.items.map((s) => [s.metadata.namespace ?? '', s]));
}

export interface Expected {
  owner: string;
  secretName: string;
  /** Exactly the namespaces that must hold the Secret. */
  namespaces: ReadonlySet<string>;
  /** registry -> base64 `user:password` each Secret must carry, and nothing else. */
  auths: Readonly<Record<string, string>>;
}

function mismatch(expected: Expected, secrets: Map<string, Secret>): string | undefined {
  const missing = [...expected.namespaces].filter((ns) => !secrets.has(ns));
  const extra = [...secrets.keys()].filter((ns) => !expected.namespaces.has(ns));
  if (missing.length || extra.length) return `${missing.length} namespaces lack the Secret (${missing.slice(0, 3).join(', ')}), ${extra.length} hold one they should not (${extra.slice(0, 3).join(', ')})`;
  for (const [ns, secret] of secrets) {
    if (secret.metadata.name !== expected.secretName) return `${ns}: the Secret is named ${secret.metadata.name}`;
    const auths = Object.fromEntries(Object.entries(dockerConfigOf(secret).auths).map(([registry, a]) => [registry, a.auth]));
    try {
      assert.deepEqual(auths, expected.auths);
    } catch {
      return `${ns}: the Secret carries other credentials`;
    }
  }
  return undefined;
}

/** Waits until the owner's Secrets are exactly `expected`, then returns how long that took. */
export async function converges(expected: Expected, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  let last: string | undefined;
  await eventually(async () => {
    last = mismatch(expected, await ownedSecrets(expected.owner));
    return last === undefined;
  }, { timeoutMs, intervalMs: 250, message: `the Secrets of ${expected.owner} converge` }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last difference: ${last ?? 'none'}`);
  });
  return Date.now() - started;
}

export function authOf(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/**
 * A fault test's teardown: kills its daemons, lets a fresh daemon remove the resources (it drops their
 * finalizers), then deletes the namespaces, 50 at a time.
 */
export async function cleanUp(w: { running: DaemonProcess[]; resources: string[]; namespaces: string[] }, args = ['--leader-elect=false'], timeoutMs = 30_000): Promise<void> {
  for (const d of w.running) d.child.kill('SIGKILL');
  const cleaner = await spawnDaemon(uniqueName('cleaner'), args);
  await deleteIpsAndWait(w.resources, timeoutMs);
  cleaner.child.kill('SIGTERM');
  await cleaner.exited;
  for (let i = 0; i < w.namespaces.length; i += 50) await Promise.all(w.namespaces.slice(i, i + 50).map((ns) => deleteNamespace(ns)));
  rest.close();
}
