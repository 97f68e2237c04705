// A binary min-heap of (deadline, key) entries for the work queue's delayed adds: earliest deadline first,
// insertion order among equal deadlines. It does not de-duplicate; the queue keeps the authoritative
// deadline per key and skips entries that no longer match it.

export interface DeadlineEntry {
  readonly key: string;
  readonly atMs: number;
  /** Insertion sequence; breaks ties and tells a current entry from a superseded one. */
  readonly seq: number;
}

function before(a: DeadlineEntry, b: DeadlineEntry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class DeadlineHeap {
  private items: DeadlineEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): DeadlineEntry | undefined {
    return this.items[0];
  }

  push(entry: DeadlineEntry): void {
    this.items.push(entry);
    this.siftUp(this.items.length - 1);
  }

  pop(): DeadlineEntry | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top === undefined || last === undefined || this.items.length === 0) return top;
    this.items[0] = last;
    this.siftDown(0);
    return top;
  }

  /** Replaces the content with `entries` (used to drop superseded entries in one O(n) pass). */
  rebuild(entries: DeadlineEntry[]): void {
    this.items = entries;
    for (let i = (entries.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  clear(): void {
    this.items = [];
  }

  private at(i: number): DeadlineEntry {
    const e = this.items[i];
    if (e === undefined) throw new Error(`DeadlineHeap: index ${i} out of range`);
    return e;
  }

  private swap(i: number, j: number): void {
    const a = this.at(i);
    this.items[i] = this.at(j);
    this.items[j] = a;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(this.at(i), this.at(parent))) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && before(this.at(l), this.at(min))) min = l;
      if (r < n && before(this.at(r), this.at(min))) min = r;
      if (min === i) return;
      this.swap(i, min);
      i = min;
    }
  }
}
