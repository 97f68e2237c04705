import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseCommandArgs } from '../../../src/cli/args.ts';
import { closest, editDistance } from '../../../src/cli/closest.ts';
import { parseConfig } from '../../../src/daemon/config.ts';

test('edit distance counts insertions, deletions and substitutions', () => {
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('leader-elect', 'leader-elect'), 0);
});

test('closest names the nearest candidate, and nothing when all are far off', () => {
  assert.equal(closest('leader-elec', ['namespace', 'leader-elect', 'log-level']), 'leader-elect');
  assert.equal(closest('kubconfig', ['context', 'kubeconfig']), 'kubeconfig');
  assert.equal(closest('zzzzzzzz', ['context', 'kubeconfig']), undefined);
});

test('run: an unknown flag names the closest known one', () => {
  assert.throws(() => parseConfig(['--namspace', 'x'], {}), (err: unknown) =>
    err instanceof ConfigError && /unknown flag --namspace; did you mean --namespace\?/.test(err.message));
  assert.throws(() => parseConfig(['--metrics-address=:1'], {}), /did you mean --metrics-addr\?/);
});

test('parseCommandArgs: --help and -h anywhere before --, unknown flags with a hint, repeated flags', () => {
  const options = { file: { type: 'string', short: 'f', multiple: true, help: '' }, output: { type: 'string', short: 'o', help: '' } } as const;
  assert.deepEqual(parseCommandArgs('plan', options, ['-f', 'a', '--help']), { help: true });
  assert.deepEqual(parseCommandArgs('plan', options, ['-h']), { help: true });
  assert.throws(() => parseCommandArgs('plan', options, ['--ouptut', 'json']), /unknown flag --ouptut; did you mean --output\?/);
  const parsed = parseCommandArgs('plan', options, ['-f', 'a', '--file=b', 'x', '--', '--help']);
  assert.deepEqual(JSON.parse(JSON.stringify(parsed)), { help: false, values: { file: ['a', 'b'] }, positionals: ['x', '--help'] });
});
