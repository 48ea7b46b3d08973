import { describe, expect, it } from 'vitest';
import { parseTimerInboundId, timerInboundId } from './timer-inbound.js';

describe('timer inbound ids', () => {
  it('round-trips the key of a fired timer', () => {
    const key = {
      correlationId: 'workflow-1HGCM82633A004352-1736150400123',
      name: 'response_deadline' as const,
      seq: 7,
    };
    expect(timerInboundId(key)).toBe('timer:workflow-1HGCM82633A004352-1736150400123:response_deadline:7');
    expect(parseTimerInboundId(timerInboundId(key))).toEqual(key);
  });

  it('round-trips the due time, which makes each firing of a timer its own id', () => {
    const key = { correlationId: 'wf-1', name: 'response_deadline' as const, seq: 7, dueAt: 1_736_150_400_123 };
    expect(timerInboundId(key)).toBe('timer:wf-1:response_deadline:7:1736150400123');
    expect(parseTimerInboundId(timerInboundId(key))).toEqual(key);
    expect(timerInboundId({ ...key, dueAt: key.dueAt + 1 })).not.toBe(timerInboundId(key));
  });

  it('reads a correlation id with colons before a due time', () => {
    expect(parseTimerInboundId('timer:a:b:retry:2:99')).toEqual({ correlationId: 'a:b', name: 'retry', seq: 2, dueAt: 99 });
  });

  it('keeps colons inside the correlation id', () => {
    expect(parseTimerInboundId('timer:a:b:retry:2')).toEqual({ correlationId: 'a:b', name: 'retry', seq: 2 });
  });

  it.each([
    undefined,
    'msg-1',
    'timer:',
    'timer:cid:retry',
    'timer:cid:unknown_timer:1',
    'timer:cid:retry:x',
    'timer::retry:1',
    'timer:cid:retry:',
  ])('ignores %j', (id) => expect(parseTimerInboundId(id)).toBeNull());
});
