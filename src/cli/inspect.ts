/** `pitwall stats` and `pitwall status`: read the HTTP API and print for a person (or --json). */
import pc from 'picocolors';
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
  const a = body.analysis_result;
  const lines = [
    `${pc.bold(body.vin)}  ${body.state}  urgency ${body.urgency_level ?? '-'}  ${body.outcome ? `outcome ${body.outcome}` : ''}`,
    `correlation ${body.correlation_id}  updated ${body.last_update}  retries ${body.retry_count}  errors ${body.error_count}`,
  ];
  if (a && a.predicted_failures.length > 0) {
    lines.push('', pc.bold('predicted failures'));
    for (const f of a.predicted_failures) {
      lines.push(`  ${f.component.padEnd(13)} ${f.mode.padEnd(28)} p=${f.probability.toFixed(2)}  ${f.days_to_failure.toFixed(1)} days`);
    }
  }
  if (body.appointment) lines.push('', `appointment ${body.appointment.appointment_id} at ${body.appointment.center_id}, ${body.appointment.start}`);
  const total = body.state_history_total ?? body.state_history.length;
  lines.push('', pc.bold(total > body.state_history.length ? `history (latest ${body.state_history.length} of ${total})` : 'history'));
  for (const h of body.state_history) lines.push(`  ${h.timestamp}  ${h.from_state} → ${h.to_state}  ${pc.dim(h.reason)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
