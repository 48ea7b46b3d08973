/**
 * The inbound id of a decision caused by a timer: `timer:{correlation_id}:{name}:{seq}:{due_at}`.
 * The shell passes it as `DecisionCommit.inboundId`; the store then deletes that timer in the same
 * transaction as the decision, but only if its seq still matches, so a timer re-set with a newer seq
 * survives. The due time makes the id name one firing of one timer: a timer set again for a later
 * time is a new firing, never a duplicate of the last one (a reminder that re-set its deadline under
 * the same seq once got every later firing refused as a duplicate, and the case stayed open for ever).
 * Ids written without the due time (`timer:{cid}:{name}:{seq}`) still parse. Parsed from the right
 * because the name, seq and due time never contain ':'.
 */
import { TIMER_NAMES, type TimerName } from '../core/workflow.js';

const PREFIX = 'timer:';
const timerNames: ReadonlySet<string> = new Set(TIMER_NAMES);

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

const isInt = (text: string): boolean => text !== '' && Number.isInteger(Number(text));

export function parseTimerInboundId(inboundId: string | undefined): FiredTimerKey | null {
  if (inboundId === undefined || !inboundId.startsWith(PREFIX)) return null;
  const parts = inboundId.slice(PREFIX.length).split(':');
  // With the due time the last three parts are name, seq, due; without it, name and seq.
  for (const withDue of [true, false]) {
    const tail = withDue ? 3 : 2;
    if (parts.length <= tail) continue;
    const [name, seqText, dueText] = parts.slice(-tail) as [string, string, string | undefined];
    const correlationId = parts.slice(0, -tail).join(':');
    if (!timerNames.has(name) || !isInt(seqText) || correlationId === '') continue;
    if (withDue && !isInt(dueText!)) continue;
    return {
      correlationId,
      name: name as TimerName,
      seq: Number(seqText),
      ...(withDue ? { dueAt: Number(dueText) } : {}),
    };
  }
  return null;
}
