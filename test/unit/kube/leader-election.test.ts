// The elector against an in-process Lease store on a fake clock. Each replica reaches the store through
// its own link, which a test can cut (requests get no answer and never arrive, the way a dead path holds
// them) or slow down (a request reaches the store halfway through its latency and is applied there even
// when the client has given up; the answer arrives at the end). Every write is recorded where it lands, at
// the store, so the assertions are about what the API server saw, not about answers the replicas got.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { LEASE_TIMING, LeaderElector, type LeaseApi } from '../../../src/kube/leader-election.ts';
import { KubeApiError, type RequestSpec } from '../../../src/kube/rest.ts';
import { TokenBucket } from '../../../src/kube/token-bucket.ts';
import { FakeClock, sleep } from '../../../src/util/clock.ts';

const guard = { timeout: 20_000 };
const { leaseDurationMs: LEASE, renewDeadlineMs: RENEW, retryPeriodMs: RETRY } = LEASE_TIMING;
const NS = 'ps';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

interface Write { atMs: number; by: string; holder: string | undefined; durationSeconds: number | undefined }

const status = (code: number, reason: string) => new KubeApiError(code, reason, `leases "pullsecret-sync": ${reason}`);

/** One Lease, with the API server's optimistic concurrency; `writes` are the ones that were stored. */
class LeaseStore {
  lease: Lease | undefined;
  readonly writes: Write[] = [];
  /** Open watches: each hears every stored change. */
  readonly watchers = new Set<(event: { type: string; object: unknown }) => void>();
  private rv = 0;

  constructor(private readonly clock: FakeClock) {}

  /** A Lease last renewed now by `holder`, as a replica that then crashed would leave it. */
  seed(holder: string): void {
    const now = this.clock.now().toISOString();
    this.lease = { metadata: { name: 'pullsecret-sync', namespace: NS, resourceVersion: String(++this.rv) },
      spec: { holderIdentity: holder, leaseDurationSeconds: LEASE / 1000, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
  }

  apply(spec: RequestSpec, by: string): unknown {
    if (spec.method === 'GET') {
      if (!this.lease) throw status(404, 'NotFound');
      return structuredClone(this.lease);
    }
    const body = structuredClone(spec.body) as Lease;
    if (spec.method === 'POST' && this.lease) throw status(409, 'AlreadyExists');
    if (spec.method === 'PUT' && body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw status(409, 'Conflict');
    body.metadata.resourceVersion = String(++this.rv);
    const type = this.lease ? 'MODIFIED' : 'ADDED';
    this.lease = body;
    this.writes.push({ atMs: this.clock.nowMs(), by, holder: body.spec?.holderIdentity, durationSeconds: body.spec?.leaseDurationSeconds });
    for (const hear of this.watchers) hear({ type, object: structuredClone(body) });
    return structuredClone(body);
  }

  /** The stored Lease's spec; empty while there is none. */
  spec(): NonNullable<Lease['spec']> {
    return this.lease?.spec ?? {};
  }

  writesBy(by: string): Write[] {
    return this.writes.filter((w) => w.by === by);
  }
}

/** How a replica reaches the store. */
class Link implements LeaseApi {
  cut = false;
  latencyMs = 0;
  /** Answers every PUT with this status instead of applying it. */
  failPuts: number | undefined;
  calls = 0;
  /** A client-side rate limiter the calls wait in first, as KubeRest's does. */
  limiter: TokenBucket | undefined;
  /** Refuses watches with 403, as RBAC without `watch` on leases does. */
  refuseWatch = false;
  watches = 0;

  constructor(private readonly store: LeaseStore, private readonly clock: FakeClock, private readonly who: string) {}

  async call<T>(spec: RequestSpec): Promise<T> {
    await this.limiter?.take(spec.signal);
    if (this.cut) return this.never(spec.signal);
    this.calls++;
    if (spec.method === 'PUT' && this.failPuts !== undefined) throw status(this.failPuts, 'InternalError');
    if (this.latencyMs === 0) return this.store.apply(spec, this.who) as T;
    await sleep(this.clock, this.latencyMs / 2);
    let answer: () => T;
    try {
      const result = this.store.apply(spec, this.who) as T;
      answer = () => result;
    } catch (err) {
      answer = () => { throw err; };
    }
    await sleep(this.clock, this.latencyMs / 2, spec.signal);
    if (spec.signal?.aborted) throw spec.signal.reason;
    return answer();
  }

  /**
   * A watch as the API server gives one: the current Lease first, then every change, until the signal
   * aborts. While the link is cut nothing arrives.
   */
  async watch(_spec: Omit<RequestSpec, 'method'>, onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    if (this.refuseWatch) throw status(403, 'Forbidden');
    this.watches++;
    const hear = (event: { type: string; object: unknown }) => { if (!this.cut) onEvent(event); };
    if (this.store.lease && !this.cut) onEvent({ type: 'ADDED', object: structuredClone(this.store.lease) });
    this.store.watchers.add(hear);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => { resolve(); }, { once: true });
    });
    this.store.watchers.delete(hear);
  }

