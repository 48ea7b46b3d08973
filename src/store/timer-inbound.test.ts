import { describe, expect, it } from 'vitest';
import { timerInboundId } from './timer-inbound.js';

describe('timer inbound ids', () => {
  it('names the fired timer', () => {
    const key = {
      correlationId: 'workflow-1HGCM82633A004352-1736150400123',
      name: 'response_deadline' as const,
      seq: 7,
    };
    expect(timerInboundId(key)).toBe('timer:workflow-1HGCM82633A004352-1736150400123:response_deadline:7');
  });

  it('names the due time, which makes each firing of a timer its own id', () => {
    const key = { correlationId: 'wf-1', name: 'response_deadline' as const, seq: 7, dueAt: 1_736_150_400_123 };
    expect(timerInboundId(key)).toBe('timer:wf-1:response_deadline:7:1736150400123');
    expect(timerInboundId({ ...key, dueAt: key.dueAt + 1 })).not.toBe(timerInboundId(key));
    expect(timerInboundId({ ...key, seq: 8 })).not.toBe(timerInboundId(key));
  });
});
