/**
 * `pitwall stats` and `pitwall status` read the HTTP API and print for a person (or --json);
 * `pitwall labels` reads the store file itself, so it works while Pitwall is stopped too.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import pc from 'picocolors';
import type { AnalysisResult, ServiceLabel } from '../core/payloads.js';
import type { Statistics, WorkflowStatus } from '../orchestrator/status.js';

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new Error(`cannot reach Pitwall at ${new URL(url).origin} (${(err as Error).message}); is it running? (npm start)`);
  }
  return { status: res.status, body: (await res.json()) as T };
}

export async function printStats(apiUrl: string, json: boolean): Promise<void> {
  const { status, body } = await getJson<Statistics>(`${apiUrl}/api/statistics`);
  if (status !== 200) throw new Error(`statistics answered ${status}`);
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  const rows: [string, number][] = [
    ['vehicles processed', body.total_vehicles_processed],
    ['active workflows', body.active_workflows],
    ['completed workflows', body.completed_workflows],
    ['  of which failed', body.failed_workflows],
    ['anomalies detected', body.anomalies_detected],
    ['customers engaged', body.customers_engaged],
    ['appointments scheduled', body.appointments_scheduled],
    ['failures prevented', body.failures_prevented],
    ['errors encountered', body.errors_encountered],
  ];
  const out = rows.map(([k, v]) => `${k.padEnd(24)}${String(v).padStart(8)}`);
  out.push('', pc.bold('workflow states'));
  for (const [state, n] of Object.entries(body.workflow_states)) out.push(`  ${state.padEnd(22)}${String(n).padStart(8)}`);
  const rejected = Object.entries(body.telemetry_rejected);
  if (rejected.length > 0) {
    out.push('', pc.bold('telemetry rejected'));
    for (const [reason, n] of rejected) out.push(`  ${reason.padEnd(22)}${String(n).padStart(8)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export async function printStatus(apiUrl: string, vin: string, json: boolean): Promise<void> {
  const { status, body } = await getJson<WorkflowStatus & { message?: string }>(`${apiUrl}/api/workflows/${vin}`);
  if (status === 404) throw new Error(`no workflow for VIN ${vin}`);
  if (status !== 200) throw new Error(`status answered ${status}: ${body.message ?? ''}`);
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatStatus(body));
}

const days = (d: number): string => d.toFixed(1);

/** Why the analysis says what it says, as a person checking it wants to read it: the band, the evidence, the data behind it. */
function formatAnalysis(a: AnalysisResult): string[] {
  const lines: string[] = [];
  if (a.predicted_failures.length > 0) {
    lines.push('', pc.bold('predicted failures'));
    for (const f of a.predicted_failures) {
      const band = f.days_to_failure_low !== undefined && f.days_to_failure_high !== undefined ? ` (${days(f.days_to_failure_low)}–${days(f.days_to_failure_high)})` : '';
      lines.push(`  ${f.component.padEnd(13)} ${f.mode.padEnd(28)} p=${f.probability.toFixed(2)}  ${days(f.days_to_failure)} days${band}`);
      for (const e of f.evidence ?? []) lines.push(`    ${pc.dim('·')} ${e}`);
    }
  }
  const q = a.data_quality;
  const excluded = q ? Object.entries(q.excluded).map(([reason, n]) => `${n} ${reason}`) : [];
  const quality = q
    ? [
        `${q.samples_used}/${q.samples_received} samples used over ${q.coverage_days} day${q.coverage_days === 1 ? '' : 's'}`,
        ...(excluded.length > 0 ? [`excluded ${excluded.join(', ')}`] : []),
        ...(q.signals_stuck.length > 0 ? [`stuck ${q.signals_stuck.join(', ')}`] : []),
        ...(q.gaps > 0 ? [`${q.gaps} gap${q.gaps === 1 ? '' : 's'}`] : []),
      ]
    : [`${a.samples_analyzed} samples analysed`];
  lines.push('', `analysis ${a.model_version}  confidence ${a.confidence.toFixed(2)}  ${pc.dim(quality.join(' · '))}`);
  return lines;
}

/** `pitwall status` for a person: the workflow, what the analysis predicted and why, its history. */
export function formatStatus(body: WorkflowStatus): string {
  const lines = [
    `${pc.bold(body.vin)}  ${body.state}  urgency ${body.urgency_level ?? '-'}  ${body.outcome ? `outcome ${body.outcome}` : ''}`,
    `correlation ${body.correlation_id}  updated ${body.last_update}  retries ${body.retry_count}  errors ${body.error_count}`,
  ];
  if (body.analysis_result) lines.push(...formatAnalysis(body.analysis_result));
  if (body.appointment) lines.push('', `appointment ${body.appointment.appointment_id} at ${body.appointment.center_id}, ${body.appointment.start}`);
  const total = body.state_history_total ?? body.state_history.length;
  lines.push('', pc.bold(total > body.state_history.length ? `history (latest ${body.state_history.length} of ${total})` : 'history'));
  for (const h of body.state_history) lines.push(`  ${h.timestamp}  ${h.from_state} → ${h.to_state}  ${pc.dim(h.reason)}`);
  return `${lines.join('\n')}\n`;
}

/** The store file of a data directory (as the composition root names it). */
export const STORE_FILE = 'pitwall.db';

/** Every label in the store, oldest service first: a table, or one JSON object per line with `json`. */
export async function printLabels(dataDir: string, json: boolean): Promise<void> {
  const file = path.join(dataDir, STORE_FILE);
  if (!existsSync(file)) throw new Error(`no Pitwall store at ${file}; pass the --data-dir Pitwall runs with`);
  const { createSqliteStore } = await import('../store/index.js');
  const store = createSqliteStore({ path: file });
  try {
    // A store last opened by an older Pitwall has no labels table yet; migrating only adds it.
    await store.migrate();
    let cursor: string | undefined;
    let shown = 0;
    if (!json) process.stdout.write(`${pc.bold(labelRow(['serviced', 'vin', 'component', 'finding', 'predicted']))}\n`);
    do {
      const page = await store.listLabels({ limit: 1000, ...(cursor ? { cursor } : {}) });
      const lines = page.items.map((l) => (json ? JSON.stringify(l) : labelLine(l)));
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      shown += page.items.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    if (!json) {
      const c = await store.countLabels();
      process.stdout.write(`\n${shown} labels: ${c.confirmed} confirmed, ${c.not_found} not found\n`);
    }
  } finally {
    await store.close();
  }
}

function labelLine(l: ServiceLabel): string {
  const p = l.predicted;
  const predicted = p ? `${p.mode} p=${p.probability.toFixed(2)} ${p.days_to_failure.toFixed(1)} d` : pc.dim('nothing');
  const finding = l.finding === 'confirmed' ? pc.green(l.finding.padEnd(10)) : pc.yellow(l.finding.padEnd(10));
  return `${new Date(l.serviced_at).toISOString().slice(0, 16)}Z  ${l.vin}  ${l.component.padEnd(13)}${finding}${predicted}`;
}

function labelRow([serviced, vin, component, finding, predicted]: string[]): string {
  return `${(serviced ?? '').padEnd(19)}${(vin ?? '').padEnd(19)}${(component ?? '').padEnd(13)}${(finding ?? '').padEnd(10)}${predicted ?? ''}`;
}