  private never<T>(signal: AbortSignal | undefined): Promise<T> {
    return new Promise((_, reject) => { signal?.addEventListener('abort', () => { reject(signal.reason as Error); }, { once: true }); });
  }
}

/** One replica: its link, its elector, and when (fake clock) it started and stopped leading. */
class Replica {
  readonly link: Link;
  readonly elector: LeaderElector;
  startedAt: number[] = [];
  stoppedAt: number[] = [];

  constructor(readonly name: string, store: LeaseStore, private readonly clock: FakeClock) {
    this.link = new Link(store, clock, name);
    this.elector = new LeaderElector(this.link, {
      namespace: NS, name: 'pullsecret-sync', identity: name, clock,
      onStartedLeading: () => { this.startedAt.push(clock.nowMs()); },
      onStoppedLeading: () => { this.stoppedAt.push(clock.nowMs()); },
    });
  }
}

function world() {
  const clock = new FakeClock();
  const store = new LeaseStore(clock);
  const t0 = clock.nowMs();
  const leaders: string[][] = [];
  const replicas: Replica[] = [];
  const replica = (name: string) => {
    const r = new Replica(name, store, clock);
    replicas.push(r);
    return r;
  };
  /** Moves the clock in 50 ms steps, letting every replica react, and records who claims leadership at each step. */
  const run = async (ms: number) => {
    for (let left = ms; left > 0; left -= 50) {
      await nextTurn();
      clock.advance(Math.min(50, left));
      await nextTurn();
      leaders.push(replicas.filter((r) => r.elector.isLeader()).map((r) => r.name));
    }
  };
  const at = (ms: number) => ms - t0;
  /** `a` starts and leads, `b` starts 100 ms later as its standby (`prepare` readies b's link first), then `ms` more pass. */
  const leaderAndStandby = async (ms: number, prepare: (b: Replica) => void = () => undefined) => {
    const a = replica('a');
    const b = replica('b');
    prepare(b);
    a.elector.start();
    await run(100);
    b.elector.start();
    await run(ms);
    return { a, b };
  };
  return { clock, store, t0, replica, run, at, leaders, leaderAndStandby, stopAll: () => Promise.all(replicas.map((r) => r.elector.stop())) };
}

test('a standby cut off for 30 s and healed never takes the Lease its leader kept renewing', guard, async () => {
  const w = world();
  const a = w.replica('a');
  const b = w.replica('b');
  a.elector.start();
  await w.run(100);
  b.elector.start();
  await w.run(5_000);
  assert.ok(a.elector.isLeader() && !b.elector.isLeader());

  b.link.cut = true;
  await w.run(30_000);
  b.link.cut = false;
  await w.run(3 * LEASE); // well past the moment the standby's last successful look would have called it expired

  assert.deepEqual(b.startedAt, [], 'the healed standby never became leader');
  assert.deepEqual(a.stoppedAt, [], 'the leader never stepped down');
  assert.deepEqual(w.store.writesBy('b'), [], 'the standby wrote nothing to the Lease');
  const renewals = w.store.writesBy('a').map((x) => x.atMs);
  const gaps = renewals.slice(1).map((t, i) => t - (renewals[i] ?? t));
  assert.ok(Math.max(...gaps) <= RETRY + 100, `the leader renewed every retry period (largest gap ${Math.max(...gaps)} ms)`);
  assert.ok(w.leaders.every((l) => l.length <= 1), 'never two replicas claiming leadership');
  await w.stopAll();
});

