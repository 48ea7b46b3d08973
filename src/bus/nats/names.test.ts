import { describe, expect, it } from 'vitest';
import { checkNaming, durableName, familyOf, laneFilter, messageSubject, partitionOf, streamName, streamPrefix, streamSubject } from './names.js';
import { parseAckSubject } from './pull-consumer.js';

const prod = checkNaming({ namespace: '', partitions: 8 });
const test = checkNaming({ namespace: 'ab12', partitions: 8 });

describe('NATS names', () => {
  it('puts a channel family in one stream, and the priority and key partition after the channel', () => {
    expect(familyOf('channel.data_analysis.request')).toBe('data_analysis');
    expect(streamName(prod, familyOf('channel.data_analysis.request'))).toBe('PITWALL_DATA_ANALYSIS');
    expect(streamSubject(prod, 'channel.data_analysis.request')).toBe('channel.data_analysis.>');
    expect(streamSubject(prod, 'channel.dead_letter')).toBe('channel.dead_letter.>');
    expect(messageSubject(prod, 'channel.dead_letter', 4, 3)).toBe('channel.dead_letter.4.3');
    expect(laneFilter(prod, 'channel.scheduling.request', 4, null)).toBe('channel.scheduling.request.4.*');
    expect(laneFilter(prod, 'channel.scheduling.request', 1, 5)).toBe('channel.scheduling.request.1.5');
  });

  it("keeps a namespace's streams and subjects apart from every other's", () => {
    expect(streamName(test, 'data_analysis')).toBe('PITWALL-AB12_DATA_ANALYSIS');
    expect(streamPrefix(test)).toBe('PITWALL-AB12_');
    expect(streamName(prod, 'ab12_x').startsWith(streamPrefix(test))).toBe(false);
    expect(messageSubject(test, 'channel.x.y', 2, 0)).toBe('ab12.channel.x.y.2.0');
    expect(() => checkNaming({ namespace: 'a_b', partitions: 8 })).toThrow(/namespace/);
    expect(() => checkNaming({ namespace: 'AB', partitions: 8 })).toThrow(/namespace/);
  });

  it('names a queue group lane so every process of the group binds to the same durable consumer', () => {
    expect(durableName('data_analysis', 'channel.data_analysis.request', 4, null)).toBe('data_analysis__channel-data_analysis-request__p4');
    expect(durableName('orchestrator', 'channel.scheduling.result', 2, 7)).toBe('orchestrator__channel-scheduling-result__p2k7');
    expect(() => durableName('a.b', 'channel.x', 1, null)).toThrow(/queue/);
    expect(() => familyOf('channel.*.x')).toThrow(/channel/);
  });

  it('spreads keys over the partitions, the same way in every process', () => {
    expect(partitionOf('1HGCM82633A004352', 8)).toBe(partitionOf('1HGCM82633A004352', 8));
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`VIN${String(i).padStart(14, '0')}`, 8)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('reads the delivery count from either form of the ack subject', () => {
    expect(parseAckSubject('$JS.ACK.S.c1.3.10.7.1796222426807046142.0')).toEqual({ consumer: 'c1', deliveryCount: 3 });
    expect(parseAckSubject('$JS.ACK.dom.acchash.S.c1.2.10.7.1796222426807046142.0.rand')).toEqual({ consumer: 'c1', deliveryCount: 2 });
    expect(parseAckSubject('_INBOX.x.y')).toBeNull();
  });
});
