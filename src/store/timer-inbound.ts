/**
 * The inbound id of a decision caused by a timer: `timer:{correlation_id}:{name}:{seq}`.
 * The shell passes it as `DecisionCommit.inboundId`; the store then deletes that timer in the same
 * transaction as the decision, but only if its seq still matches, so a timer re-set with a newer seq
 * survives. Parsed from the right because the name and seq never contain ':'.
 */
import { TIMER_NAMES, type TimerName } from '../core/workflow.js';

const PREFIX = 'timer:';
const timerNames: ReadonlySet<string> = new Set(TIMER_NAMES);

export interface FiredTimerKey {
  correlationId: string;
  name: TimerName;
  seq: number;
}

export function timerInboundId(key: FiredTimerKey): string {
  return `${PREFIX}${key.correlationId}:${key.name}:${key.seq}`;
}

export function parseTimerInboundId(inboundId: string | undefined): FiredTimerKey | null {
  if (inboundId === undefined || !inboundId.startsWith(PREFIX)) return null;
  const seqAt = inboundId.lastIndexOf(':');
  const nameAt = inboundId.lastIndexOf(':', seqAt - 1);
  if (nameAt <= PREFIX.length) return null;
  const name = inboundId.slice(nameAt + 1, seqAt);
  const seqText = inboundId.slice(seqAt + 1);
  const seq = Number(seqText);
  if (!timerNames.has(name) || seqText === '' || !Number.isInteger(seq)) return null;
  return { correlationId: inboundId.slice(PREFIX.length, nameAt), name: name as TimerName, seq };
}
