/**
 * A deployment of real processes on loopback: mock telematics, mock scheduler and the orchestrator,
 * all on one virtual clock (same epoch and speed), as a user would run them with the CLI.
 */
import { PitwallProcess, freePort, getJson, tempDir, waitUntil } from './harness.js';

export interface ClusterOptions {
  vehicles: number;
  seed: number;
  /** Virtual seconds per real second. */
  speed: number;
  personas?: string;
}

export interface GroundTruth {
  vin: string;
  healthy: boolean;
  faults: { component: string; mode: string; fails_at: string }[];
}

export interface WorkflowSummary {
  vin: string;
  correlation_id: string;
  state: string;
  urgency_level: string | null;
  outcome: string | null;
  components: string[];
  findings: { component: string; finding: string }[];
}

export interface CaseStatus {
  vin: string;
  correlation_id: string;
  state: string;
  outcome: string | null;
  state_history: { from_state: string; to_state: string; timestamp: string; reason: string }[];
}

export class Cluster {
  readonly data = tempDir('e2e');
  readonly epoch = new Date().toISOString();
  telematics!: PitwallProcess;
  scheduler!: PitwallProcess;
  orchestrator!: PitwallProcess;
  ports = { api: 0, telematics: 0, scheduler: 0 };

  constructor(readonly opts: ClusterOptions) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }
  get telematicsUrl(): string {
    return `http://127.0.0.1:${this.ports.telematics}`;
  }
  get schedulerUrl(): string {
    return `http://127.0.0.1:${this.ports.scheduler}`;
  }

  private clockArgs(): string[] {
    return ['--speed', String(this.opts.speed), '--clock-epoch', this.epoch];
  }

  async start(): Promise<void> {
    this.ports = { api: await freePort(), telematics: await freePort(), scheduler: await freePort() };
    this.telematics = new PitwallProcess([
      'mock', 'telematics', '--port', String(this.ports.telematics), '--vehicles', String(this.opts.vehicles),
      '--seed', String(this.opts.seed), '--pitwall-url', this.apiUrl, '--bad-sample-rate', '0.002',
      ...(this.opts.personas ? ['--personas', this.opts.personas] : []), ...this.clockArgs(),
    ]);
    this.scheduler = new PitwallProcess([
      'mock', 'scheduler', '--port', String(this.ports.scheduler), '--pitwall-url', this.apiUrl,
      '--telematics', this.telematicsUrl, '--data-dir', this.data.dir, ...this.clockArgs(),
    ]);
    await this.telematics.waitForOutput(/listening on/);
    await this.scheduler.waitForOutput(/listening on/);
    await this.startOrchestrator();
  }

  async startOrchestrator(): Promise<void> {
    this.orchestrator = new PitwallProcess([
      'orchestrator', '--telematics', this.telematicsUrl, '--scheduler', this.schedulerUrl, '--port', String(this.ports.api),
      '--pitwall-url', this.apiUrl, '--data-dir', this.data.dir, '--polling-interval', '3600', '--analysis-interval', '21600',
      '--log-level', 'warn', ...this.clockArgs(),
    ]);
    await this.orchestrator.waitForOutput(/orchestrator running/);
  }

  async stop(): Promise<void> {
    await Promise.all([this.orchestrator?.kill(), this.scheduler?.kill(), this.telematics?.kill()]);
    this.data.remove();
  }

  async groundTruth(): Promise<GroundTruth[]> {
    const { body } = await getJson<{ vehicles: GroundTruth[] } | GroundTruth[]>(`${this.telematicsUrl}/sim/ground-truth`);
    return Array.isArray(body) ? body : body.vehicles;
  }

  /** Faults failing within `days` of the start: critical and high when the run begins. */
  async urgentFaults(days = 7): Promise<{ vin: string; component: string }[]> {
    const limit = Date.parse(this.epoch) + days * 86_400_000;
    return (await this.groundTruth()).flatMap((v) =>
      v.faults.filter((f) => Date.parse(f.fails_at) < limit).map((f) => ({ vin: v.vin, component: f.component })),
    );
  }

  async workflows(state?: string): Promise<WorkflowSummary[]> {
    const all: WorkflowSummary[] = [];
    let cursor: string | null = null;
    do {
      const q: URLSearchParams = new URLSearchParams({ limit: '500', ...(state ? { state } : {}), ...(cursor ? { cursor } : {}) });
      const { body }: { body: { workflows: WorkflowSummary[]; next_cursor: string | null } } = await getJson<{ workflows: WorkflowSummary[]; next_cursor: string | null }>(`${this.apiUrl}/api/workflows?${q}`);
      all.push(...body.workflows);
      cursor = body.next_cursor;
    } while (cursor);
    return all;
  }

  async caseStatus(vin: string, correlationId: string): Promise<CaseStatus> {
    const { status, body } = await getJson<CaseStatus>(`${this.apiUrl}/api/workflows/${vin}?correlation_id=${encodeURIComponent(correlationId)}`);
    if (status !== 200) throw new Error(`case ${correlationId}: ${status}`);
    return body;
  }

  async statistics(): Promise<Record<string, unknown> & { workflow_states: Record<string, number> }> {
    return (await getJson<Record<string, unknown> & { workflow_states: Record<string, number> }>(`${this.apiUrl}/api/statistics`)).body;
  }

  /** Waits until every given fault has a completed, serviced case that confirmed it. */
  async waitUntilServiced(faults: { vin: string; component: string }[], timeoutMs: number): Promise<WorkflowSummary[]> {
    let missing: { vin: string; component: string }[] = faults;
    try {
      return await waitUntil(
        async () => {
          const done = await this.workflows('completed');
          missing = faults.filter(
            (f) =>
              !done.some(
                (w) => w.vin === f.vin && w.outcome === 'serviced' && w.findings.some((x) => x.component === f.component && x.finding === 'confirmed'),
              ),
          );
          return missing.length === 0 ? done : null;
        },
        { timeoutMs, intervalMs: 500, what: 'every urgent fault serviced' },
      );
    } catch (err) {
      const all = await this.workflows().catch(() => []);
      const where = missing.map((f) => ({ ...f, cases: all.filter((w) => w.vin === f.vin).map((w) => `${w.state}/${w.urgency_level}/${w.outcome}/${w.components.join('+')}`) }));
      const tail = (p: PitwallProcess) => `exit ${p.child.exitCode} ${p.child.signalCode ?? ''}: ${p.output.slice(-1500)}`;
      throw new Error(`${(err as Error).message}; not serviced: ${JSON.stringify(where)}\norchestrator ${tail(this.orchestrator)}`);
    }
  }

  async notifications(): Promise<{ notification_id: string; correlation_id: string; kind: string; channel: string }[]> {
    const { body } = await getJson<{ notifications: { notification_id: string; correlation_id: string; kind: string; channel: string }[] }>(
      `${this.telematicsUrl}/sim/notifications`,
    );
    return body.notifications;
  }

  async appointments(): Promise<{ appointment_id: string; correlation_id?: string; vin: string; status: string }[]> {
    const { body } = await getJson<{ appointments: { appointment_id: string; correlation_id?: string; vin: string; status: string }[] }>(
      `${this.schedulerUrl}/sim/appointments`,
    );
    return body.appointments;
  }
}

