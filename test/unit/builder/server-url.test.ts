import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServerURL } from '../../../src/builder/server-url.ts';

test('serverURLs Docker clients send parse to a registry key, with the repository when named', () => {
  const cases: [string, object][] = [
    ['r.io', { host: 'r.io', key: 'r.io' }],
    ['https://R.io:5000/', { host: 'r.io:5000', key: 'r.io:5000' }],
    ['https://index.docker.io/v1/', { host: 'docker.io', key: 'https://index.docker.io/v1/' }],
    ['docker.io/team/app', { host: 'docker.io', repository: 'team/app', key: 'https://index.docker.io/v1/' }],
    ['gcr.io/proj/app', { host: 'gcr.io', repository: 'proj/app', key: 'gcr.io/proj/app' }],
    ['127.0.0.1:5000/team/app', { host: '127.0.0.1:5000', repository: 'team/app', key: '127.0.0.1:5000/team/app' }],
    ['[::1]:5000', { host: '[::1]:5000', key: '[::1]:5000' }],
  ];
  for (const [raw, want] of cases) assert.deepEqual(parseServerURL(raw), want, raw);
});

test('anything outside the grammar is refused naming the rule it breaks', () => {
  const cases: [string, RegExp][] = [
    ['ftp://host', /only use the https scheme/],
    ['http://host', /only use the https scheme/],
    [' host ', /no spaces/],
    ['host name', /no spaces/],
    ['', /empty/],
    ['host/../../evil.io', /no dot segments/],
    ['gcr.io/proj/../other', /no dot segments/],
    ['gcr.io/./proj', /no dot segments/],
    ['https://user:pw@r.io', /no user information/],
    ['r.io?x=1', /no query or fragment/],
    ['r.io#f', /no query or fragment/],
    ['-bad-.io', /registry host/],
    ['r.io:99999999', /registry host/],
    ['r.io/Team', /repository name/],
    ['r.io//app', /repository name/],
  ];
  for (const [raw, rule] of cases) {
    const got = parseServerURL(raw);
    assert.equal(typeof got, 'string', raw);
    assert.match(got as string, rule, raw);
    if (raw.length > 3) assert.ok(!(got as string).includes(raw.trim()), 'the message does not echo the input');
  }
});
