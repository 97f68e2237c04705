// Request bodies a builder may send, well-formed or not, driven through the real server on loopback:
// every one is answered or its connection closed, nothing reaches the process, and the server still
// answers afterwards.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { MAX_BODY } from '../../../src/builder/http-io.ts';
import { encodeAuth } from '../../../src/dockerconfig/index.ts';
import { call, fakeAccess, fakeReviews, ips, rawConnection, readAll, startTestBuilderServer, type TestBuilderServer } from '../../support/builder-server.ts';

const TOKEN = 'builder-token';
const SECRET = 'registry-password-1';
const access = fakeAccess([ips('open', { serviceAccounts: [{ namespace: 'ci', name: 'kaniko' }] })], {
  open: { 'r.io': { entry: { registry: 'r.io', username: 'u', password: SECRET, auth: encodeAuth('u', SECRET) } } },
});
const reached: unknown[] = [];
const onProcessError = (err: unknown) => { reached.push(err); };
let server: TestBuilderServer;

before(async () => {
  process.on('unhandledRejection', onProcessError);
  process.on('uncaughtException', onProcessError);
  server = await startTestBuilderServer({ access, rest: fakeReviews({ [TOKEN]: { namespace: 'ci', name: 'kaniko' } }).rest });
});

after(async () => {
  await server.close();
  process.off('unhandledRejection', onProcessError);
  process.off('uncaughtException', onProcessError);
});

async function stillServes(): Promise<void> {
  const res = await call(server, 'POST', '/v1/credentials', { token: TOKEN, body: { serverURL: 'r.io' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.Secret, SECRET);
  assert.deepEqual(reached, [], 'no error reached the process');
}

/** A chunked POST (no Content-Length) of `size` bytes; the status, or the error when the server closed first. */
function chunkedPost(size: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${server.url}/v1/credentials`, {
      method: 'POST', rejectUnauthorized: false, agent: false, headers: { Authorization: `Bearer ${TOKEN}`, 'Transfer-Encoding': 'chunked' },
    }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message); });
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    const write = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

test('a body over 64 KiB is answered 413, declared or chunked', async () => {
  const declared = await call(server, 'POST', '/v1/credentials', { token: TOKEN, body: 'x'.repeat(MAX_BODY + 1) });
  assert.deepEqual([declared.status, declared.json], [413, { message: 'the request body is larger than 64 KiB' }]);
  for (let i = 0; i < 3; i++) assert.equal(await chunkedPost(MAX_BODY * 2), 413);
  await stillServes();
});

test('a body that stops early, or whose connection is cut, ends that request only', async () => {
  const truncated = await rawConnection(server);
  const answer = readAll(truncated);
  truncated.write(`POST /v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"serverURL":`);
  truncated.end();
  const text = await answer;
  assert.ok(text === '' || /^HTTP\/1\.1 400 /.test(text), text);

  for (const bytes of [0, 10, MAX_BODY / 2]) {
    const aborted = await rawConnection(server);
    const closed = readAll(aborted);
    aborted.write(`POST /v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    if (bytes > 0) aborted.write(`${bytes.toString(16)}\r\n${'a'.repeat(bytes)}\r\n`);
    aborted.destroy();
    await closed;
  }
  await stillServes();
});

test('a body that is not JSON is a 400 that quotes none of it, in the answer or the logs', async () => {
  const marker = 'not-json-marker-7f3a';
  for (const body of [`{"serverURL": "${marker}`, marker, `{"a":1}${marker}`]) {
    const res = await call(server, 'POST', '/v1/credentials', { token: TOKEN, body });
    assert.deepEqual([res.status, res.json], [400, { message: 'the request body is not JSON' }]);
  }
  assert.ok(!server.logs.join('').includes(marker), 'the body is not in the logs');
  await stillServes();
});
