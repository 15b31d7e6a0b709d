/**
 * A model's Markdown as DOM nodes that are safe to insert: markdownToHtml first, then
 * DOMPurify. Browser only (DOMPurify needs a DOM); markdown.ts holds the part Node can test.
 */
import DOMPurify, { type Config } from 'dompurify';
import { markdownToHtml } from './markdown.ts';

// An instance of our own, so these hooks touch nothing else that uses DOMPurify.
const purifier = DOMPurify(window);

const SANITIZE: Config & { RETURN_DOM_FRAGMENT: true } = {
  USE_PROFILES: { html: true },
  // Nothing that runs, styles the page, embeds another document or asks for input.
  FORBID_TAGS: [
    'script', 'style', 'iframe', 'frame', 'object', 'embed', 'link', 'meta', 'base',
    'form', 'input', 'button', 'textarea', 'select', 'option', 'img', 'video', 'audio', 'source', 'picture',
  ],
  FORBID_ATTR: ['style', 'srcset', 'formaction', 'action'],
  // Links go to the web or to mail, nowhere else (no javascript:, data:, blob:).
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

// Event handlers are never allowed, whatever DOMPurify's defaults become.
purifier.addHook('uponSanitizeAttribute', (_node, data) => {
  if (data.attrName.toLowerCase().startsWith('on')) {
    data.keepAttr = false;
    data.forceKeepAttr = false;
  }
});

// A link opens in a new tab and tells the other site nothing about this one.
purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    if (node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    } else {
      node.removeAttribute('target');
    }
  }
});

/** `text` (Markdown from a model) as a fragment ready to insert. */
export function renderMarkdown(text: string): DocumentFragment {
  return purifier.sanitize(markdownToHtml(text), SANITIZE);
}
