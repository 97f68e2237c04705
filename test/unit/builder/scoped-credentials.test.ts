import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { createScoper, ScopeUnsupported } from '../../../src/builder/scoped-credentials.ts';
import type { FetchLike, FetchResponse } from '../../../src/util/fetch.ts';
import { encodeAuth } from '../../../src/dockerconfig/index.ts';

const ips: ImagePullSecret = {
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'fenced', uid: 'u1' },
  spec: { registry: {}, target: { secret: { name: 'pull' } }, builder: { serviceAccounts: [], repositories: ['r.io/team/'] } },
};
const entry = { registry: 'r.io', username: 'ci', password: 'registry-pw', auth: encodeAuth('ci', 'registry-pw') };

function answer(status: number, headers: Record<string, string>, body?: string): FetchResponse {
  const bytes = body === undefined ? undefined : Buffer.from(body);
  return {
    status, headers: { get: (n) => headers[n.toLowerCase()] ?? null },
    body: bytes ? Readable.from([bytes]) : null,
  };
}

/** A registry on r.io: token auth when `tokenAuth`, else Basic; records what it was asked. */
function registry(tokenAuth: boolean): { fetch: FetchLike; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    fetch: (url, init) => {
      asked.push(`${init.method} ${url} ${init.headers.Authorization ?? ''}`);
      if (url === 'https://r.io/v2/') {
        return Promise.resolve(answer(401, { 'www-authenticate': tokenAuth ? 'Bearer realm="https://r.io/token",service="r.io"' : 'Basic realm="r"' }));
      }
      if (url.startsWith('https://r.io/token')) return Promise.resolve(answer(200, { 'content-type': 'application/json' }, JSON.stringify({ token: 'narrow', expires_in: 300 })));
      return Promise.resolve(answer(404, {}));
    },
  };
}

test('a token-auth registry issues a token for the named repositories, asked with the resource\'s credential', async () => {
  const r = registry(true);
  const got = await createScoper({ fetch: r.fetch }).scope({ ips, host: 'r.io', entry, repositories: ['team/a', 'team/b'], prefixes: ['r.io/team/'] });
  assert.equal(got.token, 'narrow');
  assert.ok(got.expiresAt.getTime() > Date.now() + 200_000);
  assert.deepEqual(r.asked, ['GET https://r.io/v2/ ',
    `GET https://r.io/token?service=r.io&scope=repository%3Ateam%2Fa%3Apull%2Cpush&scope=repository%3Ateam%2Fb%3Apull%2Cpush Basic ${encodeAuth('ci', 'registry-pw')}`]);
});

test('what cannot be narrowed is refused with the reason: Basic-only registries, no repository named, ECR without a scoper', async () => {
  const basic = registry(false);
  await assert.rejects(createScoper({ fetch: basic.fetch }).scope({ ips, host: 'r.io', entry, repositories: ['team/a'], prefixes: [] }),
    (err: unknown) => err instanceof ScopeUnsupported && /does not use token authentication/.test(err.message));
  const r = registry(true);
  await assert.rejects(createScoper({ fetch: r.fetch }).scope({ ips, host: 'r.io', entry, repositories: [], prefixes: ['r.io/team/'] }),
    (err: unknown) => err instanceof ScopeUnsupported && /name the repositories/.test(err.message));
  assert.deepEqual(r.asked, [], 'nothing is asked when the request cannot be narrowed');
  await assert.rejects(createScoper({ fetch: r.fetch }).scope({ ips, host: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', entry, repositories: ['a'], prefixes: [] }),
    (err: unknown) => err instanceof ScopeUnsupported && /cannot be narrowed/.test(err.message));
});