/**
 * No customer is told anything twice: every engagement message of a case belongs to one decision to
 * engage (an entry into engaging_customer, numbered by attempt), and the provider saw each at most once
 * per channel. A decision whose delivery failed (provider or owner directory down) sends nothing.
 */
export async function assertNoDuplicateNotifications(cluster: Cluster): Promise<void> {
  const sent = await cluster.notifications();
  const byCase = new Map<string, Set<string>>();
  for (const n of sent.filter((x) => x.kind === 'engagement')) {
    const attempt = /:engage:(\d+):/.exec(n.notification_id)?.[1];
    if (!attempt) throw new Error(`unexpected notification id ${n.notification_id}`);
    const set = byCase.get(n.correlation_id) ?? new Set<string>();
    set.add(attempt);
    byCase.set(n.correlation_id, set);
  }
  for (const [cid, attempts] of byCase) {
    const vin = /^workflow-([A-Z0-9]{17})-/.exec(cid)?.[1];
    if (!vin) throw new Error(`bad correlation id ${cid}`);
    const status = await cluster.caseStatus(vin, cid);
    const entries = status.state_history.filter((h) => h.to_state === 'engaging_customer').length;
    const beyond = [...attempts].filter((a) => Number(a) < 1 || Number(a) > entries);
    if (attempts.size > entries || beyond.length > 0) {
      throw new Error(`${cid}: engagement attempts ${[...attempts].join(',')} for ${entries} decisions to engage`);
    }
  }
}

export async function assertNoDoubleBooking(cluster: Cluster): Promise<void> {
  const byCase = new Map<string, number>();
  for (const a of await cluster.appointments()) {
    if (a.status === 'cancelled') continue;
    const key = a.correlation_id ?? a.vin;
    byCase.set(key, (byCase.get(key) ?? 0) + 1);
  }
  const doubled = [...byCase].filter(([, n]) => n > 1);
  if (doubled.length > 0) throw new Error(`booked twice: ${JSON.stringify(doubled)}`);
}
