// Runs the queries of a Grafana dashboard against a real Prometheus, the way Grafana would: template
// variables substituted, every target of every panel an instant query. A query that errors, or that
// answers nothing (or only NaN) for a panel that should show data, is a problem.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Prometheus } from '../testbed/prometheus.ts';

export const DASHBOARD_FILE = join(import.meta.dirname, '..', '..', 'docs', 'dashboards', 'pullsecret-sync.json');

interface Panel {
  title: string;
  type: string;
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string }[] };
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

export function readDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every query target of every panel, rows' nested panels included. */
export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  const flat = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return flat(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
}

/** `$name` and `${name}` replaced by `vars` (longest names first, so `$__rate_interval` is not cut). */
export function substitute(expr: string, vars: ReadonlyMap<string, string>): string {
  let out = expr;
  for (const [name, value] of [...vars].sort((a, b) => b[0].length - a[0].length)) {
    out = out.replaceAll(`\${${name}}`, value).replaceAll(`$${name}`, value);
  }
  return out;
}

/**
 * The problems of each panel query against `prometheus`. `allowEmpty` names panels whose data cannot
 * exist where the check runs, each with the reason; an empty answer from any other panel is a problem.
 */
export async function checkPanels(prometheus: Prometheus, dashboard: Dashboard, vars: ReadonlyMap<string, string>,
  allowEmpty: ReadonlyMap<string, string> = new Map()): Promise<string[]> {
  const problems: string[] = [];
  for (const q of panelQueries(dashboard)) {
    const expr = substitute(q.expr, vars);
    const where = `panel "${q.panel}" query ${q.refId}`;
    if (expr.includes('$')) {
      problems.push(`${where}: unknown variable in ${expr}`);
      continue;
    }
    try {
      const samples = await prometheus.query(expr);
      const hasData = samples.some((s) => !Number.isNaN(Number(s.value[1])));
      if (!hasData && !allowEmpty.has(q.panel)) problems.push(`${where}: no data for ${expr}`);
    } catch (err) {
      problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}
