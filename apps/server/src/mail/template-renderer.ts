/**
 * A small Mustache-like renderer for the mail templates in ./templates. What it understands:
 *
 *   {{name}} {{a.b}}        a value: HTML-escaped in HTML templates, as is in text ones;
 *                           a name the parameters lack is an error, not an empty string
 *   {{#name}}…{{/name}}     a list: once per item (the item's fields over the outer ones);
 *                           anything else: once if truthy
 *   {{^name}}…{{/name}}     once if falsy or an empty list
 *   {{! comment }}
 *
 * No raw (unescaped) output exists: a layout receives its body through renderInLayout(), the one
 * place where already-rendered text is inserted. So a user's value can never become markup.
 */

export type TemplateMode = 'html' | 'text';
export type TemplateParams = Record<string, unknown>;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; name: string }
  | { kind: 'section'; name: string; inverted: boolean; children: Node[] };

const TAG = /\{\{\s*([#^/!]?)\s*([^}]*?)\s*\}\}/g;
const NAME = /^(?:\.|[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)$/;

export class TemplateError extends Error {}

/** Parsed once (when the templates are loaded), rendered per message. */
export class CompiledTemplate {
  private readonly nodes: Node[];

  constructor(
    readonly name: string,
    source: string,
    private readonly mode: TemplateMode,
  ) {
    this.nodes = parse(name, source);
  }

  render(params: TemplateParams): string {
    return renderNodes(this.name, this.nodes, [params], this.mode);
  }
}

/** The layout's `{{body}}` takes the rendered body as it is; everything else is as render(). */
export function renderInLayout(
  layout: CompiledTemplate,
  body: string,
  params: TemplateParams,
): string {
  const marker = `\u0000body-${Math.random().toString(36).slice(2)}\u0000`;
  return layout.render({ ...params, body: marker }).replace(marker, () => body);
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function parse(template: string, source: string): Node[] {
  const root: Node[] = [];
  const stack: { name: string; children: Node[] }[] = [{ name: '', children: root }];
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const [whole, sigil, name] = match;
    const top = stack[stack.length - 1];
    if (match.index > last)
      top.children.push({ kind: 'text', text: source.slice(last, match.index) });
    last = match.index + whole.length;
    if (sigil === '!') continue;
    if (!NAME.test(name)) throw new TemplateError(`${template}: bad tag "${whole}"`);
    if (sigil === '#' || sigil === '^') {
      const section: Node = { kind: 'section', name, inverted: sigil === '^', children: [] };
      top.children.push(section);
      stack.push({ name, children: section.children });
    } else if (sigil === '/') {
      if (stack.length === 1 || top.name !== name)
        throw new TemplateError(`${template}: "${whole}" closes nothing open`);
      stack.pop();
    } else {
      top.children.push({ kind: 'value', name });
    }
  }
  if (stack.length > 1)
    throw new TemplateError(`${template}: section "${stack[stack.length - 1].name}" is not closed`);
  if (last < source.length) root.push({ kind: 'text', text: source.slice(last) });
  return root;
}

function lookup(template: string, name: string, contexts: unknown[]): unknown {
  if (name === '.') return contexts[contexts.length - 1];
  const [head, ...rest] = name.split('.');
  for (let index = contexts.length - 1; index >= 0; index--) {
    const context = contexts[index];
    if (context !== null && typeof context === 'object' && Object.hasOwn(context, head)) {
      let value: unknown = (context as Record<string, unknown>)[head];
      for (const part of rest) {
        value =
          value !== null && typeof value === 'object' && Object.hasOwn(value, part)
            ? (value as Record<string, unknown>)[part]
            : undefined;
      }
      return value;
    }
  }
  throw new TemplateError(`${template}: no value for "${name}"`);
}

function renderNodes(
  template: string,
  nodes: Node[],
  contexts: unknown[],
  mode: TemplateMode,
): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') {
      out += node.text;
    } else if (node.kind === 'value') {
      const value = lookup(template, node.name, contexts);
      if (value === undefined || (typeof value === 'object' && value !== null))
        throw new TemplateError(`${template}: "${node.name}" is not a printable value`);
      const text = value === null ? '' : String(value as string | number | boolean);
      out += mode === 'html' ? escapeHtml(text) : text;
    } else {
      const value = lookup(template, node.name, contexts);
      const items = Array.isArray(value) ? value : value ? [value] : [];
      if (node.inverted) {
        if (items.length === 0) out += renderNodes(template, node.children, contexts, mode);
      } else {
        for (const item of items)
          out += renderNodes(template, node.children, [...contexts, item], mode);
      }
    }
  }
  return out;
}
