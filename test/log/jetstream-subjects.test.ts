/** How the distributed log names subjects and consumers, and cuts batches into messages (pure). */
import { describe, expect, it } from 'vitest';
import { splitBatch } from '../../src/log/jetstream/chunks.js';
import { consumerName, eventSubject, parseConsumerName, parseSubject, partitionFilter, partitionOf, tenantFilter } from '../../src/log/jetstream/subjects.js';

const scheme = { prefix: 'keel.events', partitions: 8 };

describe('subjects', () => {
  it('maps partitions and tenants onto subjects and back', () => {
    expect(eventSubject(scheme, 3, 'acme')).toBe('keel.events.3.acme');
    expect(partitionFilter(scheme, 3)).toBe('keel.events.3.>');
    expect(tenantFilter(scheme, 'acme')).toBe('keel.events.*.acme');
    expect(parseSubject(scheme, 'keel.events.3.acme')).toEqual({ partition: 3, tenant: 'acme' });
    expect(parseSubject(scheme, 'other.3.acme')).toBeUndefined();
    expect(parseSubject(scheme, 'keel.events.x.acme')).toBeUndefined();
    expect(consumerName('slo.aggregator', 2)).toBe('slo_aggregator_p2');
    expect(parseConsumerName('usage_p12')).toEqual({ processor: 'usage', partition: 12 });
  });

  it('spreads one tenant over every partition, stably per batch id', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(partitionOf('acme', `batch-${i}`, 8));
    expect(seen.size).toBe(8);
    expect(partitionOf('acme', 'batch-7', 8)).toBe(partitionOf('acme', 'batch-7', 8));
    expect(partitionOf('acme', 'x', 1)).toBe(0);
  });
});

describe('splitting batches into messages', () => {
  const data = Buffer.from(['{"a":1}', '{"b":22}', '{"c":333}', '{"d":4444}'].map((l) => `${l}\n`).join(''));

  it('keeps a batch that fits as one message', () => {
    expect(splitBatch(data, 4, 1_000)).toEqual([{ data, count: 4 }]);
  });

  it('cuts at event boundaries, each chunk within the limit, nothing lost', () => {
    const chunks = splitBatch(data, 4, 20);
    expect(chunks.map((c) => Buffer.from(c.data).toString())).toEqual(['{"a":1}\n{"b":22}\n', '{"c":333}\n', '{"d":4444}\n']);
    expect(chunks.map((c) => c.count)).toEqual([2, 1, 1]);
    expect(chunks.every((c) => c.data.byteLength <= 20)).toBe(true);
  });

  it('refuses an event larger than a message', () => {
    expect(() => splitBatch(data, 4, 5)).toThrow(/larger than the largest message/);
  });
});
