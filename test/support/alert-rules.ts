// The chart's alerts as Prometheus loads them: `helm template` with the PrometheusRule enabled, its
// spec.groups written out as a plain rule file. Tests load exactly what users install.
import { writeFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { renderChart } from './helm.ts';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** The rule groups of the chart's PrometheusRule for a release in `namespace`. */
export async function chartRuleGroups(namespace: string, set: Record<string, string> = {}): Promise<RuleGroup[]> {
  const rendered = await renderChart({ release: 'rel', namespace, set: { 'prometheusRule.enabled': 'true', ...set },
    showOnly: ['templates/prometheusrule.yaml'] });
  const rule = parseAllDocuments(rendered).map((d) => d.toJS() as { kind?: string; spec?: { groups: RuleGroup[] } })
    .find((o) => o.kind === 'PrometheusRule');
  if (!rule?.spec) throw new Error('the chart rendered no PrometheusRule');
  return rule.spec.groups;
}

export function alertsOf(groups: RuleGroup[]): Map<string, AlertRule> {
  return new Map(groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
}

export function writeRuleFile(file: string, groups: RuleGroup[]): string {
  writeFileSync(file, stringify({ groups }));
  return file;
}

/** The groups with one alert's expression (or `for`) replaced: for tests that prove a broken alert fails. */
export function withAlert(groups: RuleGroup[], alert: string, change: (r: AlertRule) => Partial<AlertRule>): RuleGroup[] {
  if (!alertsOf(groups).has(alert)) throw new Error(`no alert ${alert}`);
  return groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.alert === alert ? { ...r, ...change(r) } : r)) }));
}
