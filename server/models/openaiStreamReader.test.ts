import { StringDecoder } from 'node:string_decoder';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenAIStreamReader, readChunk, type ReadOutcome } from './openaiStreamReader.ts';

describe('reading one chunk', () => {
  it('reads the content, finish reason and usage, whatever the order of keys (OpenAI, vLLM, llama.cpp)', () => {
    const usual = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733500000,"model":"llama3.2","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}';
    expect(readChunk(usual)).toEqual({ content: 'Hello', finishReason: null, usage: null });
    const llamaCpp = '{"choices":[{"finish_reason":"length","index":0,"delta":{}}],"created":1,"id":"x","model":"m","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":7,"total_tokens":19}}';
    expect(readChunk(llamaCpp)).toEqual({ content: null, finishReason: 'length', usage: { promptTokens: 7, completionTokens: 12 } });
    expect(readChunk('{"choices":[{"delta":{"content":"caf\\u00e9 \\"quoted\\"\\n\\ud83d\\ude00"}}]}')).toEqual({ content: 'café "quoted"\n😀', finishReason: null, usage: null });
  });

  it('takes only fields of the right type', () => {
    expect(readChunk('{"choices":[{"delta":{"content":5},"finish_reason":7}],"usage":{"prompt_tokens":"3","completion_tokens":4}}')).toEqual({ content: null, finishReason: null, usage: null });
    expect(readChunk('{"choices":"abc","usage":null}')).toEqual({ content: null, finishReason: null, usage: null });
  });

  it('refuses what is not JSON, or not an object or array', () => {
    for (const bad of ['{"choices": [ this is not json', '', 'null', '42', '"text"', 'true', '{"a":1}x', "{'a':1}"]) expect(readChunk(bad), bad).toBeNull();
    expect(readChunk('[]')).toEqual({ content: null, finishReason: null, usage: null });
  });
});

/** An answer as a model server streams it: comments, CRLF and LF line ends, escapes, characters of 2 and 4 UTF-8 bytes, a data field with no space. */
const STREAM = [
  ': keep-alive comment\n\n',
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}\n\n',
  'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"café "},"finish_reason":null}]}\r\n\r\n',
  'event: ignored\n',
  'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"😀 \\"quoted\\"\\n\\u00e9 "}}]}\n\n',
  'data:{"choices":[{"index":0,"delta":{"content":"last"},"finish_reason":"length"}]}\n\n',
  'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\n',
  'data: [DONE]\n\n',
  'data: {"choices":[{"delta":{"content":"after the end"}}]}\n\n',
].join('');
const STREAM_TEXT = 'café 😀 "quoted"\né last';

/** Feeds `reads` to a reader until it stops reading; its pieces of text and how it ended. */
function readAll(reads: string[]) {
  const pieces: string[] = [];
  const reader = new OpenAIStreamReader((piece) => pieces.push(piece));
  let outcome: ReadOutcome = 'reading';
  for (const read of reads) {
    outcome = reader.take(read);
    if (outcome !== 'reading') break;
  }
  return { pieces, outcome, finishReason: reader.finishReason, usage: reader.usage };
}

/** The reads a socket might deliver when `bytes` is cut at `cuts`, decoded as the provider's setEncoding('utf8') does. */
function readsOf(bytes: Buffer, cuts: number[]): string[] {
  const decoder = new StringDecoder('utf8');
  const bounds = [0, ...cuts, bytes.length];
  return bounds.slice(1).map((end, i) => decoder.write(bytes.subarray(bounds[i], end)));
}

describe('reading an OpenAI-compatible stream read by read', () => {
  const bytes = Buffer.from(STREAM);

  it('reads every chunk in one read as one piece, and stops at [DONE]', () => {
    expect(readAll([STREAM])).toEqual({ pieces: [STREAM_TEXT], outcome: 'done', finishReason: 'length', usage: { promptTokens: 3, completionTokens: 4 } });
  });

  it('reads the same text, however the reads are cut: mid-line, mid-"data:", between CR and LF, inside a UTF-8 character', () => {
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const read = readAll(readsOf(bytes, [cut]));
      expect(read.pieces.join(''), `cut at byte ${cut}`).toBe(STREAM_TEXT);
      expect(read.outcome).toBe('done');
      expect(read.finishReason).toBe('length');
      expect(read.usage).toEqual({ promptTokens: 3, completionTokens: 4 });
    }
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
        expect(readAll(readsOf(bytes, cuts.sort((a, b) => a - b))).pieces.join('')).toBe(STREAM_TEXT);
      }),
      { numRuns: 500 },
    );
    // A byte at a time: every character arrives whole, once.
    expect(readAll(readsOf(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).pieces.join('')).toBe(STREAM_TEXT);
  });

  it('hands over the text before an unreadable chunk, then says the stream cannot be read', () => {
    const broken = 'data: {"choices":[{"delta":{"content":"kept "}}]}\n\ndata: {"choices":[{"delta":{"content":"also kept"}}]}\n\ndata: {"choices": [ this is not json\n\ndata: {"choices":[{"delta":{"content":"never"}}]}\n\n';
    expect(readAll([broken])).toMatchObject({ pieces: ['kept also kept'], outcome: 'unreadable' });
    const cut = broken.indexOf('this');
    expect(readAll([broken.slice(0, cut), broken.slice(cut)])).toMatchObject({ pieces: ['kept also kept'], outcome: 'unreadable' });
    for (const line of ['data: null', 'data: 5', 'data:', 'data: {"a":1} trailing']) expect(readAll([`${line}\n`]).outcome, line).toBe('unreadable');
  });

  it('refuses a line longer than 1 MiB instead of holding it all', () => {
    const piece = 'a'.repeat(65_536);
    const reads = ['data: {"choices":[{"delta":{"content":"', ...Array.from({ length: 17 }, () => piece)];
    expect(readAll(reads)).toMatchObject({ pieces: [], outcome: 'line_too_long' });
  });

  it('reads a stream that ends without [DONE] up to its last line (the provider decides what that means)', () => {
    expect(readAll([STREAM.slice(0, STREAM.indexOf('data: {"choices":[],'))])).toMatchObject({ pieces: [STREAM_TEXT], outcome: 'reading', finishReason: 'length', usage: null });
  });
});
