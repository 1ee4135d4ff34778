import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ConflictError, type FieldErrors, FieldValidationError, NotFoundError } from '@app/common';
import {
  type PostTemplate,
  PostTemplateQueries,
  SOCIAL_PLATFORMS,
  SocialAccountQueries,
  type SocialPlatform,
  type TemplateFields,
  type TemplateVariant,
  type TemplateVariants,
  UserQueries,
} from '@app/database';
import type { PageWindow } from '../http/pagination.js';
import type { PatchTemplateDto, PreviewTemplateDto } from './dto/template.dto.js';
import { composeText, hashtagText } from './platforms/platform.registry.js';
import {
  type PlatformPreview,
  previewFor,
  renderedTextProblems,
  renderTemplate,
  templateTextProblem,
  templateValues,
} from './template-text.js';

const MAX_TEXT = 2200;
const VARIANT_KEYS = new Set(['caption', 'hashtags']);

type Owner = { id: number; profile: { timezone: string } };

/** What a post gets from a template: its text for one platform, or why it cannot be published. */
export interface RenderedPost {
  caption: string;
  hashtags: string;
  /** Empty when the text can be a post on the platform. */
  problems: string[];
}

/** One user's post templates: their CRUD, previews, and the rendering posts and schedules use. */
@Injectable()
export class TemplatesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly templates: PostTemplateQueries,
    private readonly accounts: SocialAccountQueries,
    private readonly users: UserQueries,
  ) {}

  async list(userId: number, window: PageWindow): Promise<{ count: number; rows: PostTemplate[] }> {
    const [rows, count] = await this.templates.pageOfUser(userId, window);
    return { count, rows };
  }

  async get(userId: number, templateId: number): Promise<PostTemplate> {
    const template = await this.templates.findOwned(userId, templateId);
    if (!template) throw new NotFoundError('template');
    return template;
  }

  async create(userId: number, dto: PatchTemplateDto): Promise<PostTemplate> {
    const fields = resolve(dto, null);
    return this.dataSource.transaction((manager) => this.templates.insert(userId, fields, manager));
  }

  /** PUT (`replace`: the create rules) or PATCH; the variables are checked again as a whole. */
  async update(
    userId: number,
    templateId: number,
    dto: PatchTemplateDto,
    replace: boolean,
  ): Promise<PostTemplate> {
    return this.dataSource.transaction(async (manager) => {
      const current = await this.templates.lockOwned(userId, templateId, 'update', manager);
      if (!current) throw new NotFoundError('template');
      await this.templates.update(current.id, resolve(dto, replace ? null : current), manager);
      return (await this.templates.findOwned(userId, current.id, manager))!;
    });
  }

  /** 409 naming the recurring schedules that render it: they would have no text left. */
  async delete(userId: number, templateId: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const current = await this.templates.lockOwned(userId, templateId, 'update', manager);
      if (!current) throw new NotFoundError('template');
      const schedules = await this.templates.schedulesUsing(current.id, manager);
      if (schedules.length > 0)
        throw new ConflictError(
          'template_in_use',
          `The recurring schedules ${schedules
            .map((schedule) => `${schedule.id} ("${schedule.name}")`)
            .join(', ')} render this template: give them another template or a caption first.`,
        );
      await this.templates.delete(current.id, manager);
    });
  }

  /**
   * The template rendered as it would be published: for `dto.platform` or every platform, at
   * `dto.at` (default now) in the owner's time zone, with the image's prompt, style and tags when
   * one is named, and the owner's account there when they have exactly one usable (else
   * `{account}` stays as written, as does any variable the preview has no value for).
   */
  async preview(
    owner: Owner,
    templateId: number,
    dto: PreviewTemplateDto,
    now = new Date(),
  ): Promise<{ text: string; platforms: Partial<Record<SocialPlatform, PlatformPreview>> }> {
    const template = await this.get(owner.id, templateId);
    let image = null;
    if (dto.image !== undefined) {
      image = await this.templates.imageFields(owner.id, dto.image);
      if (!image)
        throw FieldValidationError.of(
          'image',
          `Invalid pk "${dto.image}" - object does not exist.`,
        );
    }
    const values = templateValues({
      at: dto.at !== undefined ? new Date(dto.at) : now,
      timezone: owner.profile.timezone,
      image,
    });
    const platforms = dto.platform ? [dto.platform] : [...SOCIAL_PLATFORMS];
    const previews: Partial<Record<SocialPlatform, PlatformPreview>> = {};
    for (const platform of platforms) {
      const account = await this.onlyAccountName(owner.id, platform);
      previews[platform] = previewFor(
        platform,
        renderTemplate(template, platform, account ? { ...values, account } : values),
      );
    }
    const base = renderTemplate(template, null, values);
    const text = dto.platform
      ? previews[dto.platform]!.text
      : composeText(base.caption, base.hashtags);
    return { text, platforms: previews };
  }

  /**
   * The user's template, share-locked until the caller's transaction ends (so that it cannot be
   * deleted under a schedule being saved with it); a 400 naming `template` when it is not theirs.
   */
  async useOwned(
    manager: EntityManager,
    userId: number,
    templateId: number,
  ): Promise<PostTemplate> {
    const template = await this.templates.lockOwned(userId, templateId, 'share', manager);
    if (!template)
      throw FieldValidationError.of(
        'template',
        `Invalid pk "${templateId}" - object does not exist.`,
      );
    return template;
  }

  /**
   * A post's text from `template`: on `platform`, at `at` in the owner's profile time zone, with
   * the post's image and account. Both one-off posts (when scheduled) and recurring schedules (at
   * each run) come through here.
   */
  async renderForPost(
    manager: EntityManager,
    template: PostTemplate,
    post: {
      userId: number;
      platform: SocialPlatform;
      imageId: number;
      accountId: number;
      at: Date;
    },
  ): Promise<RenderedPost> {
    // One after the other: a transaction's connection runs one statement at a time.
    const profile = await this.users.profileOf(post.userId, manager);
    const image = await this.templates.imageFields(post.userId, post.imageId, manager);
    const account = await this.accounts.findOwned(post.userId, post.accountId, manager);
    const values = templateValues({
      at: post.at,
      timezone: profile.timezone || 'UTC',
      image,
      account: account ? accountName(account) : null,
    });
    const rendered = renderTemplate(template, post.platform, values);
    return { ...rendered, problems: renderedTextProblems(post.platform, rendered) };
  }

  /** The name of the user's only usable account on the platform (as scheduling would pick it). */
  private async onlyAccountName(userId: number, platform: SocialPlatform): Promise<string | null> {
    const candidates = (await this.accounts.onPlatform(userId, platform)).filter(
      (account) => account.status === 'active',
    );
    if (candidates.length !== 1) return null;
    const account = await this.accounts.findOwned(userId, candidates[0].id);
    return account ? accountName(account) : null;
  }
}

