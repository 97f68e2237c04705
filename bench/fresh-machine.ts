// What a fresh machine builds and downloads before and during its first `.ci/run` (BENCHMARKS.md, "Fresh
// machine"), each step timed with empty caches of its own under DIR, so the machine's shared caches are
// neither used nor touched: the testbed's (PULLSECRET_SYNC_CACHE_DIR), Go's (GOCACHE, GOMODCACHE), npm's
// and pip's. Steps run one after another in the order the suite needs them and share DIR's caches, as
// on a fresh machine (the node's binaries reuse packages the control plane's build compiled). Debian
// packages already installed cannot be removed: they are downloaded again (`--reinstall
// --download-only`) into DIR, and their download size and time stand in for the install.
// Prints one JSON line per step: wall seconds, CPU seconds of its processes, load average before/after.
// The step `setup` instead times a test run's global setup as `npm test` runs it: the bed ready (the
// control plane's Go build, with the base images and image building beside it), then its background
// builds done (test/testbed/global-setup.ts); run it alone, in a DIR of its own.
// `node --import tsx bench/fresh-machine.ts DIR [step…]` (needs root; steps: npm go node imps apt pip base image setup)
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root } from './support.ts';

const run = promisify(execFile);
const [dirArg, ...only] = process.argv.slice(2);
if (!dirArg || dirArg === '--help' || dirArg === '-h') {
  console.log('usage: node --import tsx bench/fresh-machine.ts DIR [npm|go|node|imps|apt|pip|base|image|setup]…\n'
    + '  times each cold step with empty caches under DIR (which should not exist yet); needs root\n'
    + '  setup (alone): the global setup of a test run, then its background builds');
  process.exit(dirArg ? 0 : 2);
}
const dir = dirArg;
mkdirSync(dir, { recursive: true });
Object.assign(process.env, {
  PULLSECRET_SYNC_CACHE_DIR: join(dir, 'cache'), GOCACHE: join(dir, 'go-build'), GOMODCACHE: join(dir, 'go-mod'),
  npm_config_cache: join(dir, 'npm'), PIP_CACHE_DIR: join(dir, 'pip'),
});
const clone = join(dir, 'clone');

/** CPU seconds of this process's waited-for children (/proc/self/stat cutime + cstime, 100 ticks/s). */
function childCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

async function step(name: string, fn: () => Promise<unknown>): Promise<void> {
  if (only.length > 0 && !only.includes(name)) return;
  const [load0] = loadavg();
  const cpu0 = childCpu();
  const started = performance.now();
  const extra = await fn();
  console.log(JSON.stringify({ step: name, seconds: Math.round((performance.now() - started) / 1000), cpuSeconds: Math.round(childCpu() - cpu0),
    load: [Number(load0?.toFixed(1)), Number(loadavg()[0]?.toFixed(1))], ...(extra && typeof extra === 'object' ? extra : {}) }));
}

const log = (line: string) => { console.error(`  ${line}`); };
const APT = ['docker-registry', 'skopeo', 'apache2-utils', 'openssl', 'prometheus', 'containerd', 'runc', 'iproute2', 'iptables',
  'buildah', 'busybox-static', 'containernetworking-plugins', 'debootstrap'];

await step('npm', async () => {
  await run('git', ['clone', '--quiet', '--no-hardlinks', root, clone]);
  await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clone, maxBuffer: 64 << 20 });
});
await step('go', async () => {
  const { ensureBinaries, ensureHelm, ensureKubectl } = await import('../test/testbed/binaries.ts');
  await ensureBinaries(log);
  await ensureKubectl(log);
  await ensureHelm(log);
});
await step('node', async () => {
  const { ensureNodeBinaries } = await import('../test/testbed/binaries.ts');
  await ensureNodeBinaries(log);
});
await step('imps', async () => { await run(join(root, 'bench/imps/build.sh'), { maxBuffer: 64 << 20 }); });
await step('apt', async () => {
  const archives = join(dir, 'apt');
  mkdirSync(join(archives, 'partial'), { recursive: true });
  await run('apt-get', ['install', '-y', '-qq', '--reinstall', '--download-only', '--no-install-recommends', '-o', `Dir::Cache::archives=${archives}`, ...APT],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 });
  const { stdout } = await run('du', ['-sm', archives]);
  return { downloadedMb: Number(stdout.split('\t')[0]) };
});
await step('pip', async () => {
  await run('python3', ['-m', 'pip', 'download', '--quiet', '--dest', join(dir, 'pip-dl'), 'moto[server]==5.2.1'], { maxBuffer: 64 << 20 });
});
await step('base', async () => {
  const { ensureBaseImages } = await import('../test/testbed/base-images.ts');
  await ensureBaseImages(log);
});
await step('image', async () => {
  const { buildImage } = await import('../test/testbed/image.ts');
  await buildImage(root, log);
});

// Only when asked for by name: it starts (and stops) a bed.
if (only.includes('setup')) {
  const setup = await import('../test/testbed/global-setup.ts');
  await step('setup', async () => {
    const started = performance.now();
    await setup.globalSetup();
    const bedReadySeconds = Math.round((performance.now() - started) / 1000);
    await setup.backgroundBuilds();
    return { bedReadySeconds };
  });
  await setup.globalTeardown();
}
