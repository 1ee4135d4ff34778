import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Injectable } from '@nestjs/common';
import {
  CompiledTemplate,
  renderInLayout,
  type TemplateMode,
  type TemplateParams,
} from './template-renderer.js';

/** Every message the app sends: `<name>.subject.txt`, `<name>.txt` and `<name>.html` each. */
export const MAIL_TEMPLATES = [
  'password-reset',
  'post-failed',
  'account-reconnect-required',
  'schedule-run-skipped',
  'webhook-disabled',
  'weekly-digest',
  'export-ready',
] as const;
export type MailTemplateName = (typeof MAIL_TEMPLATES)[number];

/** Pages of the unsubscribe endpoint (HTML only). */
export const PAGE_TEMPLATES = ['unsubscribe-confirm', 'unsubscribed'] as const;
export type PageTemplateName = (typeof PAGE_TEMPLATES)[number];

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Beside the compiled code: nest-cli.json copies the folder into dist, and the tests read the
 * sources' own. Loaded and parsed once at boot, so a broken template stops the boot, not a send.
 */
const TEMPLATE_DIR = fileURLToPath(new URL('./templates/', import.meta.url));

@Injectable()
export class MailTemplates {
  private readonly templates = new Map<string, CompiledTemplate>();

  constructor() {
    const load = (file: string, mode: TemplateMode) =>
      this.templates.set(
        file,
        new CompiledTemplate(file, readFileSync(`${TEMPLATE_DIR}${file}`, 'utf8'), mode),
      );
    load('layout.txt', 'text');
    load('layout.html', 'html');
    for (const name of MAIL_TEMPLATES) {
      load(`${name}.subject.txt`, 'text');
      load(`${name}.txt`, 'text');
      load(`${name}.html`, 'html');
    }
    for (const name of PAGE_TEMPLATES) load(`${name}.html`, 'html');
  }

  /** One line, whatever the values held: a subject is a header. */
  subject(name: MailTemplateName, params: TemplateParams): string {
    return this.get(`${name}.subject.txt`).render(params).replace(/\s+/g, ' ').trim().slice(0, 255);
  }

  /** `params` must hold `name` (the greeting) and, for notifications, the unsubscribe fields. */
  render(name: MailTemplateName, params: TemplateParams): RenderedMail {
    const subject = this.subject(name, params);
    const withSubject = { unsubscribe_url: null, unsubscribe_reason: null, ...params, subject };
    return {
      subject,
      text: renderInLayout(
        this.get('layout.txt'),
        this.get(`${name}.txt`).render(withSubject).trim(),
        withSubject,
      )
        .replace(/\n{3,}/g, '\n\n')
        .trim()
        .concat('\n'),
      html: renderInLayout(
        this.get('layout.html'),
        this.get(`${name}.html`).render(withSubject),
        withSubject,
      ),
    };
  }

  page(name: PageTemplateName, params: TemplateParams): string {
    return this.get(`${name}.html`).render(params);
  }

  private get(file: string): CompiledTemplate {
    const template = this.templates.get(file);
    if (!template) throw new Error(`No mail template ${file}`);
    return template;
  }
}
