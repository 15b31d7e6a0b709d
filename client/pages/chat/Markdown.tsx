import { createEffect, onCleanup, type Component } from 'solid-js';
import { renderMarkdown } from '../../lib/sanitize.ts';

/** How long "Copied" stays beside a Copy button. */
const COPIED_MS = 2_000;

/**
 * Heading levels an answer's own headings move down by: the answer sits under the page's h1
 * and the conversation's h2, so its "# Title" becomes an h3 and the page outline stays whole.
 */
const HEADING_SHIFT = 2;

/** Moves the answer's headings below the conversation's own (h1 → h3, … never past h6). */
function demoteHeadings(container: HTMLElement) {
  for (const heading of container.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Math.min(6, Number(heading.tagName[1]) + HEADING_SHIFT);
    const demoted = document.createElement(`h${level}`);
    demoted.append(...heading.childNodes);
    heading.replaceWith(demoted);
  }
}

/** Puts a "Copy" button (and a status line saying it worked) above every code block. */
function addCopyButtons(container: HTMLElement) {
  for (const pre of container.querySelectorAll('pre')) {
    const block = document.createElement('div');
    block.className = 'code-block';
    const bar = document.createElement('div');
    bar.className = 'code-bar';
    const language = pre.querySelector('code')?.className.match(/language-([\w+#-]+)/)?.[1];
    if (language) {
      const label = document.createElement('span');
      label.className = 'code-language';
      label.textContent = language;
      bar.append(label);
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code';
    button.textContent = 'Copy';
    const status = document.createElement('span');
    status.className = 'copy-status';
    status.setAttribute('role', 'status');
    bar.append(button, status);
    pre.replaceWith(block);
    block.append(bar, pre);
  }
}

/**
 * A model's answer, Markdown made safe (lib/sanitize.ts) and inserted as nodes; rendered
 * again as each piece streams in.
 */
export const Markdown: Component<{ text: string }> = (props) => {
  let container!: HTMLDivElement;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  onCleanup(() => timers.forEach(clearTimeout));

  createEffect(() => {
    container.replaceChildren(renderMarkdown(props.text));
    demoteHeadings(container);
    addCopyButtons(container);
  });

  async function copy(event: MouseEvent) {
    const button = (event.target as Element | null)?.closest('button.copy-code');
    if (!button || !container.contains(button)) return;
    const block = button.closest('.code-block');
    const status = block?.querySelector('.copy-status');
    const code = block?.querySelector('pre')?.textContent ?? '';
    let said: string;
    try {
      await navigator.clipboard.writeText(code);
      said = 'Copied';
    } catch {
      said = 'Could not copy: select the code and copy it yourself.';
    }
    if (!status) return;
    status.textContent = said;
    const timer = setTimeout(() => {
      status.textContent = '';
      timers.delete(timer);
    }, COPIED_MS);
    timers.add(timer);
  }

  return <div ref={container} class="markdown" onClick={(event) => void copy(event)} />;
};
