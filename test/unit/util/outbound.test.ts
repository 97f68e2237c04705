import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutboundPolicy, parseDirEntry, parseHostEntry } from '../../../src/util/outbound.ts';

const GOOGLE = ['sts.googleapis.com'];
const ACR = ['*.azurecr.io'];

test('URLs: public endpoints over https on the default port; anything else only when --outbound-hosts lists it', () => {
  const none = new OutboundPolicy();
  const listed = new OutboundPolicy({ hosts: ['127.0.0.1:8443', 'localhost', '169.254.169.254', '*.corp.example', '[::1]:80', 'proxy.example:80'] });
  const cases: [string, unknown, readonly string[], string | undefined, string | undefined][] = [
    // what, value, public hosts, problem by default, problem with the hosts above (undefined: allowed)
    ['public host', 'https://sts.googleapis.com/v1/token', GOOGLE, undefined, undefined],
    ['public host, explicit 443', 'https://sts.googleapis.com:443/v1/token', GOOGLE, undefined, undefined],
    ['public host, other port', 'https://sts.googleapis.com:8443/v1/token', GOOGLE, 'f must be https on the default port', 'f must be https on the default port'],
    ['public host over http', 'http://sts.googleapis.com/v1/token', GOOGLE, 'f must be https on the default port', 'f must be https on the default port'],
    ['public suffix', 'https://reg.azurecr.io/oauth2/exchange', ACR, undefined, undefined],
    ['the bare suffix is no host of it', 'https://azurecr.io/', ACR, 'f names a host outside *.azurecr.io that --outbound-hosts does not list', 'f names a host outside *.azurecr.io that --outbound-hosts does not list'],
    ['a look-alike', 'https://sts.googleapis.com.evil.example/', GOOGLE, 'f names a host outside sts.googleapis.com that --outbound-hosts does not list', 'f names a host outside sts.googleapis.com that --outbound-hosts does not list'],
    ['trailing dot', 'https://sts.googleapis.com./', GOOGLE, 'f names a host outside sts.googleapis.com that --outbound-hosts does not list', 'f names a host outside sts.googleapis.com that --outbound-hosts does not list'],
    ['no public host for the field', 'https://sts.googleapis.com/', [], 'f names a host that --outbound-hosts does not list', 'f names a host that --outbound-hosts does not list'],
    ['loopback, listed port', 'https://127.0.0.1:8443/token', GOOGLE, 'f names a host outside sts.googleapis.com that --outbound-hosts does not list', undefined],
    ['loopback, another port', 'http://127.0.0.1:15000/', GOOGLE, 'f names a host outside sts.googleapis.com that --outbound-hosts does not list', 'f names a host outside sts.googleapis.com that --outbound-hosts does not list'],
    ['loopback as a number', 'https://2130706433:8443/', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['loopback in hex', 'https://0x7f.0.0.1:8443/', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['a host listed without port: any port, http too', 'http://localhost:9999/', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['link-local metadata', 'http://169.254.169.254/latest/meta-data', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['IPv6 loopback, listed with port 80', 'http://[::1]/', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['IPv6 loopback, other port', 'http://[::1]:81/', [], 'f names a host that --outbound-hosts does not list', 'f names a host that --outbound-hosts does not list'],
    ['http default port listed as 80', 'http://proxy.example/', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['listed suffix', 'https://sts.corp.example/', [], 'f names a host that --outbound-hosts does not list', undefined],
    ['listed suffix, not the bare domain', 'https://corp.example/', [], 'f names a host that --outbound-hosts does not list', 'f names a host that --outbound-hosts does not list'],
    ['user info', 'https://user:pw@sts.googleapis.com/', GOOGLE, 'f must not carry a user name or password', 'f must not carry a user name or password'],
    ['user info on a listed host', 'http://user@localhost/', [], 'f must not carry a user name or password', 'f must not carry a user name or password'],
    ['file URL', 'file:///etc/passwd', [], 'f is not an http(s) URL', 'f is not an http(s) URL'],
    ['not a URL', 'sts.googleapis.com/v1/token', GOOGLE, 'f is not a URL', 'f is not a URL'],
    ['not a string', 42, GOOGLE, 'f is not a URL', 'f is not a URL'],
  ];
  for (const [what, value, publicHosts, byDefault, withHosts] of cases) {
    assert.equal(none.urlProblem('f', value, publicHosts), byDefault, `${what}, by default`);
    assert.equal(listed.urlProblem('f', value, publicHosts), withHosts, `${what}, with --outbound-hosts`);
  }
});

test('problems name the field and never the value', () => {
  const secretish = 'https://attacker.example/collect?token=abc123';
  const problem = new OutboundPolicy().urlProblem('credential_source.url', secretish, []);
  assert.ok(problem?.startsWith('credential_source.url '), problem);
  if (problem === undefined) return;
  assert.ok(!problem.includes('attacker') && !problem.includes('abc123'), problem);
});

test('hosts: a registry host is an https URL of its own', () => {
  const policy = new OutboundPolicy({ hosts: ['127.0.0.1'] });
  const cases: [string, string | undefined][] = [
    ['myregistry.azurecr.io', undefined],
    ['myregistry.azurecr.io:5000', 'registry must be https on the default port'],
    ['127.0.0.1:5000', undefined],
    ['evil.example', 'registry names a host outside *.azurecr.io that --outbound-hosts does not list'],
    ['myregistry.azurecr.io/path', 'registry is not a URL'],
    ['user@myregistry.azurecr.io', 'registry is not a URL'],
  ];
  for (const [host, want] of cases) assert.equal(policy.hostProblem('registry', host, ACR), want, host);
});

test('files: only under a directory of --outbound-files, by normalised absolute path', () => {
  const none = new OutboundPolicy();
  const tokens = new OutboundPolicy({ files: ['/var/run/secrets/tokens/', '/projected'] });
  const cases: [unknown, boolean][] = [
    ['/var/run/secrets/tokens/gcp-token', true],
    ['/var/run/secrets/tokens/..data/gcp-token', true],
    ['/projected/a/b', true],
    ['/var/run/secrets/tokens', false],
    ['/var/run/secrets/tokens-other/x', false],
    ['/var/run/secrets/tokens/../../../etc/passwd', false],
    ['/var/run/secrets/tokens//gcp-token', false],
    ['/var/run/secrets/tokens/./gcp-token', false],
    ['var/run/secrets/tokens/gcp-token', false],
    ['/etc/passwd', false],
    [42, false],
  ];
  for (const [file, allowed] of cases) {
    const problem = tokens.fileProblem('credential_source.file', file);
    assert.equal(problem === undefined, allowed, String(file));
    if (problem) assert.equal(problem, 'credential_source.file is refused: it is not under a directory of --outbound-files');
    assert.equal(none.fileProblem('credential_source.file', file),
      'credential_source.file is refused: the daemon reads no file that a Secret names unless --outbound-files lists its directory');
  }
  assert.equal(new OutboundPolicy({ files: ['/'] }).fileProblem('f', '/etc/passwd'), undefined, 'an operator may allow everything');
});

test('flag entries: hosts, host:port, *.domain and absolute directories', () => {
  assert.deepEqual(parseHostEntry('169.254.169.254'), { host: '169.254.169.254', suffix: false });
  assert.deepEqual(parseHostEntry('LOCALHOST:8080'), { host: 'localhost', suffix: false, port: '8080' });
  assert.deepEqual(parseHostEntry('[::1]:80'), { host: '[::1]', suffix: false, port: '80' });
  assert.deepEqual(parseHostEntry('*.corp.example'), { host: 'corp.example', suffix: true });
  for (const bad of ['', '*.', 'http://x', 'a/b', 'x:99999', 'user@x', 'a b']) assert.equal(parseHostEntry(bad), undefined, bad);
  assert.equal(parseDirEntry('/var/run/tokens/'), '/var/run/tokens');
  assert.equal(parseDirEntry('/'), '/');
  assert.equal(parseDirEntry('/a/../b/./c'), '/b/c');
  for (const bad of ['relative', './x', '']) assert.equal(parseDirEntry(bad), undefined, bad);
  assert.throws(() => new OutboundPolicy({ hosts: ['http://x'] }), /is not a host/);
});