test('a leader whose renewals outlast the renew deadline stops claiming leadership at it; the standby takes over later', guard, async () => {
  const w = world();
  const a = w.replica('a');
  const b = w.replica('b');
  a.elector.start();
  await w.run(100);
  b.elector.start();
  await w.run(5_000);
  // Each call now answers after 6 s (applied at the store after 3 s): a GET and a PUT take 12 s.
  a.link.latencyMs = 6_000;
  const slowFrom = w.clock.nowMs();
  await w.run(2 * LEASE + RETRY);

  const lastOk = w.store.writesBy('a').filter((x) => x.atMs <= slowFrom).at(-1);
  assert.ok(lastOk);
  assert.equal(a.stoppedAt.length, 1, 'the slow leader stepped down');
  const stoppedMs = a.stoppedAt[0] ?? 0;
  // The last renewal the leader got an answer for started when it was stored (no latency then).
  assert.equal(stoppedMs - lastOk.atMs, RENEW, 'it stepped down exactly at the renew deadline of its last answered renewal');
  const lastAtStore = w.store.writesBy('a').at(-1);
  assert.ok(lastAtStore);
  const firstOfB = w.store.writesBy('b')[0];
  assert.ok(firstOfB, 'the standby took the Lease');
  assert.equal(b.startedAt.length, 1);
  assert.ok(firstOfB.atMs >= lastAtStore.atMs + LEASE, `the standby wrote ${firstOfB.atMs - lastAtStore.atMs} ms after the leader's last write reached the store`);
  assert.ok(firstOfB.atMs - stoppedMs >= LEASE - RENEW, `no leader for ${firstOfB.atMs - stoppedMs} ms before the standby led`);
  assert.ok(firstOfB.atMs <= lastAtStore.atMs + LEASE + RETRY, 'the standby led within lease duration plus retry period of the last write');
  assert.ok(w.leaders.every((l) => l.length <= 1), 'never two replicas claiming leadership');
  await w.stopAll();
});

test('a renewal stuck in its client\'s rate limiter counts against the renew deadline', guard, async () => {
  const w = world();
  const a = w.replica('a');
  a.link.limiter = new TokenBucket(0.05, 2, w.clock); // one call per 20 s once the first two are spent
  a.elector.start();
  await w.run(3 * LEASE);
  assert.equal(a.startedAt.length, 1);
  assert.equal(a.stoppedAt.length, 1, 'it stepped down instead of waiting in the queue');
  assert.equal((a.stoppedAt[0] ?? 0) - (a.startedAt[0] ?? 0), RENEW, 'at the renew deadline of its only renewal');
  await w.stopAll();
});

test('a standby cut off while its leader turns slow takes over only a lease duration after it saw the last renewal', guard, async () => {
  const w = world();
  const a = w.replica('a');
  const b = w.replica('b');
  a.elector.start();
  await w.run(100);
  b.elector.start();
  await w.run(5_000);
  b.link.cut = true;
  a.link.latencyMs = 6_000;
  await w.run(30_000);
  assert.equal(a.stoppedAt.length, 1, 'the slow leader stepped down while the standby was cut off');
  const healedMs = w.clock.nowMs();
  b.link.cut = false;
  await w.run(RENEW + LEASE + 2 * RETRY);

  const firstOfB = w.store.writesBy('b')[0];
  assert.ok(firstOfB, 'the standby took the Lease after healing');
  // Its first look after healing is at most one retry period (plus its cut attempt's deadline) later;
  // the record it saw then is dated then, so it waits a whole lease duration from that look.
  assert.ok(firstOfB.atMs >= healedMs + LEASE, `the healed standby wrote ${firstOfB.atMs - healedMs} ms after healing`);
  assert.ok(firstOfB.atMs <= healedMs + RENEW + LEASE + RETRY, 'and within its cut attempt, a lease duration and a retry period');
  assert.ok(firstOfB.atMs - (a.stoppedAt[0] ?? 0) >= LEASE - RENEW);
  assert.ok(w.leaders.every((l) => l.length <= 1), 'never two replicas claiming leadership');
  await w.stopAll();
});

test('a Lease left by a crashed holder is taken a lease duration after the standby first saw it, however old it was', guard, async () => {
  const w = world();
  w.store.seed('crashed');
  await w.run(1_000);
  const b = w.replica('b');
  b.elector.start();
  const firstLookMs = w.clock.nowMs();
  await w.run(LEASE + RETRY);
  const [taken] = w.store.writesBy('b');
  assert.ok(taken, 'the standby took the expired Lease');
  assert.equal(taken.atMs - firstLookMs, LEASE, 'exactly a lease duration after its first look (it looks again at the expiry)');
  assert.equal(w.store.spec().holderIdentity, 'b');
  assert.equal(w.store.spec().leaseTransitions, 1);
  assert.equal(w.store.spec().acquireTime, new Date(taken.atMs).toISOString().replace('Z', '000Z'), 'acquired by that write');
  assert.deepEqual(b.startedAt, [taken.atMs]);

  // A replica that starts long after the record was written still waits a lease duration: it cannot know its age.
  const w2 = world();
  w2.store.seed('crashed');
  await w2.run(10 * LEASE);
  const c = w2.replica('c');
  c.elector.start();
  const cLookMs = w2.clock.nowMs();
  await w2.run(LEASE + RETRY);
  assert.equal((w2.store.writesBy('c')[0]?.atMs ?? 0) - cLookMs, LEASE);
  await w.stopAll();
  await w2.stopAll();
});

