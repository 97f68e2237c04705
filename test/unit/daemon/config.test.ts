// `run`'s flags, table-driven: every flag that takes a value refuses bad ones with one line that names
// the flag (or the environment variable the value came from), says what a good value looks like and
// quotes what was given; good values parse to what the daemon uses.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scratchDir } from '../../support/scratch.ts';
import { ConfigError, flags, parseConfig, usage } from '../../../src/daemon/config.ts';

const dir = scratchDir('config-test');
const file = join(dir, 'present.pem');
writeFileSync(file, 'x');
const missing = join(dir, 'missing.pem');

/** What a bad value of each kind is told it must be. */
const EXPECT = {
  count: /must be a whole number of at least 1, such as 4/,
  rate: /must be a number greater than 0, such as 50 or 0\.5/,
  fraction: /must be a number between 0 and 1 \(both excluded\), such as 0\.5/,
  duration: /must be a duration from 1ms to 24h, such as 30s, 2m or 500ms \(a bare number is seconds\)/,
  bool: /must be true or false/,
  address: /must be \[host\]:port with a port from 0 to 65535, such as :8080 or 127\.0\.0\.1:8080/,
  dnsLabel: /must be a DNS label \(lowercase letters, digits and "-", at most 63 characters\), such as pullsecret-sync/,
  text: /must be a non-empty value/,
  file: /must be the path of a readable file/,
};

/** Every flag of `run` with bad values and the message each gets. Flags with a partner are given it. */
const BAD: Record<string, { values: string[]; expect: RegExp; with?: string[] }> = {
  kubeconfig: { values: ['', missing, dir], expect: EXPECT.file },
  context: { values: [''], expect: EXPECT.text },
  namespace: { values: ['', 'Pullsecret', 'a_b', 'x'.repeat(64), '-a'], expect: EXPECT.dnsLabel },
  'leader-elect': { values: ['', 'yes', 'TRUE', 'on'], expect: EXPECT.bool },
  'metrics-addr': { values: ['', '8080', ':', ':http', ':65536', ':99999', 'a b:1'], expect: EXPECT.address },
  'health-addr': { values: ['localhost', ':-1'], expect: EXPECT.address },
  'builder-addr': { values: ['[::1]', ':70000'], expect: EXPECT.address },
  'log-level': { values: ['', 'INFO', 'verbose', 'fatal'], expect: /must be one of trace, debug, info, warn, error/ },
  concurrency: { values: ['', '0', '-1', '1.5', 'abc', '0x10', '1e3', ' 4', '99999999999999999999'], expect: EXPECT.count },
  'kube-qps': { values: ['', 'abc', '0', '-5', 'Infinity', 'NaN', '0x10', '1e3', '5qps'], expect: EXPECT.rate },
  'kube-burst': { values: ['', '0', '2.5', 'abc'], expect: EXPECT.count },
  'token-refresh-fraction': { values: ['', '0', '1', '1.5', '-0.5', 'half', '50%'], expect: EXPECT.fraction },
  'token-timeout': { values: ['', '0', '0s', 'abc', '-1', '30sec', '1d', '25h', '1e3', '0.5ms', '30 s'], expect: EXPECT.duration },
  'shutdown-timeout': { values: ['', '0', 'ten', '1000000000'], expect: EXPECT.duration },
  'work-stall-timeout': { values: ['', '0ms', '3min', '86401'], expect: EXPECT.duration },
  'builder-audience': { values: [''], expect: EXPECT.text },
  'builder-tls-cert': { values: ['', missing, dir], expect: /must be (a non-empty value|the path of a readable file)/, with: ['--builder-tls-key', file] },
  'builder-tls-key': { values: [missing], expect: EXPECT.file, with: ['--builder-tls-cert', file] },
  'builder-tls-ca': { values: [missing, dir], expect: EXPECT.file, with: ['--builder-tls-cert', file, '--builder-tls-key', file] },
  'builder-service': { values: ['', 'Bad.Name', 'a.b', 'x'.repeat(64)], expect: EXPECT.dnsLabel },
  'outbound-hosts': { values: ['http://127.0.0.1', '127.0.0.1,a/b', 'x:99999', 'user@host', '*.'],
    expect: /must be a comma-separated list of hosts, host:port or \*\.domain, such as 169\.254\.169\.254,\*\.corp\.example/ },
  'outbound-files': { values: ['relative', '/var/run/tokens,tokens'], expect: /must be a comma-separated list of absolute directories/ },
  identity: { values: [''], expect: EXPECT.text },
  'azure-federated-token-file': { values: [missing, dir], expect: EXPECT.file },
  'gcp-universe-domain': { values: ['Googleapis.com', 'https://googleapis.com', 'a..b'], expect: /must be a DNS name \(lowercase letters, digits, "-" and "\."\), such as googleapis\.com/ },
  'adopt-imps-secrets': { values: ['', 'yes', 'TRUE', 'on'], expect: EXPECT.bool },
  'admission-engine': { values: ['', 'Auto', 'webhooks', 'none'], expect: /must be one of auto, policy, webhook, off/ },
  'webhook-addr': { values: ['9443', ':70000'], expect: EXPECT.address },
  'webhook-timeout': { values: ['', '0s', '500ms', '1.5s', '31s', '1m', 'abc'], expect: /must be whole seconds from 1s to 30s, such as 2s/ },
  'webhook-drain': { values: ['', '0s', 'abc', '25h'], expect: EXPECT.duration },
  'webhook-url': { values: ['', 'http://127.0.0.1:9443', 'https://u:p@h', 'https://h/?q=1', 'not a url'],
    expect: /must be an https URL without query, fragment or user, such as https:\/\/127\.0\.0\.1:9443/ },
};

