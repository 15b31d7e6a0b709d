import type { Usage } from './completion.ts';

/**
 * What Argus reads from one chunk of an OpenAI-compatible stream (the JSON after `data:`):
 * `choices[0].delta.content`, `choices[0].finish_reason` and `usage`, and nothing else.
 */
export interface ChunkFields {
  /** choices[0].delta.content, if it is a string. */
  content: string | null;
  /** choices[0].finish_reason, if it is a string. */
  finishReason: string | null;
  /** usage, if it holds both token counts as numbers. */
  usage: Usage | null;
}

/** Longest SSE line taken from a model server: a chunk holds a few tokens, so 1 MiB is far above any real one, and memory stays bounded. */
const MAX_LINE_CHARS = 1024 * 1024;

/** What a read said: keep reading, the answer is complete (`[DONE]`), or the stream cannot be read. */
export type ReadOutcome = 'reading' | 'done' | 'unreadable' | 'line_too_long';

/**
 * Reads an OpenAI-compatible Server-Sent Event stream read by read (already decoded from
 * UTF-8), handing each read's text to `onText` as one piece: the text of every chunk that
 * arrived whole in it. Lines may be split anywhere between reads; LF and CRLF both end a line.
 * Each line's data is sliced out where it lies; the rest of the read is not cut again after every line.
 */
export class OpenAIStreamReader {
  /** How the answer ended, from the last choice's finish_reason that said so. */
  finishReason: 'stop' | 'length' | null = null;
  usage: Usage | null = null;
  /** The start of a line whose end has not arrived yet. */
  private pending = '';

  constructor(private readonly onText: (text: string) => void) {}

  take(read: string): ReadOutcome {
    const text = this.pending ? this.pending + read : read;
    let arrived = '';
    let lineStart = 0;
    // pending holds no line end: the search starts where the new text does.
    for (let newline = text.indexOf('\n', this.pending.length); newline >= 0; lineStart = newline + 1, newline = text.indexOf('\n', lineStart)) {
      if (!text.startsWith('data:', lineStart)) continue; // comments, event names, blank separators
      // The field's value: after 'data:' and its optional space, before a CR that ends the line with the LF.
      const from = text.charCodeAt(lineStart + 5) === 0x20 ? lineStart + 6 : lineStart + 5;
      const to = text.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
      const data = text.slice(from, Math.max(from, to)).trim();
      if (data === '[DONE]') {
        if (arrived) this.onText(arrived);
        return 'done';
      }
      const chunk = readChunk(data);
      if (!chunk) {
        if (arrived) this.onText(arrived); // what came before the bad chunk is kept
        return 'unreadable';
      }
      if (chunk.content !== null) arrived += chunk.content;
      if (chunk.finishReason === 'length') this.finishReason = 'length';
      else if (chunk.finishReason !== null) this.finishReason = 'stop';
      if (chunk.usage) this.usage = chunk.usage;
    }
    this.pending = lineStart === 0 ? text : text.slice(lineStart);
    if (arrived) this.onText(arrived);
    return this.pending.length > MAX_LINE_CHARS ? 'line_too_long' : 'reading';
  }
}

/**
 * Reads one chunk (the JSON after `data:`), or returns null if it is not a JSON object (or
 * array, which reads as a chunk with none of the fields): the caller reports that as a
 * response it cannot read. V8's JSON.parse is as fast as a hand-written scanner that builds
 * nothing but these fields (about 1 µs for a usual chunk, measured): so it is JSON.parse.
 */
export function readChunk(data: string): ChunkFields | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const chunk = parsed as { choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null };
  const choice = chunk.choices?.[0];
  const content = choice?.delta?.content;
  const finishReason = choice?.finish_reason;
  const usage = chunk.usage;
  return {
    content: typeof content === 'string' ? content : null,
    finishReason: typeof finishReason === 'string' ? finishReason : null,
    usage: usage && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number' ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } : null,
  };
}
