// Prometheus histograms read from /metrics text: the buckets of the series matching some labels (summed
// over the labels not named), the difference of two scrapes, and a quantile with the bucket bounds it
// lies between (a histogram cannot place it closer than that).

/** Cumulative counts by upper bound `le` (seconds; +Inf last). */
export type Buckets = Map<number, number>;

function labelsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out.set(m[1] ?? '', m[2] ?? '');
  return out;
}

/** The buckets of histogram `name` over the series whose labels include every one of `match`. */
export function buckets(metrics: string, name: string, match: Record<string, string> = {}): Buckets {
  const out: Buckets = new Map();
  const prefix = `${name}_bucket{`;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf('}');
    const labels = labelsOf(line.slice(prefix.length, close));
    if (!Object.entries(match).every(([k, v]) => labels.get(k) === v)) continue;
    const le = labels.get('le') === '+Inf' ? Infinity : Number(labels.get('le'));
    out.set(le, (out.get(le) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** `after` minus `before`: what was observed between two scrapes. */
export function difference(after: Buckets, before: Buckets): Buckets {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

export interface Quantile {
  /** Observations in the window. */
  count: number;
  /** The bucket the quantile falls in: (lower, upper] seconds. */
  lower: number;
  upper: number;
  /** Linear interpolation within the bucket, as PromQL's histogram_quantile does (seconds). */
  estimate: number;
}

export function quantile(b: Buckets, q: number): Quantile | undefined {
  const count = b.get(Infinity) ?? 0;
  if (count === 0) return undefined;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, n] of b) {
    if (n >= rank) {
      const estimate = le === Infinity ? lower : lower + (le - lower) * ((rank - below) / Math.max(1, n - below));
      return { count, lower, upper: le, estimate };
    }
    lower = le;
    below = n;
  }
  return undefined;
}

/** `p99 4.2 ms (bucket 2.5–5 ms, 6000 obs)`. */
export function describe(label: string, qt: Quantile | undefined): string {
  if (!qt) return `${label} n/a (no observations)`;
  const ms = (s: number) => (s === Infinity ? '+Inf' : String(Number((s * 1000).toFixed(2))));
  return `${label} ${ms(qt.estimate)} ms (bucket ${ms(qt.lower)}–${ms(qt.upper)} ms, ${String(qt.count)} obs)`;
}

/** The sum of counter `name` over the series whose labels include every one of `match`. */
export function counter(metrics: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = labelsOf(line.slice(name.length + 1, close));
    if (Object.entries(match).every(([k, v]) => labels.get(k) === v)) sum += Number(line.slice(close + 1).trim());
  }
  return sum;
}
