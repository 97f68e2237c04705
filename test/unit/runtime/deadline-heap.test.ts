import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineHeap, type DeadlineEntry } from '../../../src/runtime/deadline-heap.ts';

function drain(heap: DeadlineHeap): string[] {
  const out: string[] = [];
  for (let e = heap.pop(); e; e = heap.pop()) out.push(e.key);
  return out;
}

test('DeadlineHeap pops earliest deadline first, insertion order on ties', () => {
  const heap = new DeadlineHeap();
  const deadlines = [50, 10, 30, 10, 70, 30, 0, 90, 10];
  deadlines.forEach((atMs, seq) => { heap.push({ key: `k${seq}@${atMs}`, atMs, seq }); });
  assert.equal(heap.size, deadlines.length);
  assert.equal(heap.peek()?.key, 'k6@0');
  assert.deepEqual(drain(heap), ['k6@0', 'k1@10', 'k3@10', 'k8@10', 'k2@30', 'k5@30', 'k0@50', 'k4@70', 'k7@90']);
  assert.equal(heap.pop(), undefined);
});

test('DeadlineHeap orders a large pseudo-random input like a sort', () => {
  const heap = new DeadlineHeap();
  const entries: DeadlineEntry[] = [];
  let x = 12345;
  for (let seq = 0; seq < 500; seq++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    entries.push({ key: String(seq), atMs: x % 97, seq });
  }
  for (const e of entries) heap.push(e);
  const want = [...entries].sort((a, b) => a.atMs - b.atMs || a.seq - b.seq).map((e) => e.key);
  assert.deepEqual(drain(heap), want);
});

test('DeadlineHeap.rebuild replaces the content and restores heap order', () => {
  const heap = new DeadlineHeap();
  heap.push({ key: 'gone', atMs: 1, seq: 0 });
  heap.rebuild([{ key: 'c', atMs: 30, seq: 3 }, { key: 'a', atMs: 10, seq: 1 }, { key: 'b', atMs: 20, seq: 2 }]);
  assert.deepEqual(drain(heap), ['a', 'b', 'c']);
  heap.push({ key: 'x', atMs: 5, seq: 9 });
  heap.clear();
  assert.equal(heap.size, 0);
});
