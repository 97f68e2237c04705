// The contract every CredentialProvider passes, whatever cloud it speaks: fetched
// entries are canonical and self-consistent, identity() is a deterministic key that follows the source
// and the secret yet never contains secret material, a good source validates clean, and a failing fetch
// rejects with a message that is safe to show. Each provider's test file calls
// credentialProviderContract() with a setup that aims the provider at a real or local server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CredentialProvider, SecretData } from '../../src/credentials/provider.ts';
import { normalizeRegistryKey } from '../../src/dockerconfig/index.ts';

export interface ProviderCase<S> {
  provider: CredentialProvider<S>;
  source: S;
  secret?: SecretData;
}

export interface ContractSetup<S> extends ProviderCase<S> {
  /** A provider and source whose fetch fails (endpoint down, credentials refused, …). */
  failing: ProviderCase<S>;
  /**
   * Every secret value in play, the failing case's included (keys, client secrets): none may leak. The
   * suite adds the passwords that fetch() returns.
   */
  secretValues: string[];
  /**
   * Sources that differ from `source` in something that decides the identity. Default: `source` with
   * each top-level string field suffixed and each top-level string list extended, one change at a time.
   */
  variants?: S[];
  /**
   * Fields of the source that say only where the login is written (registries, accounts): changing one
   * keeps the identity, so sources that differ in them share one fetch, and retarget() writes
   * the same login there.
   */
  placement?: (keyof S & string)[];
}

/** One-change variants of a plain-object source: strings get a suffix, string lists one more item. */
function derivedVariants<S>(source: S, skip: readonly string[] = []): S[] {
  if (typeof source !== 'object' || source === null) return [];
  const variants: S[] = [];
  for (const [key, value] of Object.entries(source)) {
    if (skip.includes(key)) continue;
    if (typeof value === 'string') variants.push({ ...source, [key]: `${value}-changed` });
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      variants.push({ ...source, [key]: [...value, 'changed.example.com'] });
    }
  }
  return variants;
}

function assertNoSecrets(text: string, secretValues: readonly string[], what: string): void {
  for (const value of secretValues) {
    if (value.length > 0) assert.ok(!text.includes(value), `${what} contains a secret value`);
  }
}

export function credentialProviderContract<S>(name: string, setup: () => Promise<ContractSetup<S>>): void {
  let ready: Promise<ContractSetup<S>> | undefined;
  const get = (): Promise<ContractSetup<S>> => (ready ??= setup());

  test(`${name}: fetch gives canonical, self-consistent entries with an expiry`, async () => {
    const { provider, source, secret, secretValues } = await get();
    const fetched = await provider.fetch(source, secret);
    assert.ok(fetched.entries.length >= 1, 'at least one entry');
    assert.ok(fetched.expiresAt instanceof Date && !Number.isNaN(fetched.expiresAt.getTime()), 'expiresAt is a valid Date');
    for (const entry of fetched.entries) {
      assert.equal(normalizeRegistryKey(entry.registry), entry.registry, `registry key ${entry.registry} is canonical`);
      assert.ok(entry.username !== undefined && entry.password !== undefined, `${entry.registry} has username and password`);
      assert.equal(entry.auth, Buffer.from(`${entry.username}:${entry.password}`).toString('base64'), `${entry.registry} auth`);
      // The token the server issued is credential material too: it must not show up in identities.
      secretValues.push(entry.password);
    }
  });

  test(`${name}: identity() is deterministic and free of secret material`, async () => {
    const { provider, source, secret, secretValues } = await get();
    const first = provider.identity(source, secret);
    assert.equal(provider.identity(structuredClone(source), secret === undefined ? undefined : { ...secret }), first);
    assertNoSecrets(first, secretValues, 'identity()');
  });

  test(`${name}: identity() changes when the source or the secret changes`, async () => {
    const { provider, source, secret, secretValues, variants, placement } = await get();
    const base = provider.identity(source, secret);
    const others = variants ?? derivedVariants(source, placement);
    assert.ok(others.length > 0 || secret !== undefined, 'at least one variant of the source or a secret');
    for (const variant of others) {
      const id = provider.identity(variant, secret);
      assert.notEqual(id, base, `identity of ${JSON.stringify(variant)} differs`);
      assertNoSecrets(id, secretValues, 'identity() of a variant');
    }
    if (secret !== undefined) {
      const rotated = Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, `${v}-rotated`]));
      const id = provider.identity(source, rotated);
      assert.notEqual(id, base, 'identity differs when the secret values change');
      assertNoSecrets(id, [...secretValues, ...Object.values(rotated)], 'identity() with a rotated secret');
    }
  });

  test(`${name}: where the login is written is no part of the identity; retarget() writes the same login there`, async () => {
    const { provider, source, secret, placement = [] } = await get();
    const fetched = await provider.fetch(source, secret);
    assert.deepEqual(provider.retarget(source, fetched), fetched.entries, 'retarget to the fetched source gives its entries');
    for (const moved of derivedVariants(source).filter((v) => placement.some((f) => v[f] !== source[f]))) {
      assert.equal(provider.identity(moved, secret), provider.identity(source, secret), `${JSON.stringify(moved)} shares the identity`);
      const entries = provider.retarget(moved, fetched);
      assert.ok(entries.length > fetched.entries.length, 'the login is written under the added registry too');
      for (const e of entries) assert.equal(e.password, fetched.entries[0]?.password);
    }
  });

  test(`${name}: validate() accepts the good source`, async () => {
    const { provider, source } = await get();
    assert.deepEqual(provider.validate(source), []);
  });

  test(`${name}: a failing fetch rejects with a message free of secret material`, async () => {
    const { failing, secretValues } = await get();
    await assert.rejects(failing.provider.fetch(failing.source, failing.secret), (err: unknown) => {
      assert.ok(err instanceof Error, 'rejects with an Error');
      assert.ok(err.message.length > 0, 'with a message');
      assertNoSecrets(err.message, secretValues, 'the error message');
      return true;
    });
  });
}
