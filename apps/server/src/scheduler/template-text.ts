import { DateTime, IANAZone } from 'luxon';
import type { SocialPlatform, TemplateVariant, TemplateVariants } from '@app/database';
import {
  checkText,
  composeText,
  hashtagText,
  PLATFORM_LIMITS,
  textLength,
} from './platforms/platform.registry.js';

/**
 * Post templates' text: `{variable}` placeholders, `{{` and `}}` for literal braces (as in
 * Python's str.format). Checked when a template is saved (`templateTextProblem()`), rendered
 * when a post is scheduled or a recurring schedule runs (`renderTemplate()`).
 */
export const TEMPLATE_VARIABLES = [
  'prompt',
  'style',
  'tags',
  'date',
  'weekday',
  'time',
  'platform',
  'account',
] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

type Segment = { text: string } | { variable: TemplateVariable };

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);
const VARIABLE_LIST = TEMPLATE_VARIABLES.map((name) => `{${name}}`).join(', ');

/** How the platforms are named in rendered text (`{platform}`). */
export const PLATFORM_DISPLAY_NAMES: Record<SocialPlatform, string> = {
  instagram: 'Instagram',
  facebook: 'Facebook',
  twitter: 'X',
  linkedin: 'LinkedIn',
  tiktok: 'TikTok',
};

class TemplateSyntaxError extends Error {}

/** The text cut into literal runs and variables; throws TemplateSyntaxError with a user's message. */
function parse(text: string): Segment[] {
  const segments: Segment[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char === '{') {
      if (text[i + 1] === '{') {
        literal += '{';
        i += 2;
        continue;
      }
      const end = text.indexOf('}', i + 1);
      const inner = end === -1 ? null : text.slice(i + 1, end);
      if (inner === null || inner.includes('{'))
        throw new TemplateSyntaxError(
          `Unclosed "{" at character ${i + 1}: close the variable with "}", or write "{{" for a literal "{".`,
        );
      const name = inner.trim();
      if (!KNOWN.has(name))
        throw new TemplateSyntaxError(
          `Unknown variable "{${inner}}": the variables are ${VARIABLE_LIST}; write "{{" and "}}" for literal braces.`,
        );
      if (literal) segments.push({ text: literal });
      literal = '';
      segments.push({ variable: name as TemplateVariable });
      i = end + 1;
      continue;
    }
    if (char === '}') {
      if (text[i + 1] === '}') {
        literal += '}';
        i += 2;
        continue;
      }
      throw new TemplateSyntaxError(
        `Unmatched "}" at character ${i + 1}: write "}}" for a literal "}".`,
      );
    }
    literal += char;
    i++;
  }
  if (literal) segments.push({ text: literal });
  return segments;
}

/** Why `text` is not a valid template text (unknown variable, unclosed or lone brace); null when it is. */
export function templateTextProblem(text: string): string | null {
  try {
    parse(text);
    return null;
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return error.message;
    throw error;
  }
}

/**
 * `text` with its variables replaced by `values`. A variable without a value stays as written
 * (`{account}`), which is what a preview shows when it has nothing to put there. Throws on a
 * text that `templateTextProblem()` refuses (a saved template never is one).
 */
export function renderText(text: string, values: TemplateValues): string {
  return parse(text)
    .map((segment) =>
      'text' in segment ? segment.text : (values[segment.variable] ?? `{${segment.variable}}`),
    )
    .join('');
}

/** The template text a platform uses: its variant's caption and hashtags where it has them. */
export interface TemplateSource {
  caption: string;
  hashtags: string;
  variants: TemplateVariants;
}

export function sourceFor(
  template: TemplateSource,
  platform: SocialPlatform | null,
): Required<TemplateVariant> {
  const variant = platform ? template.variants[platform] : undefined;
  return {
    caption: variant?.caption ?? template.caption,
    hashtags: variant?.hashtags ?? template.hashtags,
  };
}

/** A post's caption and hashtags rendered from the template for `platform` (null: no variant). */
export function renderTemplate(
  template: TemplateSource,
  platform: SocialPlatform | null,
  values: TemplateValues,
): { caption: string; hashtags: string } {
  const source = sourceFor(template, platform);
  const withPlatform = platform
    ? { ...values, platform: PLATFORM_DISPLAY_NAMES[platform] }
    : values;
  return {
    caption: renderText(source.caption, withPlatform),
    // Hashtags as every post keeps them: single spaces, no blank ends.
    hashtags: hashtagText(renderText(source.hashtags, withPlatform).split(/\s+/)),
  };
}

/** What the image gives a template. */
export interface ImageValues {
  prompt: string;
  style: string | null;
  tags: string[];
}

/**
 * The values of the variables: `date` (YYYY-MM-DD), `weekday` (English name) and `time` (HH:MM,
 * 24-hour) are `at` in `timezone` (UTC when the name is unknown); `prompt`, `style` (`digital
 * art`, spaces for underscores) and `tags` (`#name` each, letters, digits and `_` only, space-
 * separated) from the image when there is one; `account` when given.
 */
export function templateValues(options: {
  at: Date;
  timezone: string;
  image?: ImageValues | null;
  account?: string | null;
}): TemplateValues {
  const zone = IANAZone.isValidZone(options.timezone) ? options.timezone : 'UTC';
  const local = DateTime.fromJSDate(options.at, { zone }).setLocale('en');
  const values: TemplateValues = {
    date: local.toFormat('yyyy-MM-dd'),
    weekday: local.toFormat('cccc'),
    time: local.toFormat('HH:mm'),
  };
  if (options.image) {
    values.prompt = options.image.prompt;
    values.style = (options.image.style ?? '').replaceAll('_', ' ');
    values.tags = options.image.tags
      .map((tag) => tag.replace(/[^\p{L}\p{N}_]/gu, ''))
      .filter(Boolean)
      .map((tag) => `#${tag}`)
      .join(' ');
  }
  if (options.account) values.account = options.account;
  return values;
}

/** One platform's rendering as a preview shows it. */
export interface PlatformPreview {
  text: string;
  length: number;
  limit: number;
  fits: boolean;
}

/**
 * The whole published text (the publisher's own `composeText()`), its length as the platform
 * counts it, the platform's limit, and whether it can be published (length and, on Instagram,
 * the number of hashtags).
 */
export function previewFor(
  platform: SocialPlatform,
  rendered: { caption: string; hashtags: string },
): PlatformPreview {
  const text = composeText(rendered.caption, rendered.hashtags);
  return {
    text,
    length: textLength(platform, text),
    limit: PLATFORM_LIMITS[platform].maxLength,
    fits: checkText(platform, rendered.caption, rendered.hashtags).length === 0,
  };
}

/** The longest caption or hashtags a post stores (api.md: caption ≤ 2200 before platform limits). */
export const MAX_STORED_TEXT = 2200;

/**
 * Why a rendered text cannot be a post on `platform` (the platform's limits, or a caption or
 * hashtags longer than a post keeps); empty when it can.
 */
export function renderedTextProblems(
  platform: SocialPlatform,
  rendered: { caption: string; hashtags: string },
): string[] {
  const problems = checkText(platform, rendered.caption, rendered.hashtags);
  if (Array.from(rendered.caption).length > MAX_STORED_TEXT)
    problems.push(`the rendered caption is longer than ${MAX_STORED_TEXT} characters`);
  if (Array.from(rendered.hashtags).length > MAX_STORED_TEXT)
    problems.push(`the rendered hashtags are longer than ${MAX_STORED_TEXT} characters`);
  return problems;
}
