import { describe, expect, it } from '@jest/globals';
import { CompiledTemplate, renderInLayout, TemplateError } from './template-renderer.js';

const html = (source: string) => new CompiledTemplate('t.html', source, 'html');
const text = (source: string) => new CompiledTemplate('t.txt', source, 'text');

describe('mail template renderer', () => {
  it('escapes values in HTML, and only there', () => {
    const value = `<script>alert("x")</script> & 'q'`;
    expect(html('<p>{{v}}</p>').render({ v: value })).toBe(
      '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</p>',
    );
    expect(text('{{v}}').render({ v: value })).toBe(value);
    // Even in an attribute: a quote cannot end it.
    expect(html('<a href="{{u}}">').render({ u: 'x" onclick="y' })).toBe(
      '<a href="x&quot; onclick=&quot;y">',
    );
  });

  it('repeats a section per item, shows one for a truthy value, inverts on empty', () => {
    const template = text(
      '{{#items}}[{{name}}:{{n}}]{{/items}}{{^items}}none{{/items}}{{#flag}}!{{/flag}}',
    );
    expect(template.render({ items: [{ name: 'a' }, { name: 'b' }], n: 1, flag: true })).toBe(
      '[a:1][b:1]!',
    );
    expect(template.render({ items: [], n: 1, flag: false })).toBe('none');
    expect(
      text('{{a.b.c}} {{#list}}{{.}},{{/list}}').render({ a: { b: { c: 3 } }, list: [1, 2] }),
    ).toBe('3 1,2,');
  });

  it('refuses a name the parameters lack, and templates that do not parse', () => {
    expect(() => text('{{missing}}').render({})).toThrow(TemplateError);
    expect(() => text('{{obj}}').render({ obj: { a: 1 } })).toThrow(TemplateError);
    expect(() => text('{{#a}}x')).toThrow(/not closed/);
    expect(() => text('{{/a}}')).toThrow(/closes nothing/);
    expect(() => text('{{#a}}{{/b}}')).toThrow(/closes nothing/);
    expect(() => text('{{a b}}')).toThrow(/bad tag/);
    expect(() => text('{{__proto__.x}}').render({})).toThrow(TemplateError);
  });

  it('puts a rendered body into its layout as it is, and nothing else unescaped', () => {
    const layout = html('<div>{{title}}</div>{{body}}');
    expect(renderInLayout(layout, '<p>already &amp; escaped</p>', { title: '<b>' })).toBe(
      '<div>&lt;b&gt;</div><p>already &amp; escaped</p>',
    );
    // A value that looks like the body marker stays a value.
    expect(renderInLayout(html('{{t}}|{{body}}'), 'B', { t: '$&' })).toBe('$&amp;|B');
  });
});
