import { describe, expect, it } from 'vitest';
import { ThreadedParser } from '../../src/ingest/batch-parser.js';
import { DEFAULT_LIMITS } from '../../src/ingest/limits.js';

describe('ThreadedParser', () => {
  it('parses on threads, and replaces a thread that dies', async () => {
    const parser = new ThreadedParser(1, DEFAULT_LIMITS);
    try {
      const first = await parser.parse('ndjson', Buffer.from('{"a":1}\nnope\n'), Date.now());
      expect(first.accepted).toBe(1);
      expect(first.errors[0]?.code).toBe('invalid_json');
      await parser.threadOf(0)!.terminate();
      await new Promise((r) => setTimeout(r, 50));
      const after = await parser.parse('ndjson', Buffer.from('{"b":2}\n'), Date.now());
      expect(after.accepted).toBe(1);
      expect(after.data.toString()).toBe('{"b":2}\n');
      await expect(parser.parse('json', Buffer.from('[1,'), Date.now())).rejects.toMatchObject({ code: 'malformed_body', status: 400 });
    } finally {
      await parser.close();
    }
  });
});
