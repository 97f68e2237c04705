import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  dispositionOf, dispositionOfError, isTerminalError, TerminalError, type Disposition, type Result,
} from '../../../src/runtime/result.ts';

test('dispositionOf maps reconcile results', () => {
  const cases: { name: string; result: Result | undefined; want: Disposition['outcome']; afterMs?: number }[] = [
    { name: 'no result', result: undefined, want: 'success' },
    { name: 'empty result', result: {}, want: 'success' },
    { name: 'delay', result: { requeueAfter: 30_000 }, want: 'requeue', afterMs: 30_000 },
    { name: 'zero delay', result: { requeueAfter: 0 }, want: 'requeue', afterMs: 0 },
    { name: 'negative delay is as soon as possible', result: { requeueAfter: -5 }, want: 'requeue', afterMs: 0 },
    { name: 'NaN is a bug', result: { requeueAfter: Number.NaN }, want: 'error' },
    { name: 'Infinity is a bug', result: { requeueAfter: Infinity }, want: 'error' },
  ];
  for (const c of cases) {
    const d = dispositionOf(c.result);
    assert.equal(d.outcome, c.want, c.name);
    if (d.outcome === 'requeue') assert.equal(d.afterMs, c.afterMs, c.name);
    if (d.outcome === 'error') assert.ok(d.error instanceof TypeError, c.name);
  }
});

test('dispositionOfError tells terminal errors from retryable ones', () => {
  const cyclic = new Error('a');
  const other = new Error('b', { cause: cyclic });
  cyclic.cause = other;
  const cases: { name: string; err: unknown; want: Disposition['outcome'] }[] = [
    { name: 'plain error', err: new Error('x'), want: 'error' },
    { name: 'thrown string', err: 'x', want: 'error' },
    { name: 'undefined', err: undefined, want: 'error' },
    { name: 'terminal', err: new TerminalError('bad spec'), want: 'terminal' },
    { name: 'wrapped terminal', err: new Error('outer', { cause: new Error('mid', { cause: new TerminalError('x') }) }), want: 'terminal' },
    { name: 'cyclic cause chain', err: cyclic, want: 'error' },
  ];
  for (const c of cases) {
    const d = dispositionOfError(c.err);
    assert.equal(d.outcome, c.want, c.name);
    assert.equal('error' in d && d.error, c.err, c.name);
  }
});

test('TerminalError is an Error with its own name and keeps its cause', () => {
  const cause = new Error('root');
  const err = new TerminalError('invalid selector', { cause });
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'TerminalError');
  assert.equal(err.message, 'invalid selector');
  assert.equal(err.cause, cause);
  assert.equal(isTerminalError(err), true);
  assert.equal(isTerminalError(cause), false);
});
