// The chart's alerts under `promtool test rules` (Debian's prometheus package): the PrometheusRule is
// rendered with helm for a release in namespace "ops" and its groups are evaluated against the input
// series of test/fixtures/prometheus/alerts.promtool.yaml, which fire each alert, must not fire it, and
// sit on its `for` boundary. Each alert broken on purpose makes promtool fail, so the tests can fail.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promtoolTestRules } from '../testbed/prometheus.ts';
import { alertsOf, chartRuleGroups, withAlert, writeRuleFile, type RuleGroup } from '../support/alert-rules.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'prometheus', 'alerts.promtool.yaml');
const runbooks = join(import.meta.dirname, '..', '..', 'docs', 'runbooks.md');
let dir = '';
let groups: RuleGroup[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  copyFileSync(fixture, join(dir, 'tests.yaml'));
  groups = await chartRuleGroups('ops');
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** promtool over the fixture with `rules` as the rule file it names. */
function promtool(rules: RuleGroup[]): ReturnType<typeof promtoolTestRules> {
  writeRuleFile(join(dir, 'rules.yaml'), rules);
  return promtoolTestRules(join(dir, 'tests.yaml'));
}

test('every alert the chart ships passes its promtool unit tests', async () => {
  assert.deepEqual([...alertsOf(groups).keys()].sort(), ['PullSecretSyncAdmissionWebhookFailing', 'PullSecretSyncNoLeader', 'PullSecretSyncSyncFailing', 'PullSecretSyncTokenExpiringSoon']);
  const fixtureText = readFileSync(fixture, 'utf8');
  for (const name of alertsOf(groups).keys()) assert.ok(fixtureText.includes(`alertname: ${name}`), `${name} has test cases`);
  const result = await promtool(groups);
  assert.ok(result.ok, result.output);
  assert.match(result.output, /SUCCESS/);
});

const broken: { what: string; alert: string; change: (expr: string, forDuration: string) => { expr?: string; for?: string }; fails: RegExp }[] = [
  { what: 'the expiry threshold of the old chart (3600 s), which healthy Google tokens cross every hour',
    alert: 'PullSecretSyncTokenExpiringSoon',
    change: () => ({ expr: 'min by (namespace, imagepullsecret, source, kind) (pullsecret_sync_token_expiry_timestamp_seconds{namespace="ops"} - time() < 3600)' }),
    fails: /healthy Google token/ },
  { what: 'a Ready check that can never be true', alert: 'PullSecretSyncSyncFailing',
    change: (expr) => ({ expr: expr.replace('== 0', '== 2') }), fails: /not Ready for 15 min/ },
  { what: 'a shorter `for`', alert: 'PullSecretSyncSyncFailing', change: () => ({ for: '10m' }), fails: /not Ready for 15 min/ },
  { what: 'no absent() branch', alert: 'PullSecretSyncNoLeader',
    change: (expr) => ({ expr: expr.replace(/\s+or\s+absent\(.*\)\s*$/s, '') }), fails: /no replica scraped at all/ },
  { what: 'a threshold that rare errors cross', alert: 'PullSecretSyncAdmissionWebhookFailing',
    change: (expr) => ({ expr: expr.replace('> 0.05', '> 0.005') }), fails: /rare error/ },
  { what: 'a shorter `for`', alert: 'PullSecretSyncAdmissionWebhookFailing', change: () => ({ for: '5m' }), fails: /fifth of its reviews/ },
];

for (const b of broken) {
  test(`promtool fails when ${b.alert} is broken: ${b.what}`, async () => {
    const original = alertsOf(groups).get(b.alert);
    assert.ok(original);
    const mutated = withAlert(groups, b.alert, (r) => b.change(r.expr, r.for));
    assert.notDeepEqual(alertsOf(mutated).get(b.alert), original, 'the mutation changed the alert');
    const result = await promtool(mutated);
    assert.equal(result.ok, false, `promtool passed a broken ${b.alert}:\n${result.output}`);
    assert.match(result.output, b.fails);
  });
}

test('every alert links a runbook section that exists in docs/runbooks.md', () => {
  const anchors = new Set(readFileSync(runbooks, 'utf8').split('\n').filter((l) => l.startsWith('## '))
    .map((l) => l.slice(3).trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
  for (const [name, rule] of alertsOf(groups)) {
    const url = rule.annotations.runbook_url ?? '';
    assert.match(url, /^docs\/runbooks\.md#/, `${name} has a runbook_url`);
    assert.ok(anchors.has(url.split('#')[1] ?? ''), `docs/runbooks.md has a section for ${name} (${url})`);
  }
});
