import type { ChatMessage } from '../../shared/api.ts';
import type { Completion, CompletionRequest } from './completion.ts';

/**
 * The built-in offline demo provider, so a fresh install has something to talk to. It
 * streams a deterministic reply at a realistic pace and says plainly that it is a demo.
 */
export interface StreamOptions extends Pick<CompletionRequest, 'messages' | 'maxTokens' | 'signal' | 'onText'> {
  /** Delay between tokens; a real model streams at tens of tokens per second. */
  tokenDelayMs?: number;
}

export function demoReply(messages: ChatMessage[], modelName: string): string {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content.trim() ?? '';
  const words = last.split(/\s+/).filter(Boolean).length;
  return (
    `This is the ${modelName} demo model, built into Argus: it is not a real AI and runs offline. ` +
    `You wrote ${words} word${words === 1 ? '' : 's'}, starting with "${last.slice(0, 40)}". ` +
    'Connect a real model server (Ollama, vLLM, llama.cpp or any OpenAI-compatible API) to get real answers. ' +
    'Until then, this reply streams word by word so you can see how streaming, stopping and access control behave.'
  );
}

/** Waits ms, or less if the signal aborts; leaves no listener on the signal either way. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Hands over the reply a word at a time until done, the token budget runs out, or the signal aborts. */
export async function streamDemo(modelName: string, { messages, maxTokens, signal, onText, tokenDelayMs = 25 }: StreamOptions): Promise<Completion> {
  const tokens = demoReply(messages, modelName).match(/\S+\s*/g) ?? [];
  const done = (finishReason: Completion['finishReason']): Completion => ({ finishReason, usage: null });
  for (let i = 0; i < tokens.length; i += 1) {
    if (signal.aborted) return done('stop');
    if (i >= maxTokens) return done('length');
    await sleep(tokenDelayMs, signal);
    if (signal.aborted) return done('stop');
    onText(tokens[i]!);
  }
  return done('stop');
}
