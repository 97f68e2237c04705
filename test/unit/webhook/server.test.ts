import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { Writable } from 'node:stream';
import { generateTls } from '../../../src/builder/tls.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { AdmissionPort } from '../../../src/webhook/admit.ts';
import { startWebhookServer, type WebhookServer } from '../../../src/webhook/server.ts';

let server: WebhookServer;
let ready = false;
let ca = '';
const outcomes: string[] = [];
const hurried: string[] = [];

const port: AdmissionPort = {
  ownNamespace: 'pullsecret-sync',
  namespace: (name) => ({ metadata: { name } }),
  resources: () => [{ apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'a' },
    spec: { registry: { credentials: [{ name: 'hub', namespace: 'src' }] }, target: { namespaces: { names: ['team-a'] }, secret: { name: 'pull' }, pods: { inject: true } } } }],
  unwritten: () => ['a'],
};

before(async () => {
  const tls = await generateTls({ hosts: ['127.0.0.1'] });
  ca = tls.ca ?? '';
  const sink = new Writable({ write(_c, _e, done) { done(); } });
  server = await startWebhookServer({ addr: '127.0.0.1:0', tls, port, ready: () => ready, logger: createLogger('info', sink),
    onAdmission: (outcome) => { outcomes.push(outcome); }, onHurry: (resource, namespace) => { hurried.push(`${resource}/${namespace}`); } });
});

after(async () => { await server.close(); });

function post(body: string | Buffer, path = '/mutate-pods', method = 'POST'): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, ca, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) as unknown : undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (dryRun = false) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'team-a', dryRun,
  object: { metadata: {}, spec: { containers: [{ name: 'c', image: 'r.io/a' }] } } } });

test('before its caches sync a replica answers every review allowed and unchanged, counted as an error', async () => {
  ready = false;
  const { status, json } = await post(review());
  assert.equal(status, 200);
  const response = (json as { response: { uid: string; allowed: boolean; patch?: string } }).response;
  assert.deepEqual([response.uid, response.allowed, response.patch], ['u1', true, undefined]);
  assert.equal(outcomes.at(-1), 'error');
  assert.deepEqual(hurried, []);
});

test('once synced it mutates, hurries the namespace that lacks its Secret, and a dry run hurries nothing', async () => {
  ready = true;
  const { json } = await post(review());
  const patch = (json as { response: { patch?: string } }).response.patch ?? '';
  assert.deepEqual(JSON.parse(Buffer.from(patch, 'base64').toString('utf8')), [{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: 'pull' }] }]);
  assert.equal(outcomes.at(-1), 'mutated');
  assert.deepEqual(hurried, ['a/team-a']);
  const dry = await post(review(true));
  assert.deepEqual(dry.json, json, 'the same answer');
  assert.deepEqual(hurried, ['a/team-a'], 'nothing hurried for a dry run');
});

test('bad requests get a JSON refusal and the server keeps answering', async () => {
  ready = true;
  const cases: [string | Buffer, string, string, number][] = [
    ['not json', '/mutate-pods', 'POST', 400],
    ['{"kind":"Nope"}', '/mutate-pods', 'POST', 400],
    [review(), '/other', 'POST', 404],
    ['', '/mutate-pods', 'GET', 405],
    [Buffer.alloc(5 * 1024 * 1024, 0x20), '/mutate-pods', 'POST', 413],
  ];
  for (const [body, path, method, want] of cases) {
    const { status, json } = await post(body, path, method);
    assert.equal(status, want, `${method} ${path}`);
    assert.equal(typeof (json as { message?: unknown }).message, 'string');
  }
  assert.equal((await post(review())).status, 200, 'still serving');
});
