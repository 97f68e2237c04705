// The testbed's binaries: etcd, kube-apiserver and kube-controller-manager for the control plane, kubectl
// and helm for the tests, and for the node kubelet, kube-scheduler and kube-proxy, built from the
// Go module proxy through the committed wrapper modules in go/, cached outside the repository keyed by
// version and build inputs. helm and the node's binaries have modules of their own (go/helm, go/node), and
// kubectl a build of its own from the control plane's module, so a bed does not wait for them and a bed
// without a node never builds the node's.
// KUBEBUILDER_ASSETS (the envtest convention) supplies prebuilt binaries, used as they are.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, homedir, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const goDir = join(dirname(fileURLToPath(import.meta.url)), 'go');

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubernetesVersion: string;
  etcdVersion: string;
}

interface Module {
  dir: string;
  version: string;
  packages: Record<string, string>;
  ldflags: string;
}

/** The version a wrapper module's go.mod pins for `modulePath`. */
function pinnedVersion(dir: string, modulePath: string): string {
  const gomod = readFileSync(join(dir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${modulePath.replaceAll('.', '\\.')} (v[^\\s]+)`, 'm').exec(gomod);
  if (!match?.[1]) throw new Error(`${dir}/go.mod does not pin ${modulePath}`);
  return match[1];
}

/** The version variables Kubernetes' own build sets, so /version and `kubelet --version` report the release. */
function kubeLdflags(version: string): string {
  const [major, minor] = version.slice(1).split('.');
  const vars = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => [`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major ?? ''}`,
      `-X ${pkg}.gitMinor=${minor ?? ''}`, `-X ${pkg}.gitTreeState=clean`])
    .join(' ');
  return `-s -w ${vars}`;
}

function kubeModule(): Module {
  const dir = join(goDir, 'kube');
  const version = pinnedVersion(dir, 'k8s.io/kubernetes');
  return {
    dir, version, ldflags: kubeLdflags(version),
    packages: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
    },
  };
}

/** kubectl, from the control plane's module (and build cache), built apart so a bed need not wait for it. */
function kubectlModule(): Module {
  return { ...kubeModule(), packages: { kubectl: 'k8s.io/kubernetes/cmd/kubectl' } };
}

/** The node's binaries, from the same Kubernetes release as the control plane (go/node pins it too). */
function nodeModule(): Module {
  const dir = join(goDir, 'node');
  const version = pinnedVersion(dir, 'k8s.io/kubernetes');
  return {
    dir, version, ldflags: kubeLdflags(version),
    packages: {
      kubelet: 'k8s.io/kubernetes/cmd/kubelet',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      'kube-proxy': 'k8s.io/kubernetes/cmd/kube-proxy',
    },
  };
}

function etcdModule(): Module {
  const dir = join(goDir, 'etcd');
  return { dir, version: pinnedVersion(dir, 'go.etcd.io/etcd/server/v3'), ldflags: '-s -w', packages: { etcd: 'go.etcd.io/etcd/server/v3' } };
}

function helmModule(): Module {
  const dir = join(goDir, 'helm');
  const version = pinnedVersion(dir, 'helm.sh/helm/v4');
  // The variables helm's own release build sets, so `helm version` reports the release.
  const pkg = 'helm.sh/helm/v4/internal/version';
  return {
    dir, version, ldflags: `-s -w -X ${pkg}.version=${version} -X ${pkg}.gitTreeState=clean`,
    packages: { helm: 'helm.sh/helm/v4/cmd/helm' },
  };
}

/**
 * The project's build cache: PULLSECRET_SYNC_CACHE_DIR, else `pullsecret-sync` under XDG_CACHE_HOME or
 * ~/.cache. bench/imps/build.sh resolves the same directory.
 */
export function projectCacheDir(): string {
  return process.env.PULLSECRET_SYNC_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pullsecret-sync');
}

export function cacheRoot(): string {
  return join(projectCacheDir(), 'testbed');
}

async function goVersion(): Promise<string> {
  return (await run('go', ['env', 'GOVERSION'])).stdout.trim();
}

/**
 * How a build runs. A test run builds what later test files need in its background (global-setup.ts):
 * at the lowest CPU priority, so the tests running meanwhile keep the cores, and abortable.
 */
export interface BuildOptions {
  log?: (line: string) => void;
  background?: boolean;
  signal?: AbortSignal;
}

/**
 * The command line for `command`, at the lowest CPU priority for a background build: in a session of its
 * own whose autogroup weight is lowered (the kernel shares the CPU between sessions first, so a nice value
 * alone would count only against the test run's own processes, while the bed's API server and etcd, each
 * in a session of its own, would share the CPU with the build equally), and niced within it. setsid does
 * not fork here (the caller's child is no group leader), so the pid stays the build's: a timeout or an
 * abort still reaches it, and boostBuilds still finds it under the test run.
 */
export function buildCommand(opts: BuildOptions, command: string, args: string[]): [string, string[]] {
  if (!opts.background) return [command, args];
  const lowered = '{ echo 19 > /proc/self/autogroup; } 2>/dev/null; exec nice -n 19 "$@"';
  return ['setsid', ['sh', '-c', lowered, 'sh', command, ...args]];
}

/** The cache directory of `mod`'s binaries, keyed by its inputs. */
async function targetDir(mod: Module, name: string): Promise<string> {
  const inputs = [readFileSync(join(mod.dir, 'go.mod')), readFileSync(join(mod.dir, 'go.sum')), mod.ldflags, await goVersion()];
  const key = createHash('sha256').update(inputs.join('\0')).digest('hex').slice(0, 12);
  return join(cacheRoot(), `${name}-${mod.version}-${key}`);
}

/** Builds (once) every binary of `mod` into its cache directory; returns the directory. */
async function ensureBuilt(mod: Module, name: string, opts: BuildOptions): Promise<string> {
  const target = await targetDir(mod, name);
  const built = () => Object.keys(mod.packages).every((bin) => existsSync(join(target, bin)));
  if (built()) return target;
  // One lock per module: a second process wanting the same binaries waits for this build, while the
  // other modules build beside it (Go's build cache is safe to share).
  return withLock(`.lock-${name}`, async (lock) => {
    if (built()) return target;
    const staging = `${target}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    opts.log?.(`building ${name} ${mod.version} from the Go module proxy (first run only; several minutes on 2 cores)`);
    const started = Date.now();
    // With one package, -o names the file (go would otherwise name it after the last path element).
    const entries = Object.entries(mod.packages);
    const output = entries.length === 1 ? join(staging, entries[0]?.[0] ?? '') : `${staging}/`;
    const [command, args] = buildCommand(opts, 'go',
      ['build', '-mod=readonly', '-trimpath', '-ldflags', mod.ldflags, '-o', output, ...Object.values(mod.packages)]);
    try {
      const building = run(command, args, {
        cwd: mod.dir, signal: opts.signal,
        // GOGC=400: the compiler and linker collect garbage less often, for about a fifth less CPU at a
        // little more memory (test/testbed/README.md has the figures); a GOGC of the user's wins.
        env: { GOGC: '400', ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false' },
        maxBuffer: 64 * 1024 * 1024,
      });
      if (building.child.pid !== undefined) lock.building(building.child.pid);
      await building;
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    opts.log?.(`built ${name} ${mod.version} in ${Math.round((Date.now() - started) / 1000)} s`);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return target;
  }, opts.signal);
}

/** A lock `withLock` holds for its `fn`. */
export interface HeldLock {
  /** Names the process that does the lock's work, so that a waiter raises only it. */
  building(pid: number): void;
}

/**
 * Serialises builds between processes (a test run, its background builds and a `testbed up` started
 * together): `name` is a lock directory in the cache, `.lock-<module>` for a Go build.
 */
export async function withLock<T>(name: string, fn: (lock: HeldLock) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lock = join(cacheRoot(), name);
  mkdirSync(cacheRoot(), { recursive: true });
  const deadline = Date.now() + 60 * 60 * 1000;
  for (;;) {
    signal?.throwIfAborted();
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`testbed build lock ${lock} held for an hour; remove it if stale`);
      const holder = lockHolder(lock);
      if (holder === 'gone') {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      // Someone waits for it now: the build it waits for, where the lock names it, gets normal priority
      // (and only it: the other background builds stay low); otherwise every build of the holder.
      const build = buildOf(lock);
      if (build !== undefined) boostTree(build, true);
      else if (holder !== undefined) boostBuilds(holder);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const held: HeldLock = {
    building(pid) {
      try {
        writeFileSync(join(lock, 'build'), String(pid));
      } catch {
        /* the lock is gone: the build is done or aborted */
      }
    },
  };
  try {
    return await fn(held);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function buildOf(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(lock, 'build'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid that holds `lock`, `gone` when that process has exited, undefined while the lock is being taken. */
function lockHolder(lock: string): number | 'gone' | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return undefined;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : pid;
  }
}

function tasks(pid: number): number[] {
  try {
    return readdirSync(`/proc/${String(pid)}/task`).map(Number);
  } catch {
    return [];
  }
}

/**
 * Lowers the CPU weight of `pid`'s autogroup. Where the kernel groups processes by session (autogroup), a
 * nice value counts only against processes of the same session: a build started in a session of its own
 * (to stop it with its process group) needs its session's weight lowered too. A no-op without autogroup.
 */
export function lowerAutogroup(pid: number): void {
  setAutogroupNice(pid, 19);
}

function setAutogroupNice(pid: number, nice: number): void {
  try {
    writeFileSync(`/proc/${String(pid)}/autogroup`, String(nice));
  } catch {
    /* no autogroup, exited meanwhile, or not permitted */
  }
}

/**
 * Raises the background builds under `ancestor` (processes it started at a lower priority, and the
 * autogroups of those in sessions of their own: lowerAutogroup) to normal priority. Their children inherit
 * it. Needs the privilege to lower a nice value (root); without it the builds keep theirs.
 */
export function boostBuilds(ancestor: number): void {
  boostTree(ancestor, false);
}

/** Raises `root`'s descendants (and `root` itself with `withRoot`) to normal priority, autogroup and threads. */
function boostTree(root: number, withRoot: boolean): void {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  const under = (pid: number): boolean => {
    if (withRoot && pid === root) return true;
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  // A nice value belongs to each thread: every thread of every such process.
  for (const pid of [...parents.keys()].filter(under)) {
    setAutogroupNice(pid, 0);
    for (const tid of tasks(pid)) {
      try {
        if (getPriority(tid) > 0) setPriority(tid, 0);
      } catch {
        /* exited meanwhile, or not permitted */
      }
    }
  }
}

function fromAssets(dir: string, binaries: string[]): Record<string, string> {
  return Object.fromEntries(binaries.filter((bin) => existsSync(join(dir, bin))).map((bin) => [bin, join(dir, bin)]));
}

/** Resolves the binaries of `modules`: prebuilt ones from KUBEBUILDER_ASSETS first, the rest built and cached. */
async function resolveBinaries(modules: Record<string, Module>, opts: BuildOptions): Promise<(bin: string) => string> {
  const names = Object.values(modules).flatMap((mod) => Object.keys(mod.packages));
  const paths = process.env.KUBEBUILDER_ASSETS ? fromAssets(process.env.KUBEBUILDER_ASSETS, names) : {};
  for (const [name, mod] of Object.entries(modules)) {
    const missing = Object.keys(mod.packages).filter((bin) => !Object.hasOwn(paths, bin));
    if (missing.length === 0) continue;
    const dir = await ensureBuilt(mod, name, opts);
    for (const bin of missing) paths[bin] = join(dir, bin);
  }
  return (bin: string): string => {
    const found = paths[bin];
    if (!found) throw new Error(`no ${bin} binary was resolved`);
    return found;
  };
}

/** The control plane's binaries (`opts.signal` stops a build in progress). */
export async function ensureBinaries(log: (line: string) => void = () => undefined, opts: BuildOptions = {}): Promise<Binaries> {
  const modules = { etcd: etcdModule(), kubernetes: kubeModule() };
  const path = await resolveBinaries(modules, { log, ...opts });
  return {
    etcd: path('etcd'),
    kubeApiserver: path('kube-apiserver'),
    kubeControllerManager: path('kube-controller-manager'),
    kubernetesVersion: modules.kubernetes.version,
    etcdVersion: modules.etcd.version,
  };
}

/** kubectl, built on first use (or in a test run's background: `opts`). */
export async function ensureKubectl(log: (line: string) => void = () => undefined, opts: BuildOptions = {}): Promise<string> {
  const path = await resolveBinaries({ kubectl: kubectlModule() }, { log, ...opts });
  return path('kubectl');
}

/** helm, built on first use (or in a test run's background: `opts`), and the release it reports. */
export async function ensureHelm(log: (line: string) => void = () => undefined, opts: BuildOptions = {}): Promise<{ helm: string; version: string }> {
  const mod = helmModule();
  const path = await resolveBinaries({ helm: mod }, { log, ...opts });
  return { helm: path('helm'), version: mod.version };
}

export interface NodeBinaries {
  kubelet: string;
  kubeScheduler: string;
  kubeProxy: string;
}

/** The node's binaries, built on first use only (or in a test run's background: `opts`). */
export async function ensureNodeBinaries(log: (line: string) => void = () => undefined, opts: BuildOptions = {}): Promise<NodeBinaries> {
  const path = await resolveBinaries({ 'kubernetes-node': nodeModule() }, { log, ...opts });
  return { kubelet: path('kubelet'), kubeScheduler: path('kube-scheduler'), kubeProxy: path('kube-proxy') };
}
