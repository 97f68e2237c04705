import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAuth, encodeAuth, loginEntry, parseSourceSecret } from '../../../src/dockerconfig/parse.ts';

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

test('a registry key with user information is refused, and bad keys are named by position, never by text', () => {
  const parsed = parseSourceSecret('kubernetes.io/dockerconfigjson', json({ auths: {
    'ok.io': { auth: b64('u:p') },
    'https://bob:SECRETVALUE@r.io': { auth: b64('u:p') },
    'SECRETVALUE here': { auth: b64('u:p') },
  } }));
  assert.deepEqual(parsed.entries.map((e) => e.registry), ['ok.io']);
  assert.deepEqual(parsed.problems, [
    'auths key #2 carries user information (user:password@); put credentials in the entry, not the key',
    'auths key #3 names no registry',
  ]);
});

test('spellings of one registry in one source: the canonical spelling wins, else the first; the others are shadowed', () => {
  const spellings = json({ auths: {
    'https://r.io': { auth: b64('a:1') }, 'r.io/': { auth: b64('b:2') }, 'r.io': { auth: b64('c:3') }, 'HTTPS://R.IO/v2/': { auth: b64('d:4') },
    'docker.io': { auth: b64('e:5') }, 'index.docker.io': { auth: b64('f:6') },
  } });
  const parsed = parseSourceSecret('kubernetes.io/dockerconfigjson', spellings);
  assert.deepEqual(parsed.entries.map((e) => [e.registry, e.auth]), [['https://index.docker.io/v1/', b64('e:5')], ['r.io', b64('c:3')]]);
  assert.deepEqual(parsed.shadowed, ['r.io (auths key #1)', 'r.io (auths key #2)', 'r.io (auths key #4)',
    'https://index.docker.io/v1/ (auths key #6)']);
  assert.deepEqual(parsed.problems, []);
});

test('auth values: encoded from a login, decoded only when they are base64 of user:password', () => {
  assert.equal(encodeAuth('AWS', 'p:w'), b64('AWS:p:w'));
  assert.deepEqual(decodeAuth(b64('AWS:p:w')), { username: 'AWS', password: 'p:w' });
  assert.deepEqual(decodeAuth(b64('AWS:p').replace(/=+$/, '')), { username: 'AWS', password: 'p' }, 'padding may be left out');
  for (const bad of [b64('nocolon'), b64(':password'), 'not base64!', '']) assert.equal(decodeAuth(bad), undefined, bad);
  assert.deepEqual(loginEntry('r.io', 'u', 'pw'), { registry: 'r.io', auth: b64('u:pw'), username: 'u', password: 'pw' });
});

test('an over-long registry key is refused by length, never quoted; one at the bound is accepted', () => {
  const long = `r.io/${'k'.repeat(20_000)}`;
  const atBound = `r.io/${'p'.repeat(250)}`; // 255 characters
  const parsed = parseSourceSecret('kubernetes.io/dockerconfigjson', json({ auths: {
    [long]: { username: 'u', password: 'pw' },
    [`https://${atBound}/v1/`]: { username: 'u', password: 'pw' },
    [`${atBound}x`]: { username: 'u', password: 'pw' },
  } }));
  assert.deepEqual(parsed.problems, [
    'auths key #1 is 20005 characters long; a registry key has at most 255 (the longest image name)',
    'auths key #3 is 256 characters long; a registry key has at most 255 (the longest image name)',
  ]);
  assert.deepEqual(parsed.entries.map((e) => e.registry), [atBound]);
});