test('a standby whose takeover of an expired Lease keeps failing tries again every retry period, not at once', guard, async () => {
  const w = world();
  w.store.seed('crashed');
  const b = w.replica('b');
  b.link.failPuts = 500;
  b.elector.start();
  await w.run(LEASE);
  const before = b.link.calls;
  await w.run(10 * RETRY);
  assert.ok(b.link.calls - before <= 2 * 10 + 2, `${b.link.calls - before} calls in 10 retry periods`);
  assert.deepEqual(b.startedAt, []);
  b.link.failPuts = undefined;
  await w.run(RETRY);
  assert.equal(w.store.spec().holderIdentity, 'b', 'it takes the Lease once the API server accepts the write');
  await w.stopAll();
});

test('a free Lease is created and led at once', guard, async () => {
  const w = world();
  const a = w.replica('a');
  a.elector.start();
  await w.run(50);
  assert.deepEqual(a.startedAt, [w.t0]);
  assert.equal(w.store.spec().holderIdentity, 'a');
  await w.stopAll();
});

/** a leads, b stands by (it has just made an attempt: the worst phase for a standby that only polls), a stops. */
async function handOver(w: ReturnType<typeof world>, prepare?: (b: Replica) => void): Promise<{ b: Replica; released: number }> {
  const { a, b } = await w.leaderAndStandby(5_030, prepare);
  const stopping = a.elector.stop();
  const release = () => w.store.writes.find((x) => x.by === 'a' && x.holder === '');
  while (release() === undefined) await w.run(50);
  await stopping;
  assert.equal(a.elector.isLeader(), false);
  assert.equal(release()?.durationSeconds, 1, 'released with a 1-second duration');
  return { b, released: release()?.atMs ?? NaN };
}

test('stop releases the Lease and a standby watching it takes it at once', guard, async () => {
  const w = world();
  const { b, released } = await handOver(w);
  await w.run(100);
  const [taken] = w.store.writesBy('b');
  assert.ok(taken && taken.atMs - released <= 50, `the standby took the released Lease ${taken ? taken.atMs - released : NaN} ms after the release`);
  assert.equal(w.store.spec().holderIdentity, 'b');
  assert.deepEqual(b.startedAt, [taken.atMs]);
  await w.stopAll();
});

test('a standby refused the watch (no RBAC for it) takes a released Lease at its next attempt, and asks for the watch once', guard, async () => {
  const w = world();
  const { b, released } = await handOver(w, (standby) => { standby.link.refuseWatch = true; });
  await w.run(RETRY + 100);
  const [taken] = w.store.writesBy('b');
  assert.ok(taken && taken.atMs - released <= RETRY, `the standby took the released Lease ${taken ? taken.atMs - released : NaN} ms after the release`);
  assert.ok(taken.atMs - released > 50, 'not through a watch');
  assert.equal(w.store.spec().holderIdentity, 'b');
  assert.equal(b.link.watches, 0);
  await w.stopAll();
});

test('only a standby watches: the leader stops its watch, and a renewal does not wake the standby', guard, async () => {
  const w = world();
  const { a, b } = await w.leaderAndStandby(100);
  const callsBefore = b.link.calls;
  await w.run(10 * RETRY);
  // Ten retry periods of renewals seen through the watch: b still makes one attempt per retry period.
  assert.ok(b.link.calls - callsBefore <= 11, `${String(b.link.calls - callsBefore)} calls in ten retry periods`);
  assert.equal(a.link.watches, 0, 'the leader never watched');
  assert.equal(b.link.watches, 1, 'one watch, kept open');
  assert.equal(w.store.watchers.size, 1);
  await w.stopAll();
  assert.equal(w.store.watchers.size, 0, 'stop ends the watch');
});

test('a leader cut off when it stops gives up the release at its renew deadline and the stop ends', guard, async () => {
  const w = world();
  const a = w.replica('a');
  a.elector.start();
  await w.run(1_000);
  const renewedMs = w.store.writesBy('a').at(-1)?.atMs ?? 0;
  a.link.cut = true;
  let stopped = false;
  const stopping = a.elector.stop().then(() => { stopped = true; });
  await w.run(RENEW - (w.clock.nowMs() - renewedMs) - 50);
  assert.equal(stopped, false, 'still trying to release before the renew deadline');
  await w.run(100);
  await stopping;
  assert.equal(w.store.spec().holderIdentity, 'a', 'nothing reached the store');
  assert.equal(a.elector.isLeader(), false);
});
