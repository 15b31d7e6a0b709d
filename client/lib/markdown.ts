/**
 * A model's answer as HTML, from Markdown. This is the first of two locks: raw HTML in the
 * Markdown comes out as text, and images come out as links (an image loads by itself, so a
 * prompt-injected one could carry the conversation off in its URL). The second lock is
 * DOMPurify (lib/sanitize.ts), which every result passes before it reaches the DOM.
 * No DOM here, so this part runs (and is tested) in Node.
 */
import { Marked, type Tokens } from 'marked';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

const markdown = new Marked({
  async: false,
  gfm: true,
  // Models write single line breaks meaning them.
  breaks: true,
  renderer: {
    html: (token: Tokens.HTML | Tokens.Tag) => escapeHtml(token.text),
    image: (token: Tokens.Image) => {
      const label = token.text || token.href;
      return `<a href="${escapeHtml(token.href)}">${escapeHtml(label)}</a>`;
    },
  },
});

/** Markdown to HTML with raw HTML escaped and images as links; not yet safe for the DOM on its own. */
export function markdownToHtml(text: string): string {
  return markdown.parse(text, { async: false });
}
