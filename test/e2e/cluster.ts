/**
 * A deployment of real processes on loopback: mock telematics, mock scheduler and the orchestrator,
 * all on one virtual clock (same epoch and speed), as a user would run them with the CLI.
 */
import { workflowTimingFor } from '../../src/cli/compose.js';
import { DEFAULT_WORKFLOW_CONFIG, type Outcome } from '../../src/core/workflow.js';
import type { WorkflowStatus } from '../../src/orchestrator/status.js';
import type { Persona } from '../../src/sim/vehicles.js';
import { PitwallProcess, freePort, getJson, tempDir, waitUntil } from './harness.js';

export interface ClusterOptions {
  vehicles: number;
  seed: number;
  /** Virtual seconds per real second. */
  speed: number;
  personas?: string;
  /**
   * Run distributed: this many orchestrator processes and this many of each agent kind, on the given
   * bus and store (NATS and PostgreSQL). Without it: one orchestrator with its agents in-process, SQLite.
   */
  distributed?: { orchestrators: number; agents: number; busUrl: string; dbUrl: string; env?: NodeJS.ProcessEnv };
}

export const AGENT_KINDS = ['analysis', 'engagement', 'scheduling', 'feedback'] as const;

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
  /** Orchestrator 1: the one whose API the mocks and the test talk to. */
  orchestrator!: PitwallProcess;
  /** Every orchestrator process, the first one included, each with its own API port. */
  orchestrators: PitwallProcess[] = [];
  agents: PitwallProcess[] = [];
  ports = { api: 0, telematics: 0, scheduler: 0 };
  apiPorts: number[] = [];

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
      '--seed', String(this.opts.seed), '--pitwall-url', this.apiUrl, '--bad-sample-rate', '0.002', '--data-dir', this.data.dir,
      ...(this.opts.personas ? ['--personas', this.opts.personas] : []), ...this.clockArgs(),
    ]);
    this.scheduler = new PitwallProcess([
      'mock', 'scheduler', '--port', String(this.ports.scheduler), '--pitwall-url', this.apiUrl,
      '--telematics', this.telematicsUrl, '--data-dir', this.data.dir, ...this.clockArgs(),
    ]);
    await this.telematics.waitForOutput(/listening on/);
    await this.scheduler.waitForOutput(/listening on/);
    const d = this.opts.distributed;
    this.apiPorts = [this.ports.api];
    for (let i = 1; i < (d?.orchestrators ?? 1); i++) this.apiPorts.push(await freePort());
    // Agents first on a shared bus: the first requests find their consumers waiting.
    if (d) {
      for (const kind of AGENT_KINDS) for (let i = 0; i < d.agents; i++) this.agents.push(this.startAgent(kind));
      await Promise.all(this.agents.map((a) => a.waitForOutput(/agent running/, 60_000))).catch((err: Error) => {
        const tails = this.agents.map((a, i) => `agent ${i} (pid ${a.pid}, exit ${a.child.exitCode}): ${a.output.slice(-400)}`);
        throw new Error(`${err.message}\n${tails.join('\n')}`);
      });
    }
    for (let i = 0; i < this.apiPorts.length; i++) await this.startOrchestrator(i);
  }

  /** `--bus …` then `--db …` (an agent takes only the bus: it keeps nothing in a store). */
  private distributedArgs(): string[] {
    const d = this.opts.distributed;
    return d ? ['--bus', d.busUrl, '--db', d.dbUrl] : [];
  }

  private startAgent(kind: (typeof AGENT_KINDS)[number]): PitwallProcess {
    return new PitwallProcess(
      ['agent', kind, '--telematics', this.telematicsUrl, '--scheduler', this.schedulerUrl, '--pitwall-url', this.apiUrl,
        '--data-dir', this.data.dir, '--log-level', 'warn', ...this.distributedArgs().slice(0, 2), ...this.clockArgs()],
      this.opts.distributed?.env,
    );
  }

  /** Starts (or restarts) orchestrator `index` (0 = the first, whose API the mocks use). */
  async startOrchestrator(index = 0): Promise<PitwallProcess> {
    const p = new PitwallProcess(
      ['orchestrator', '--telematics', this.telematicsUrl, '--scheduler', this.schedulerUrl, '--port', String(this.apiPorts[index] ?? this.ports.api),
        '--pitwall-url', this.apiUrl, '--data-dir', this.data.dir, '--polling-interval', '3600', '--analysis-interval', '21600',
        '--log-level', 'warn', ...this.distributedArgs(), ...this.clockArgs()],
      this.opts.distributed?.env,
    );
    this.orchestrators[index] = p;
    if (index === 0) this.orchestrator = p;
    await p.waitForOutput(/orchestrator running/);
    return p;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.orchestrators, ...this.agents, this.scheduler, this.telematics].map((p) => p?.kill()));
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

  async health(): Promise<{ status: string; time: string; telematics: { state: string; held_fetches: number } }> {
    return (await getJson<{ status: string; time: string; telematics: { state: string; held_fetches: number } }>(`${this.apiUrl}/api/health`)).body;
  }

  /** The orchestrator's virtual now (every process of the cluster runs on the same clock). */
  async now(): Promise<number> {
    const { body } = await getJson<{ time: string }>(`${this.apiUrl}/api/health`);
    return Date.parse(body.time);
  }

  /**
   * The persona answering for each vehicle's owner: the fleet's own mix (the mock's /api/vehicles), or
   * the one persona the cluster was started with. A list of several would need the mock's rule for
   * spreading owners over them, which this does not copy.
   */
  async personas(): Promise<Map<string, Persona>> {
    const only = this.opts.personas ? this.opts.personas.split(',') : [];
    if (only.length > 1) throw new Error(`personas() knows one persona or the mix, not ${this.opts.personas}`);
    const out = new Map<string, Persona>();
    let cursor: string | null = null;
    do {
      const url = `${this.telematicsUrl}/api/vehicles?limit=500${cursor ? `&cursor=${cursor}` : ''}`;
      type Page = { vehicles: { vin: string; owner: { persona: Persona } }[]; next_cursor: string | null };
      // The mock answers 503 during a simulated outage: ask again until it is over.
      const body: Page = await waitUntil(async () => {
        const r = await getJson<Page>(url);
        return r.status === 200 ? r.body : null;
      }, { timeoutMs: 30_000, what: `the fleet from ${url}` });
      for (const v of body.vehicles) out.set(v.vin, (only[0] as Persona | undefined) ?? v.owner.persona);
      cursor = body.next_cursor;
    } while (cursor);
    return out;
  }

  /** Every case, open or closed, with its full status (history, answer, appointment, feedback). */
  async cases(state?: string): Promise<WorkflowStatus[]> {
    const out: WorkflowStatus[] = [];
    for (const w of await this.workflows(state)) out.push((await this.caseStatus(w.vin, w.correlation_id)) as unknown as WorkflowStatus);
    return out;
  }

  /**
   * Waits until every given fault has come to the end its owner's persona leads to: repaired (the
   * service report confirmed it; the case may still wait for feedback, which an owner may never give),
   * or, for an owner who never answers, a case closed as no_response.
   */
  async waitUntilSettled(faults: { vin: string; component: string }[], timeoutMs: number): Promise<void> {
    const personas = await this.personas();
    const unanswered = faults.filter((f) => personas.get(f.vin) === 'unreachable');
    const answered = faults.filter((f) => personas.get(f.vin) !== 'unreachable');
    let missing: { vin: string; component: string }[] = unanswered;
    try {
      await waitUntil(
        async () => {
          const done = await this.workflows('completed');
          missing = unanswered.filter((f) => !done.some((w) => w.vin === f.vin && w.outcome === 'no_response'));
          return missing.length === 0;
        },
        { timeoutMs, intervalMs: 500, what: 'a no_response close for every urgent fault of an unreachable owner' },
      );
    } catch (err) {
      const all = await this.workflows().catch(() => []);
      const where = missing.map((f) => ({ ...f, cases: all.filter((w) => w.vin === f.vin).map((w) => `${w.state}/${w.urgency_level}/${w.outcome}`) }));
      const stuck = await assertNoCaseStuck(this).then(() => '', (e: Error) => `\n${e.message}`);
      throw new Error(`${(err as Error).message}; not closed: ${JSON.stringify(where)}${stuck}`);
    }
    if (answered.length > 0) await this.waitUntilRepaired(answered, timeoutMs);
  }

  /** Waits until every given fault was confirmed by a service report, whether or not its case has closed. */
  async waitUntilRepaired(faults: { vin: string; component: string }[], timeoutMs: number): Promise<void> {
    let missing = faults;
    try {
      await waitUntil(
        async () => {
          const serviced = (await this.workflows()).filter((w) => w.state === 'collecting_feedback' || w.outcome === 'serviced');
          missing = faults.filter(
            (f) => !serviced.some((w) => w.vin === f.vin && w.findings.some((x) => x.component === f.component && x.finding === 'confirmed')),
          );
          return missing.length === 0;
        },
        { timeoutMs, intervalMs: 500, what: 'every urgent fault repaired' },
      );
    } catch (err) {
      const all = await this.workflows().catch(() => []);
      const where = missing.map((f) => ({ ...f, cases: all.filter((w) => w.vin === f.vin).map((w) => `${w.state}/${w.urgency_level}/${w.outcome}/${w.components.join('+')}`) }));
      const stuck = await assertNoCaseStuck(this).then(() => '', (e: Error) => `\n${e.message}`);
      throw new Error(`${(err as Error).message}; not repaired: ${JSON.stringify(where)}${stuck}`);
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

/** Virtual ms a timer may fire late before its case counts as stuck: 12 h, or 3 real seconds on a fast clock. */
export function stuckGraceMs(speed: number): number {
  return Math.max(12 * 3_600_000, 3_000 * speed);
}

/**
 * The latest virtual time by which an open case must have left its state, from the timers the decider
 * sets on entering it (DESIGN §4), or null for a state that waits on nothing (idle).
 */
export function caseDeadline(c: WorkflowStatus, speed: number): number | null {
  const cfg = DEFAULT_WORKFLOW_CONFIG;
  const timing = workflowTimingFor({ stateTimeout: cfg.stateTimeoutMs / 1000, speed });
  const entered = [...c.state_history].reverse().find((h) => h.to_state === c.state);
  if (!entered) return null;
  const since = Date.parse(entered.timestamp);
  switch (c.state) {
    case 'engaging_customer':
      return since + cfg.responseWindowMs[c.urgency_level ?? 'low'];
    case 'collecting_feedback':
      return since + cfg.feedbackWindowMs;
    case 'awaiting_service':
      return c.appointment ? Date.parse(c.appointment.end) + cfg.serviceGraceMs : null;
    case 'polling_telemetry':
    case 'analyzing_data':
    case 'scheduling_service':
      return since + timing.stateTimeoutMs;
    case 'error':
      return since + timing.retryBaseMs * 2 ** cfg.maxRetries;
    case 'assessing_urgency':
      // A medium case waits for the next daily batch window.
      return since + 86_400_000;
    case 'idle':
    case 'completed':
      return null;
    default: {
      const _exhaustive: never = c.state;
      return _exhaustive;
    }
  }
}

/** No open case is still in a state whose deadline passed (more than the grace) on the virtual clock. */
export async function assertNoCaseStuck(cluster: Cluster): Promise<void> {
  const now = await cluster.now();
  const grace = stuckGraceMs(cluster.opts.speed);
  const stuck: string[] = [];
  for (const c of await cluster.cases()) {
    if (c.state === 'completed' || c.state === 'idle') continue;
    const deadline = caseDeadline(c, cluster.opts.speed);
    if (deadline !== null && now > deadline + grace) {
      const overdueH = ((now - deadline) / 3_600_000).toFixed(1);
      const path = c.state_history.map((h) => `${h.timestamp} ${h.to_state} (${h.reason})`).join(' → ');
      stuck.push(`${c.correlation_id} ${c.state}/${c.urgency_level} ${overdueH} h past its deadline: ${path}`);
    }
  }
  if (stuck.length > 0) throw new Error(`stuck cases at ${new Date(now).toISOString()}:\n${stuck.join('\n')}`);
}

/** What a case that engaged an owner of each persona may end as (src/sim/customers.ts gives their behaviour). */
export const PERSONA_OUTCOMES: Readonly<Record<Persona, readonly Outcome[]>> = {
  // Accepts every message and rates every service.
  dependable: ['serviced'],
  // Answer every message (a busy or reluctant owner may overlook the first and answer the reminder), and may decline.
  prompt: ['serviced', 'declined'],
  busy: ['serviced', 'declined'],
  reluctant: ['serviced', 'declined'],
  // Never answers: every case runs through reminder and escalation to no_response.
  unreachable: ['no_response'],
};

/** States a case reaches only after its owner accepted. */
const ACCEPTED_STATES: ReadonlySet<string> = new Set(['scheduling_service', 'awaiting_service', 'collecting_feedback']);

/**
 * Every case that engaged a customer and has come past the engagement went as its owner's persona
 * leads to, and got there the way the decider says. A closed one ended with an outcome the persona
 * allows: a no_response after a reminder and an escalation the owner was really sent (the mock
 * provider's record), a decline after the owner declined (a critical one after an escalation), a
 * serviced case after an acceptance, with the scheduler's appointment completed, and a dependable
 * owner's rating. An open one past engagement (booking, service, feedback) was accepted by its owner,
 * and once serviced has the scheduler's completed appointment. Returns the closed cases checked.
 */
export async function assertCasesFitPersonas(cluster: Cluster): Promise<WorkflowStatus[]> {
  const personas = await cluster.personas();
  const sent = await cluster.notifications();
  const appointments = new Map((await cluster.appointments()).map((a) => [a.appointment_id, a]));
  const checked = (await cluster.cases()).filter(
    (c) => (c.state === 'completed' || ACCEPTED_STATES.has(c.state)) && c.state_history.some((h) => h.to_state === 'engaging_customer'),
  );
  const problems: string[] = [];
  for (const c of checked) {
    const persona = personas.get(c.vin);
    const say = (what: string) => problems.push(`${c.correlation_id} (${persona}, ${c.state}, ${c.urgency_level}, ${c.outcome}): ${what}`);
    if (!persona) {
      say('no owner persona');
      continue;
    }
    const serviced = () => {
      if (c.customer_response?.decision !== 'accept') say(`serviced without an acceptance: ${JSON.stringify(c.customer_response)}`);
      const booked = c.appointment ? appointments.get(c.appointment.appointment_id) : undefined;
      if (!booked) say(`appointment ${c.appointment?.appointment_id ?? 'none'} not on the scheduler`);
      else if (booked.status !== 'completed' || booked.vin !== c.vin) say(`scheduler has it as ${booked.status} for ${booked.vin}`);
      if (!c.service_report) say('serviced without a service report');
    };
    if (c.state !== 'completed') {
      if (!PERSONA_OUTCOMES[persona].includes('serviced')) say('an owner who does not accept got past engagement');
      if (c.customer_response?.decision !== 'accept') say(`past engagement without an acceptance: ${JSON.stringify(c.customer_response)}`);
      if (c.state === 'collecting_feedback') serviced();
      continue;
    }
    if (!c.outcome || !PERSONA_OUTCOMES[persona].includes(c.outcome)) say(`outcome not one of ${PERSONA_OUTCOMES[persona].join(', ')}`);
    const engaged = c.state_history.filter((h) => h.to_state === 'engaging_customer').map((h) => h.reason);
    if (c.outcome === 'no_response') {
      if (c.customer_response) say(`closed as no_response with an answer ${JSON.stringify(c.customer_response)}`);
      if (!engaged.some((r) => /reminder/.test(r))) say(`no reminder before no_response: ${engaged.join('; ')}`);
      if (!engaged.some((r) => /escalat/.test(r))) say(`no escalation before no_response: ${engaged.join('; ')}`);
      const attempts = new Set(sent.filter((n) => n.kind === 'engagement' && n.correlation_id === c.correlation_id).map((n) => /:engage:(\d+):/.exec(n.notification_id)?.[1]));
      if (attempts.size < 3) say(`the provider delivered ${attempts.size} engagement messages, not initial + reminder + escalation`);
    }
    if (c.outcome === 'declined') {
      if (c.customer_response?.decision !== 'decline') say(`closed as declined with answer ${JSON.stringify(c.customer_response)}`);
      if (c.urgency_level === 'critical' && !engaged.some((r) => /escalat/.test(r))) say('critical decline closed without an escalation');
    }
    if (c.outcome === 'serviced') {
      serviced();
      if (persona === 'dependable' && !(c.feedback && c.feedback.rating >= 4)) say(`no rating from a dependable owner: ${JSON.stringify(c.feedback)}`);
    }
  }
  if (problems.length > 0) {
    // Each case at fault with its whole path and the messages the provider delivered for it.
    const detail = [...new Set(problems.map((p) => p.split(' ')[0]!))].map((cid) => {
      const c = checked.find((x) => x.correlation_id === cid);
      const path = c?.state_history.map((h) => `${h.timestamp} ${h.to_state} (${h.reason})`).join(' → ');
      const messages = sent.filter((n) => n.correlation_id === cid).map((n) => n.notification_id);
      return `${cid}: ${path}\n  delivered: ${messages.join(', ')}`;
    });
    throw new Error(`cases that do not fit their owner's persona:\n${problems.join('\n')}\n${detail.join('\n')}`);
  }
  return checked.filter((c) => c.state === 'completed');
}

