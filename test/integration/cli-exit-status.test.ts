// The binary as a user runs it, one process per case: `--help` of every command exits 0 with its usage
// on stdout; every usage error (an unknown command or flag, a missing operand, a bad value of any flag of
// `run`, from the command line or the environment; a kubeconfig, TLS files or an address that cannot be used)
// prints exactly one line on stderr saying what is wrong and how to fix it, and exits 2. No cluster is
// contacted: the kubeconfig points at a closed port, and every case fails before using it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scratchDir } from '../support/scratch.ts';
import { flags } from '../../src/daemon/config.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = scratchDir('cli-exit');
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: closed, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: nobody, user: {token: unused}}]
contexts: [{name: only, context: {cluster: closed, user: nobody}}]
current-context: only
`);
const pem = join(dir, 'present.pem');
writeFileSync(pem, 'not a PEM certificate, nor a key');
const missing = join(dir, 'missing.pem');
/** Should a case start the daemon after all, it binds nothing fixed and finds no cluster: it cannot pass. */
const SAFE = [`--kubeconfig=${kubeconfig}`, '--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', '--builder-addr=127.0.0.1:0', '--webhook-addr=127.0.0.1:0'];

interface Ran { code: number | string; stdout: string; stderr: string }

/** Runs `pullsecret-sync ARGS` with no configuration from this process's environment; killed after 20 s. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    k !== 'KUBECONFIG' && k !== 'POD_NAMESPACE' && !k.startsWith('PULLSECRET_SYNC_')));
  const child = spawn(join(root, 'node_modules', '.bin', 'node'), ['--import', 'tsx', join(root, 'src', 'main.ts'), ...args],
    { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const deadline = setTimeout(() => { child.kill('SIGKILL'); }, 20_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

/** Exit 2, nothing on stdout, and exactly one line on stderr matching `expect`. */
function assertUsageError(ran: Ran, expect: RegExp): void {
  assert.equal(ran.code, 2, `exit status (stderr: ${ran.stderr})`);
  assert.equal(ran.stdout, '');
  assert.match(ran.stderr, /^pullsecret-sync: [^\n]+\n$/, 'one line on stderr');
  assert.match(ran.stderr, expect);
}

/** One bad value of every flag of `run`, as a process sees it. */
const RUN_FLAGS: Record<string, { args: string[]; expect: RegExp }> = {
  kubeconfig: { args: [`--kubeconfig=${missing}`], expect: /run: --kubeconfig must be the path of a readable file, or a ":"-separated list .*; got ".*missing\.pem" \(no such file\)/ },
  context: { args: ['--context=elsewhere'], expect: /run: context "elsewhere" is not in the kubeconfig; its contexts: only$/m },
  namespace: { args: ['--namespace=Ops_Team'], expect: /run: --namespace must be a DNS label .*; got "Ops_Team"/ },
  'leader-elect': { args: ['--leader-elect=yes'], expect: /run: --leader-elect must be true or false; got "yes"/ },
  'metrics-addr': { args: ['--metrics-addr=8080'], expect: /run: --metrics-addr must be \[host\]:port .*, such as :8080 or 127\.0\.0\.1:8080; got "8080"/ },
  'health-addr': { args: ['--health-addr=:99999'], expect: /run: --health-addr must be \[host\]:port with a port from 0 to 65535.*; got ":99999"/ },
  'builder-addr': { args: ['--builder-addr=localhost'], expect: /run: --builder-addr must be \[host\]:port.*; got "localhost"/ },
  'log-level': { args: ['--log-level=verbose'], expect: /run: --log-level must be one of trace, debug, info, warn, error; got "verbose"/ },
  concurrency: { args: ['--concurrency=0'], expect: /run: --concurrency must be a whole number of at least 1, such as 4; got "0"/ },
  'kube-qps': { args: ['--kube-qps=abc'], expect: /run: --kube-qps must be a number greater than 0, such as 50 or 0\.5; got "abc"/ },
  'kube-burst': { args: ['--kube-burst=1.5'], expect: /run: --kube-burst must be a whole number of at least 1.*; got "1\.5"/ },
  'token-refresh-fraction': { args: ['--token-refresh-fraction=1'], expect: /run: --token-refresh-fraction must be a number between 0 and 1 .*; got "1"/ },
  'token-timeout': { args: ['--token-timeout=30sec'], expect: /run: --token-timeout must be a duration from 1ms to 24h, such as 30s, 2m or 500ms \(a bare number is seconds\); got "30sec"/ },
  'shutdown-timeout': { args: ['--shutdown-timeout=0'], expect: /run: --shutdown-timeout must be a duration .*; got "0"/ },
  'work-stall-timeout': { args: ['--work-stall-timeout=25h'], expect: /run: --work-stall-timeout must be a duration .*; got "25h"/ },
  'builder-audience': { args: ['--builder-audience='], expect: /run: --builder-audience must be a non-empty value; got ""/ },
  'builder-tls-cert': { args: [`--builder-tls-cert=${pem}`], expect: /run: --builder-tls-cert and --builder-tls-key go together: give both, or neither/ },
  'builder-tls-key': { args: [`--builder-tls-cert=${pem}`, `--builder-tls-key=${missing}`], expect: /run: --builder-tls-key must be the path of a readable file; got ".*missing\.pem" \(no such file\)/ },
  'builder-tls-ca': { args: [`--builder-tls-ca=${pem}`], expect: /run: --builder-tls-ca goes with --builder-tls-cert and --builder-tls-key/ },
  'builder-service': { args: ['--builder-service=Bad.Name'], expect: /run: --builder-service must be a DNS label .*; got "Bad\.Name"/ },
  'outbound-hosts': { args: ['--outbound-hosts=a b'], expect: /run: --outbound-hosts must be a comma-separated list of hosts, host:port or \*\.domain.*; got "a b"/ },
  'outbound-files': { args: ['--outbound-files=relative/dir'], expect: /run: --outbound-files must be a comma-separated list of absolute directories.*; got "relative\/dir"/ },
  identity: { args: ['--identity='], expect: /run: --identity must be a non-empty value; got ""/ },
  'azure-federated-token-file': { args: [`--azure-federated-token-file=${missing}`], expect: /run: --azure-federated-token-file must be the path of a readable file; got ".*missing\.pem" \(no such file\)/ },
  'gcp-universe-domain': { args: ['--gcp-universe-domain=Bad_Domain'], expect: /run: --gcp-universe-domain must be a DNS name .*; got "Bad_Domain"/ },
  'adopt-imps-secrets': { args: ['--adopt-imps-secrets=maybe'], expect: /run: --adopt-imps-secrets must be true or false; got "maybe"/ },
  'admission-engine': { args: ['--admission-engine=mutating'], expect: /run: --admission-engine must be one of auto, policy, webhook, off; got "mutating"/ },
  'webhook-addr': { args: ['--webhook-addr=9443'], expect: /run: --webhook-addr must be \[host\]:port .*, such as :8080 or 127\.0\.0\.1:8080; got "9443"/ },
  'webhook-timeout': { args: ['--webhook-timeout=45s'], expect: /run: --webhook-timeout must be whole seconds from 1s to 30s, such as 2s; got "45s"/ },
  'webhook-drain': { args: ['--webhook-drain=soon'], expect: /run: --webhook-drain must be a duration .*; got "soon"/ },
  'webhook-url': { args: ['--webhook-url=http://x'], expect: /run: --webhook-url must be an https URL without query, fragment or user.*; got "http:\/\/x"/ },
};

test('the table has a case for every flag of run', () => {
  assert.deepEqual(Object.keys(RUN_FLAGS).sort(), Object.keys(flags).sort());
});

test('run: a bad value of any flag is one line on stderr and exit 2', { concurrency: 4 }, async (t) => {
  await Promise.all(Object.entries(RUN_FLAGS).map(([name, c]) => t.test(`--${name}`, async () => {
    assertUsageError(await cli(['run', ...SAFE, ...c.args]), c.expect);
  })));
});

test('run: a bad value from the environment names the variable and its flag', async () => {
  assertUsageError(await cli(['run', ...SAFE], { PULLSECRET_SYNC_KUBE_QPS: 'fast' }),
    /run: PULLSECRET_SYNC_KUBE_QPS \(--kube-qps\) must be a number greater than 0, such as 50 or 0\.5; got "fast"/);
});

let busy: Server;
before(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
});
after(() => { busy.close(); });

test('run: an address in use is named with its flag, and the process exits although the metrics server was already up', async () => {
  const addr = `127.0.0.1:${String((busy.address() as { port: number }).port)}`;
  assertUsageError(await cli(['run', ...SAFE, `--health-addr=${addr}`]),
    new RegExp(`run: --health-addr ${addr}: the address is in use; choose a free port`));
});

test('usage errors of every command, and of the command line itself, exit 2', { concurrency: 4 }, async (t) => {
  const cases: [string[], RegExp][] = [
    [['run', '--kube-qbs=5'], /run: unknown flag --kube-qbs; did you mean --kube-qps\? \(see pullsecret-sync run --help\)/],
    [['run', '--concurrency'], /run: Option '--concurrency <value>' argument missing \(see pullsecret-sync run --help\)/],
    [['run', ...SAFE, `--builder-tls-cert=${pem}`, `--builder-tls-key=${pem}`],
      /run: --builder-tls-cert .*present\.pem, --builder-tls-key .*present\.pem: the TLS certificate and key files do not form a valid pair/],
    [['plan', '-o', 'xml'], /plan: -o must be one of table, json, yaml; got "xml" \(see pullsecret-sync plan --help\)/],
    [['plan', `--kubeconfig=${missing}`], /plan: kubeconfig .*missing\.pem: no such file/],
    [['plan', `--kubeconfig=${kubeconfig}`, '--context=elsewhere'], /plan: context "elsewhere" is not in the kubeconfig; its contexts: only/],
    [['validate'], /validate: name at least one FILE \("-" for stdin\)/],
    [['migrate'], /migrate: name FILEs \("-" for stdin\) or --from-cluster, one of the two/],
    [['migrate', '--from-cluster', `--kubeconfig=${missing}`], /migrate: kubeconfig .*missing\.pem: no such file/],
    [['rn'], /unknown command "rn"; did you mean "run"\?/],
    [['help', 'rn'], /unknown command "rn"; did you mean "run"\?/],
  ];
  await Promise.all(cases.map(([args, expect]) => t.test(args.join(' '), async () => {
    assertUsageError(await cli(args), expect);
  })));
});

test('--help of every command exits 0 with its usage on stdout', { concurrency: 4 }, async (t) => {
  const cases: [string[], RegExp][] = [
    [['--help'], /^usage: pullsecret-sync <command>/],
    [['help'], /^usage: pullsecret-sync <command>/],
    [['help', 'plan'], /^usage: pullsecret-sync plan \[/],
    ...['run', 'plan', 'validate', 'migrate'].map((c): [string[], RegExp] => [[c, '--help'], new RegExp(`^usage: pullsecret-sync ${c}\\b`)]),
    [['run', '-h'], /^usage: pullsecret-sync run \[flags\]/],
    // Help wins over everything else on the line, even a bad value.
    [['run', '--kube-qps=abc', '--help'], /^usage: pullsecret-sync run \[flags\]/],
  ];
  await Promise.all(cases.map(([args, expect]) => t.test(args.join(' '), async () => {
    const ran = await cli(args);
    assert.deepEqual([ran.code, ran.stderr], [0, '']);
    assert.match(ran.stdout, expect);
  })));
});

test('no command at all prints the usage and exits 2', async () => {
  const ran = await cli([]);
  assert.equal(ran.code, 2);
  assert.match(ran.stdout, /^usage: pullsecret-sync <command>/);
});