test('the Lease identity and the cloud settings come from the variables their platforms set, or flags', () => {
  const none = parseConfig([], {});
  assert.deepEqual([none.identity, none.azureFederatedTokenFile, none.gcpUniverseDomain], [undefined, undefined, undefined]);
  const given = parseConfig([], { POD_NAME: 'pullsecret-sync-7d9f-x2', AZURE_FEDERATED_TOKEN_FILE: file, GOOGLE_CLOUD_UNIVERSE_DOMAIN: 's3nsapis.fr' });
  assert.deepEqual([given.identity, given.azureFederatedTokenFile, given.gcpUniverseDomain], ['pullsecret-sync-7d9f-x2', file, 's3nsapis.fr']);
  assert.equal(parseConfig(['--identity=a'], { POD_NAME: 'b' }).identity, 'a');
  assert.match(refusal([], { AZURE_FEDERATED_TOKEN_FILE: missing }),
    /^run: AZURE_FEDERATED_TOKEN_FILE \(--azure-federated-token-file\) must be the path of a readable file; .*\(no such file\)/);
});

test('outbound flags: none by default; lists from the flag or its variable', () => {
  const none = parseConfig([], {});
  assert.deepEqual([none.outboundHosts, none.outboundFiles], [[], []]);
  const given = parseConfig(['--outbound-hosts=169.254.169.254, *.corp.example,127.0.0.1:8443'], { PULLSECRET_SYNC_OUTBOUND_FILES: '/var/run/tokens/' });
  assert.deepEqual(given.outboundHosts, ['169.254.169.254', '*.corp.example', '127.0.0.1:8443']);
  assert.deepEqual(given.outboundFiles, ['/var/run/tokens/']);
  assert.match(refusal(['--outbound-hosts=a/b']), /got "a\/b" \("a\/b" is not one\)/);
  assert.match(usage(), /--outbound-hosts .*\(env PULLSECRET_SYNC_OUTBOUND_HOSTS\)/);
  assert.match(usage(), /--outbound-files .*\(env PULLSECRET_SYNC_OUTBOUND_FILES\)/);
});

test('the webhook drains for 3 s by default, and for at most half the shutdown timeout', () => {
  assert.equal(parseConfig([], {}).webhookDrainMs, 3000);
  assert.equal(parseConfig(['--webhook-drain=500ms'], {}).webhookDrainMs, 500);
  assert.equal(parseConfig(['--webhook-drain=10s'], {}).webhookDrainMs, 5000);
  assert.equal(parseConfig(['--webhook-drain=10s', '--shutdown-timeout=30s'], {}).webhookDrainMs, 10_000);
  assert.equal(parseConfig(['--shutdown-timeout=2s'], {}).webhookDrainMs, 1000);
});

function refusal(args: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(args, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.message;
  }
  return assert.fail(`${args.join(' ')} was accepted`);
}

test('the table covers every flag of run', () => {
  assert.deepEqual(Object.keys(BAD).sort(), Object.keys(flags).sort());
});

for (const [name, bad] of Object.entries(BAD)) {
  test(`--${name}: every bad value is refused with one line naming the flag, the rule and the value`, () => {
    for (const value of bad.values) {
      const message = refusal([`--${name}=${value}`, ...(bad.with ?? [])]);
      assert.doesNotMatch(message, /\n/);
      assert.ok(message.startsWith(`run: --${name} must be `), message);
      assert.match(message, bad.expect);
      assert.ok(message.includes(`got "${value}"`), message);
      assert.match(message, /\(see pullsecret-sync run --help\)$/);
    }
  });
}

test('a bad value from the environment names the variable and the flag it stands for', () => {
  const message = refusal([], { PULLSECRET_SYNC_KUBE_QPS: 'abc' });
  assert.match(message, /^run: PULLSECRET_SYNC_KUBE_QPS \(--kube-qps\) must be a number greater than 0, such as 50 or 0\.5; got "abc"/);
  assert.match(refusal([], { POD_NAMESPACE: 'Bad' }), /^run: POD_NAMESPACE \(--namespace\) must be a DNS label/);
  assert.match(refusal([], { KUBECONFIG: missing }), new RegExp(`^run: KUBECONFIG \\(--kubeconfig\\) must be the path of a readable file, or a ":"-separated list of paths of which at least one exists; got "${missing}" \\(no such file\\)`));
});

