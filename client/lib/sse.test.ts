import { describe, expect, it } from 'vitest';
import { createSseParser } from './sse.ts';

function parse(...chunks: string[]): string[] {
  const events: string[] = [];
  const parser = createSseParser((data) => events.push(data));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

describe('createSseParser', () => {
  it('reads one data line per event', () => {
    expect(parse('data: {"type":"delta","text":"Hi"}\n\ndata: {"type":"done"}\n\n')).toEqual([
      '{"type":"delta","text":"Hi"}',
      '{"type":"done"}',
    ]);
  });

  it('joins an event split across chunks, even inside a line ending', () => {
    expect(parse('da', 'ta: one\r', '\n\r\n', 'data:two\n', '\n')).toEqual(['one', 'two']);
  });

  it('joins several data lines with newlines', () => {
    expect(parse('data: a\ndata: b\n\n')).toEqual(['a\nb']);
  });

  it('skips comments and other fields', () => {
    expect(parse(': keep-alive\n\nevent: x\nid: 3\ndata: y\n\n')).toEqual(['y']);
  });

  it('drops an event the stream did not finish', () => {
    expect(parse('data: whole\n\ndata: half')).toEqual(['whole']);
  });
});