/** `{account}`: the account's display name, or its platform id when it has none. */
function accountName(account: { displayName: string; accountId: string }): string {
  return account.displayName.trim() || account.accountId;
}

/** The stored fields from a request, checked as a whole; 400 naming each field at fault. */
function resolve(dto: PatchTemplateDto, current: PostTemplate | null): TemplateFields {
  const errors: FieldErrors = {};
  const fail = (field: string, message: string) => (errors[field] ??= []).push(message);
  const variants =
    dto.variants !== undefined ? parseVariants(dto.variants, fail) : (current?.variants ?? {});
  const fields: TemplateFields = {
    name: dto.name ?? current?.name ?? '',
    caption: dto.caption ?? current?.caption ?? '',
    hashtags: dto.hashtags ?? current?.hashtags ?? '',
    variants,
  };
  const check = (field: string, text: string | undefined) => {
    if (text === undefined || errors[field]) return;
    const problem = templateTextProblem(text);
    if (problem) fail(field, problem);
  };
  check('caption', fields.caption);
  check('hashtags', fields.hashtags);
  for (const [platform, variant] of Object.entries(fields.variants) as [
    SocialPlatform,
    TemplateVariant,
  ][]) {
    check(`variants.${platform}.caption`, variant.caption);
    check(`variants.${platform}.hashtags`, variant.hashtags);
  }
  if (Object.keys(errors).length > 0) throw new FieldValidationError(errors);
  return fields;
}

/**
 * `variants` as given: keys are platforms, values `{caption?, hashtags?}` objects, captions
 * strings ≤ 2200, hashtags as posts take them (a space-separated string or a list of strings).
 */
function parseVariants(
  value: Record<string, unknown>,
  fail: (field: string, message: string) => void,
): TemplateVariants {
  const variants: TemplateVariants = {};
  for (const [platform, given] of Object.entries(value)) {
    const field = `variants.${platform}`;
    if (!(SOCIAL_PLATFORMS as readonly string[]).includes(platform)) {
      fail(field, `Unknown platform "${platform}": use ${SOCIAL_PLATFORMS.join(', ')}.`);
      continue;
    }
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      fail(field, `${field} must be an object with caption and/or hashtags`);
      continue;
    }
    const variant: TemplateVariant = {};
    for (const [key, item] of Object.entries(given)) {
      const keyField = `${field}.${key}`;
      if (!VARIANT_KEYS.has(key)) {
        fail(keyField, `property ${key} should not exist`);
        continue;
      }
      const text =
        key === 'hashtags' &&
        Array.isArray(item) &&
        item.every((tag): tag is string => typeof tag === 'string')
          ? hashtagText(item)
          : typeof item === 'string'
            ? key === 'hashtags'
              ? hashtagText(item.trim().split(/\s+/))
              : item
            : null;
      if (text === null) fail(keyField, `${keyField} must be a string`);
      else if (Array.from(text).length > MAX_TEXT)
        fail(keyField, `${keyField} must be shorter than or equal to ${MAX_TEXT} characters`);
      else variant[key as keyof TemplateVariant] = text;
    }
    variants[platform as SocialPlatform] = variant;
  }
  return variants;
}
