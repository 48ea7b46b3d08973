/**
 * What an inbound message would do to its case, decided now without committing anything: the HTTP API
 * answers from it (404 unknown case, 409 not applicable now, 422 contradicts its case, 400 malformed)
 * before it publishes the message, so a client hears at once what the orchestrator will make of it. The
 * orchestrator that takes the message off the bus decides again on the case as it is then; the preview is
 * the same pure `decide`, so the two agree unless the case moved in between.
 */
import { decide } from '../core/decider.js';
import type { Envelope } from '../core/envelope.js';
import type { Workflow, WorkflowConfig, WorkflowState } from '../core/workflow.js';
import type { Store } from '../store/port.js';
import { toEvent } from './inbound.js';

export type Preview =
  /** The case would take it and be in `state` after. */
  | { status: 'applicable'; state: WorkflowState; workflow: Workflow }
  /** It changes nothing: no such case (`workflow` null), or the case is not where it applies. */
  | { status: 'ignored'; reason: string; workflow: Workflow | null }
  /** It contradicts the case it names (another VIN, appointment or date). */
  | { status: 'refused'; reason: string; workflow: Workflow }
  /** Not a message the orchestrator takes from this sender, or not of its shape. */
  | { status: 'rejected'; reason: string };

export async function previewInbound(
  store: Pick<Store, 'getWorkflow'>,
  env: Envelope,
  now: number,
  config: WorkflowConfig,
): Promise<Preview> {
  const inbound = toEvent(env);
  if (!inbound.ok) return { status: 'rejected', reason: inbound.reason };
  const cid = env.header.correlation_id;
  const wf = await store.getWorkflow(cid);
  if (!wf) return { status: 'ignored', reason: `no workflow ${cid}`, workflow: null };
  const d = decide(wf, inbound.event, now, config);
  if (d.refused !== undefined) return { status: 'refused', reason: d.refused, workflow: wf };
  if (d.ignored !== undefined || d.workflow.version === wf.version) {
    return { status: 'ignored', reason: d.ignored ?? 'no change', workflow: wf };
  }
  return { status: 'applicable', state: d.workflow.state, workflow: wf };
}