test('flags win over the environment; an empty environment variable counts as unset', () => {
  assert.equal(parseConfig(['--kube-qps=5'], { PULLSECRET_SYNC_KUBE_QPS: 'abc' }).kubeQps, 5);
  assert.equal(parseConfig([], { PULLSECRET_SYNC_KUBE_QPS: '' }).kubeQps, 50);
  assert.equal(parseConfig([], { POD_NAMESPACE: '', KUBECONFIG: '' }).namespace, 'pullsecret-sync');
});

test('a missing or unreadable file says why', () => {
  assert.match(refusal([`--kubeconfig=${missing}`]), /\(no such file\)/);
  assert.match(refusal([`--kubeconfig=${dir}`]), /\(not a file\)/);
});

test('KUBECONFIG is a path list as kubectl reads it: missing entries are skipped, one must exist, present ones must be files', () => {
  assert.equal(parseConfig([], { KUBECONFIG: `${missing}:${file}` }).kubeconfig, `${missing}:${file}`);
  assert.match(refusal([], { KUBECONFIG: `${missing}:${missing}2` }), /\(none of its files exists\)/);
  assert.match(refusal([], { KUBECONFIG: `${file}:${dir}` }), new RegExp(`\\(${dir}: not a file\\)`));
});

test('good values parse; durations take a unit, and a bare number is seconds', () => {
  const c = parseConfig([`--kubeconfig=${file}`, '--context=ctx', '--namespace=ops', '--leader-elect=0', '--metrics-addr=[::1]:0',
    '--health-addr=127.0.0.1:65535', '--builder-addr=:8443', '--log-level=warn', '--concurrency=16', '--kube-qps=.5', '--kube-burst=1',
    '--token-refresh-fraction=0.75', '--token-timeout=2m', '--shutdown-timeout=1.5', '--work-stall-timeout=500ms'], {});
  assert.deepEqual(
    [c.kubeconfig, c.context, c.namespace, c.leaderElect, c.metricsAddr, c.healthAddr, c.builderAddr, c.logLevel, c.concurrency, c.kubeQps, c.kubeBurst,
      c.tokenRefreshFraction, c.tokenTimeoutMs, c.shutdownTimeoutMs, c.workStallTimeoutMs],
    [file, 'ctx', 'ops', false, '[::1]:0', '127.0.0.1:65535', ':8443', 'warn', 16, 0.5, 1, 0.75, 120_000, 1500, 500]);
  const defaults = parseConfig([], {});
  assert.deepEqual([defaults.tokenTimeoutMs, defaults.shutdownTimeoutMs, defaults.workStallTimeoutMs], [30_000, 10_000, 180_000]);
  assert.equal(parseConfig(['--token-timeout=1h'], {}).tokenTimeoutMs, 3_600_000);
  assert.equal(parseConfig(['--shutdown-timeout=86400'], {}).shutdownTimeoutMs, 86_400_000);
});

test('the builder TLS files go together', () => {
  assert.match(refusal([`--builder-tls-cert=${file}`]), /^run: --builder-tls-cert and --builder-tls-key go together: give both, or neither/);
  assert.match(refusal([`--builder-tls-key=${file}`]), /go together/);
  assert.match(refusal([`--builder-tls-ca=${file}`]), /^run: --builder-tls-ca goes with --builder-tls-cert and --builder-tls-key/);
  const c = parseConfig([`--builder-tls-cert=${file}`, `--builder-tls-key=${file}`, `--builder-tls-ca=${file}`], {});
  assert.deepEqual([c.builderTlsCert, c.builderTlsKey, c.builderTlsCa], [file, file, file]);
});

test('a flag without its value, a positional argument and an unknown flag are refused with the help pointer', () => {
  assert.match(refusal(['--concurrency']), /^run: Option '--concurrency <value>' argument missing \(see pullsecret-sync run --help\)$/);
  assert.match(refusal(['now']), /^run: Unexpected argument 'now'.*\(see pullsecret-sync run --help\)$/);
  assert.match(refusal(['--kube-qbs=5']), /^run: unknown flag --kube-qbs; did you mean --kube-qps\? \(see pullsecret-sync run --help\)$/);
});

test('run --help lists every flag with its environment variable and default', () => {
  const text = usage();
  for (const [name, spec] of Object.entries(flags)) {
    const line = text.split('\n').find((l) => l.trimStart().startsWith(`--${name} `));
    assert.ok(line, `--${name} is listed`);
    assert.ok(line.includes(`env ${spec.env}`), line);
    if (spec.default) assert.ok(line.includes(`default ${spec.default}`), line);
  }
});
