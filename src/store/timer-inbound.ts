/**
 * The inbound id of a decision caused by a timer: `timer:{correlation_id}:{name}:{seq}:{due_at}`.
 * The shell passes it as `DecisionCommit.inboundId`, so a timer claimed again (its lease ran out, or
 * another process claimed it too) is refused as a duplicate once its decision is committed. The due
 * time makes the id name one firing of one timer: a timer set again for a later time is a new firing,
 * never a duplicate of the last one (a reminder that re-set its deadline under the same seq once got
 * every later firing refused as a duplicate, and the case stayed open for ever). The id is only ever
 * compared: which timer to delete is told by `DecisionCommit.firedTimer`.
 */
import type { TimerName } from '../core/workflow.js';

const PREFIX = 'timer:';

export interface FiredTimerKey {
  correlationId: string;
  name: TimerName;
  seq: number;
  /** epoch ms the timer was due */
  dueAt?: number;
}

export function timerInboundId(key: FiredTimerKey): string {
  const due = key.dueAt === undefined ? '' : `:${key.dueAt}`;
  return `${PREFIX}${key.correlationId}:${key.name}:${key.seq}${due}`;
}
