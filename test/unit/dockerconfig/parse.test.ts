import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSourceSecret } from '../../../src/dockerconfig/parse.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const json = (doc: unknown) => ({ '.dockerconfigjson': b64(JSON.stringify(doc)) });

test('a dockerconfigjson Secret gives one entry per registry, auth derived when missing', () => {
  const parsed = parseSourceSecret('kubernetes.io/dockerconfigjson', json({ auths: {
    'https://r.io/': { username: 'u', password: 'pw', email: 'e@x' },
    'docker.io': { auth: b64('hub:tok') },
  } }));
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(parsed.entries, [
    { registry: 'https://index.docker.io/v1/', auth: b64('hub:tok') },
    { registry: 'r.io', auth: b64('u:pw'), username: 'u', password: 'pw', email: 'e@x' },
  ]);
});

test('a legacy dockercfg Secret is the auths object itself', () => {
  const parsed = parseSourceSecret('kubernetes.io/dockercfg', { '.dockercfg': b64(JSON.stringify({ 'r.io': { auth: b64('a:b') } })) });
  assert.deepEqual(parsed.entries, [{ registry: 'r.io', auth: b64('a:b') }]);
});

test('identitytoken is kept', () => {
  const parsed = parseSourceSecret('kubernetes.io/dockerconfigjson', json({ auths: { 'r.io': { auth: b64('<token>:'), identitytoken: 'idt' } } }));
  assert.equal(parsed.entries[0]?.identitytoken, 'idt');
});

test('broken Secrets give problems that name keys and registries but never values', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['Opaque', { x: b64('SECRETVALUE') }, /is not kubernetes.io\/dockerconfigjson/],
    ['kubernetes.io/dockerconfigjson', {}, /key .dockerconfigjson is missing/],
    ['kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64('{SECRETVALUE') }, /not valid JSON/],
    ['kubernetes.io/dockerconfigjson', json(['SECRETVALUE']), /not a JSON object/],
    ['kubernetes.io/dockerconfigjson', json({ SECRETVALUE: 1 }), /no "auths" object/],
    ['kubernetes.io/dockerconfigjson', json({ auths: { 'r.io': { password: 'SECRETVALUE' } } }), /r.io has neither auth nor/],
    ['kubernetes.io/dockerconfigjson', json({ auths: { 'r.io': { auth: 'SECRETVALUE!!' } } }), /r.io has an auth field that is not/],
    ['kubernetes.io/dockerconfigjson', json({ auths: { 'r.io': 'SECRETVALUE' } }), /r.io is not an object/],
  ];
  for (const [type, data, want] of cases) {
    const { entries, problems } = parseSourceSecret(type, data);
    assert.deepEqual(entries, [], type);
    assert.match(problems.join('\n'), want);
    assert.doesNotMatch(problems.join('\n'), /SECRETVALUE/);
  }
});

test('one bad entry does not hide the good ones', () => {
  const parsed = parseSourceSecret('kubernetes.io/dockerconfigjson', json({ auths: { 'a.io': { auth: b64('u:p') }, 'b.io': {} } }));
  assert.deepEqual(parsed.entries.map((e) => e.registry), ['a.io']);
  assert.equal(parsed.problems.length, 1);
});

test('a Secret type named like an Object.prototype property is refused by name', () => {
  for (const type of ['constructor', 'toString', '__proto__']) {
    assert.deepEqual(parseSourceSecret(type, { '.dockerconfigjson': 'e30=' }).problems,
      [`type "${type}" is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg`]);
  }
});
