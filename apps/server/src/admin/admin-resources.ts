import type {
  Action,
  ActionContext,
  ActionRequest,
  BulkActionResponse,
  PropertyOptions,
  RecordActionResponse,
  ResourceOptions,
  ResourceWithOptions,
} from 'adminjs';
import {
  ACCOUNT_STATUSES,
  ENTITIES,
  GeneratedImage,
  HISTORY_ACTIONS,
  IMAGE_QUALITIES,
  IMAGE_STATUSES,
  IMAGE_STYLES,
  ImageGenerationHistory,
  MAIL_KINDS,
  MAIL_STATUSES,
  PasswordResetToken,
  ImageTag,
  ImageVersion,
  OutboxEvent,
  POST_ERROR_CODES,
  POST_STATUSES,
  PostAnalytics,
  PostAnalyticsSnapshot,
  PostingSchedule,
  PostTemplate,
  Profile,
  RefreshToken,
  RUN_OUTCOMES,
  SCHEDULE_FREQUENCIES,
  ScheduledPost,
  ScheduleRun,
  SentMail,
  DataExport,
  EXPORT_STATUSES,
  MediaPurge,
  SOCIAL_PLATFORMS,
  SocialAccount,
  TokenFamily,
  User,
  UserImageStats,
  DELIVERY_STATUSES,
  WebhookDelivery,
  WebhookEndpoint,
} from '@app/database';
import { EVENT_TYPES } from '../events/event.types.js';
import type { ImagesService } from '../images/images.service.js';
import type { PostsService } from '../scheduler/posts.service.js';
import type { SchedulesService } from '../scheduler/schedules.service.js';
import { imageActions, postActions, scheduleActions } from './admin-actions.js';

type Entity = (typeof ENTITIES)[number];

export const ADMIN_GROUPS = {
  Users: { name: 'Users', icon: 'Users' },
  Images: { name: 'Images', icon: 'Image' },
  Scheduler: { name: 'Scheduler', icon: 'Calendar' },
  Events: { name: 'Events', icon: 'Bell' },
  Webhooks: { name: 'Webhooks', icon: 'Send' },
} as const;
type Group = (typeof ADMIN_GROUPS)[keyof typeof ADMIN_GROUPS];

/**
 * One entity in the panel. Everything is read-only unless `editable` names the fields a staff
 * member may change (the edit form shows those, and a submitted form keeps only those: a crafted
 * request cannot write anything else). Creating and deleting go through actions, never through
 * AdminJS's generic ones, so the services' rules hold.
 */
export interface AdminResource {
  entity: Entity;
  group: Group;
  list: string[];
  filter?: string[];
  title?: string;
  sort?: { sortBy: string; direction: 'asc' | 'desc' };
  /** Never shown, never written: secrets, and internals with no meaning to a person. */
  hidden?: string[];
  editable?: string[];
  /** Who may edit, when `editable` is set. */
  editableBy?: 'staff' | 'superuser';
  properties?: Record<string, PropertyOptions>;
  actions?: Record<
    string,
    Partial<Action<RecordActionResponse>> | Partial<Action<BulkActionResponse>>
  >;
}

export interface AdminServices {
  images: ImagesService;
  posts: PostsService;
  schedules: SchedulesService;
}

const choices = (values: readonly string[]) =>
  values.map((value) => ({ value, label: value.replaceAll('_', ' ') }));
const newestFirst = { sortBy: 'id', direction: 'desc' } as const;

/**
 * The panel's resources, one entry per entity. A new entity is one entry here; an entity
 * without one still appears, read-only, at the top level (see adminResources()).
 */
export function resourceSpecs({ images, posts, schedules }: AdminServices): AdminResource[] {
  return [
    {
      entity: User,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'username', 'email', 'isStaff', 'isSuperuser', 'isActive', 'dateJoined'],
      filter: ['username', 'email', 'isStaff', 'isSuperuser', 'isActive', 'dateJoined'],
      title: 'username',
      sort: newestFirst,
      hidden: ['password'],
      // Usernames, emails and passwords stay with their owner (the API applies their rules).
      editable: ['firstName', 'lastName', 'isActive', 'isStaff', 'isSuperuser'],
      editableBy: 'superuser',
    },
    {
      entity: Profile,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'userId', 'defaultImageStyle', 'autoValidateImages', 'timezone', 'updatedAt'],
      filter: ['userId', 'defaultImageStyle', 'autoValidateImages', 'timezone'],
      sort: newestFirst,
      hidden: ['avatar'],
      editable: ['bio', 'defaultImageStyle', 'autoValidateImages'],
      properties: {
        defaultImageStyle: { availableValues: choices(IMAGE_STYLES) },
        bio: { type: 'textarea' },
      },
    },
    {
      entity: TokenFamily,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'userId', 'createdAt', 'expiresAt', 'revokedAt', 'revokedReason'],
      filter: ['userId', 'revokedReason', 'createdAt', 'expiresAt'],
      sort: { sortBy: 'createdAt', direction: 'desc' },
    },
    {
      entity: RefreshToken,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'familyId', 'userId', 'createdAt', 'expiresAt', 'usedAt'],
      filter: ['userId', 'familyId', 'createdAt'],
      sort: { sortBy: 'createdAt', direction: 'desc' },
    },
    {
      // The sent-mail log, read-only. It never held a reset token or a link carrying one.
      entity: SentMail,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'userId', 'to', 'kind', 'subject', 'status', 'attempts', 'sentAt'],
      filter: ['userId', 'to', 'kind', 'status', 'createdAt', 'sentAt'],
      title: 'subject',
      sort: newestFirst,
      properties: {
        kind: { availableValues: choices(MAIL_KINDS) },
        status: { availableValues: choices(MAIL_STATUSES) },
        error: { type: 'textarea' },
      },
    },
    {
      // Data exports, read-only: an admin sees who exported what and how it went, never the file
      // (its storage key opens nothing without a signature).
      entity: DataExport,
      group: ADMIN_GROUPS.Users,
      list: [
        'id',
        'userId',
        'status',
        'includeMedia',
        'progress',
        'size',
        'expiresAt',
        'createdAt',
      ],
      filter: ['userId', 'status', 'createdAt', 'expiresAt'],
      sort: newestFirst,
      properties: {
        status: { availableValues: choices(EXPORT_STATUSES) },
        error: { type: 'textarea' },
      },
      hidden: ['storageKey'],
    },
    {
      // Media folders of deleted accounts still to delete (a failed deletion, retried by the
      // sweep); normally empty. Read-only.
      entity: MediaPurge,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'prefix', 'attempts', 'lastError', 'createdAt'],
      sort: newestFirst,
      properties: { lastError: { type: 'textarea' } },
    },
    {
      entity: PasswordResetToken,
      group: ADMIN_GROUPS.Users,
      list: ['id', 'userId', 'createdAt', 'expiresAt', 'usedAt'],
      filter: ['userId', 'createdAt', 'expiresAt'],
      sort: newestFirst,
      // A hash of a 256-bit token opens nothing, but it is still no one's business.
      hidden: ['tokenHash'],
    },
    {
      entity: GeneratedImage,
      group: ADMIN_GROUPS.Images,
      list: ['id', 'userId', 'prompt', 'status', 'style', 'provider', 'createdAt'],
      filter: ['userId', 'status', 'style', 'provider', 'prompt', 'createdAt'],
      title: 'prompt',
      sort: newestFirst,
      properties: {
        status: { availableValues: choices(IMAGE_STATUSES) },
        style: { availableValues: choices(IMAGE_STYLES) },
        quality: { availableValues: choices(IMAGE_QUALITIES) },
        prompt: { type: 'textarea' },
        negativePrompt: { type: 'textarea' },
        errorMessage: { type: 'textarea' },
        metadata: { type: 'key-value' },
      },
      actions: imageActions(images),
    },
    {
      // Read-only: versions are made and restored through the API, which renders their files.
      entity: ImageVersion,
      group: ADMIN_GROUPS.Images,
      list: ['id', 'imageId', 'version', 'width', 'height', 'restoredFrom', 'createdAt'],
      filter: ['imageId', 'version', 'createdAt'],
      sort: newestFirst,
    },
    {
      entity: ImageTag,
      group: ADMIN_GROUPS.Images,
      list: ['id', 'userId', 'name', 'description', 'createdAt'],
      filter: ['userId', 'name'],
      title: 'name',
      sort: newestFirst,
    },
    {
      entity: ImageGenerationHistory,
      group: ADMIN_GROUPS.Images,
      list: ['id', 'userId', 'imageId', 'action', 'createdAt'],
      filter: ['userId', 'imageId', 'action', 'createdAt'],
      sort: newestFirst,
      properties: {
        action: { availableValues: choices(HISTORY_ACTIONS) },
        details: { type: 'key-value' },
      },
    },
    {
      entity: UserImageStats,
      group: ADMIN_GROUPS.Images,
      list: ['userId', 'total', 'pending', 'generating', 'generated', 'validated', 'failed'],
      filter: ['userId'],
      sort: { sortBy: 'userId', direction: 'desc' },
    },
    {
      entity: SocialAccount,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'userId', 'platform', 'displayName', 'status', 'expiresAt'],
      filter: ['userId', 'platform', 'status', 'displayName', 'accountId'],
      // The platform's id of the account: always set, unlike the display name.
      title: 'accountId',
      sort: newestFirst,
      hidden: ['accessTokenEncrypted', 'refreshTokenEncrypted'],
      properties: {
        platform: { availableValues: choices(SOCIAL_PLATFORMS) },
        status: { availableValues: choices(ACCOUNT_STATUSES) },
        // Computed in the query: shown, not filterable.
        hasRefreshToken: { isVisible: { list: false, filter: false, show: true, edit: false } },
      },
    },
    {
      entity: ScheduledPost,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'userId', 'platform', 'status', 'scheduledTime', 'postedAt', 'errorCode'],
      filter: ['userId', 'platform', 'status', 'errorCode', 'scheduledTime', 'accountId'],
      title: 'caption',
      sort: newestFirst,
      properties: {
        platform: { availableValues: choices(SOCIAL_PLATFORMS) },
        status: { availableValues: choices(POST_STATUSES) },
        errorCode: { availableValues: choices(POST_ERROR_CODES) },
        caption: { type: 'textarea' },
        errorMessage: { type: 'textarea' },
        metadata: { type: 'key-value' },
        checkpoint: { type: 'key-value' },
      },
      actions: postActions(posts),
    },
    {
      entity: PostAnalytics,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'scheduledPostId', 'platform', 'likes', 'comments', 'shares', 'views'],
      filter: ['scheduledPostId', 'platform', 'lastSyncedAt'],
      sort: newestFirst,
      properties: { platform: { availableValues: choices(SOCIAL_PLATFORMS) } },
    },
    {
      // Read-only: what each sync read. Newest by id (the primary key), not by synced_at, which
      // has no index of its own among tens of millions of rows; filter by post for one history.
      entity: PostAnalyticsSnapshot,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'scheduledPostId', 'syncedAt', 'likes', 'comments', 'shares', 'views'],
      filter: ['scheduledPostId'],
      sort: { sortBy: 'id', direction: 'desc' },
    },
    {
      entity: PostingSchedule,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'userId', 'name', 'frequency', 'timeOfDay', 'isActive', 'nextRunAt'],
      filter: ['userId', 'name', 'frequency', 'isActive', 'nextRunAt'],
      title: 'name',
      sort: newestFirst,
      properties: {
        frequency: { availableValues: choices(SCHEDULE_FREQUENCIES) },
        // A wall-clock time (HH:MM:SS), not an instant.
        timeOfDay: { type: 'string' },
      },
      actions: scheduleActions(schedules),
    },
    {
      // Read-only: a template's variables are checked by the API when it is saved.
      entity: PostTemplate,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'userId', 'name', 'caption', 'hashtags', 'updatedAt'],
      filter: ['userId', 'name', 'createdAt', 'updatedAt'],
      title: 'name',
      sort: newestFirst,
      properties: { caption: { type: 'textarea' }, hashtags: { type: 'textarea' } },
    },
    {
      entity: ScheduleRun,
      group: ADMIN_GROUPS.Scheduler,
      list: ['id', 'scheduleId', 'occurrenceAt', 'outcome', 'imageId', 'ranAt'],
      filter: ['scheduleId', 'outcome', 'occurrenceAt'],
      sort: newestFirst,
      properties: { outcome: { availableValues: choices(RUN_OUTCOMES) } },
    },
    {
      // The outbox, read-only: what was reported, and whether every consumer has taken it.
      entity: OutboxEvent,
      group: ADMIN_GROUPS.Events,
      list: ['id', 'userId', 'type', 'createdAt', 'dispatchedAt', 'attempts'],
      filter: ['userId', 'type', 'createdAt', 'dispatchedAt'],
      sort: { sortBy: 'createdAt', direction: 'desc' },
      properties: {
        type: { availableValues: choices(EVENT_TYPES) },
        data: { type: 'key-value' },
        lastError: { type: 'textarea' },
      },
    },
    {
      entity: WebhookEndpoint,
      group: ADMIN_GROUPS.Webhooks,
      list: ['id', 'userId', 'url', 'isActive', 'deliveryCount', 'createdAt'],
      filter: ['userId', 'url', 'isActive', 'createdAt'],
      title: 'url',
      sort: newestFirst,
      // Signing secrets, even sealed, are for the worker alone.
      hidden: ['secretEncrypted', 'previousSecretEncrypted'],
      properties: { disabledReason: { type: 'textarea' } },
    },
    {
      entity: WebhookDelivery,
      group: ADMIN_GROUPS.Webhooks,
      list: ['id', 'endpointId', 'eventType', 'status', 'attempts', 'lastStatusCode', 'createdAt'],
      filter: ['endpointId', 'eventId', 'eventType', 'status', 'createdAt'],
      title: 'eventId',
      sort: newestFirst,
      properties: {
        status: { availableValues: choices(DELIVERY_STATUSES) },
        data: { type: 'key-value' },
        lastError: { type: 'textarea' },
      },
    },
  ];
}

/** Every entity of the database as an AdminJS resource (`ENTITIES` is the list of record). */
export function adminResources(services: AdminServices): ResourceWithOptions[] {
  const specs = new Map(resourceSpecs(services).map((spec) => [spec.entity, spec]));
  return ENTITIES.map((entity) => {
    const spec = specs.get(entity);
    return spec
      ? { resource: entity, options: resourceOptions(spec) }
      : { resource: entity, options: { actions: { ...READ_ONLY, ...OFFERED_QUERY } } };
  });
}

const READ_ONLY = {
  new: { isAccessible: false },
  edit: { isAccessible: false },
  delete: { isAccessible: false },
  bulkDelete: { isAccessible: false },
};

function resourceOptions(spec: AdminResource): ResourceOptions {
  const hidden = Object.fromEntries(
    (spec.hidden ?? []).map((field) => [field, { isVisible: false }]),
  );
  const editable = spec.editable ?? [];
  const edit: Partial<Action<RecordActionResponse>> =
    editable.length === 0
      ? { isAccessible: false }
      : {
          isAccessible:
            spec.editableBy === 'superuser'
              ? ({ currentAdmin }) => currentAdmin?.isSuperuser === true
              : true,
          before: editedFields(editable, spec.properties ?? {}),
        };
  const options: ResourceOptions = {
    navigation: spec.group,
    listProperties: spec.list,
    filterProperties: spec.filter,
    editProperties: editable.length > 0 ? editable : undefined,
    titleProperty: spec.title,
    sort: spec.sort,
    properties: { ...spec.properties, ...hidden },
    actions: { ...READ_ONLY, edit, ...spec.actions, ...OFFERED_QUERY },
  };
  // AdminJS merges option lists with a spread when the key is present, even if undefined.
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as ResourceOptions;
}

/**
 * List and search take only the filters the panel offers and sort only by a listed column.
 * AdminJS builds their query from any `filters.<column>` (a text one is LIKE '%value%': an oracle
 * that reads a hidden hash or token one character at a time), any `sortBy`, and any search
 * `searchProperty`; an unknown column is a 500. Anything else is dropped: an unknown filter is no
 * filter, an unknown sort is the default one, an unknown search property is the title. A page
 * size or page number that is not a whole number from 1 to its limit is dropped too (the default
 * is used): AdminJS caps the list's page size at 500 but not the search's (`perPage=10000000`
 * would read a whole table), and a page below 1 is a negative OFFSET, a database error.
 */
async function offeredQuery(
  request: ActionRequest,
  context: ActionContext,
): Promise<ActionRequest> {
  if (!request.query) return request;
  const { flat } = await import('adminjs');
  const resource = context.resource.decorate();
  const filterable = new Map(
    resource
      .getProperties({ where: 'filter' })
      .map((property) => [property.propertyPath, property]),
  );
  const sortable = new Set(
    resource
      .getListProperties()
      .filter((property) => property.isSortable())
      .map((property) => property.propertyPath),
  );
  const allowedFilter = (path: string, value: unknown) => {
    const [name, bound, ...rest] = path.split('~~');
    const type = filterable.get(name)?.type();
    if (type === undefined || rest.length > 0) return false;
    // A date is filtered by range (prop~~from, prop~~to) only; anything else by value only.
    const range = type === 'date' || type === 'datetime';
    if (range ? bound !== 'from' && bound !== 'to' : bound !== undefined) return false;
    // A value the column cannot hold would be a database error (a 500): no filter instead.
    return validFilterValue(type, value);
  };
  const query = Object.fromEntries(
    Object.entries(
      flat.flatten<Record<string, unknown>, Record<string, unknown>>(request.query),
    ).filter(([key, value]) => {
      const [head] = key.split('.', 1);
      if (head === 'filters') return allowedFilter(key.slice('filters.'.length), value);
      if (head === 'sortBy') return key === head && sortable.has(value as string);
      if (head === 'direction') return key === head && (value === 'asc' || value === 'desc');
      if (head === 'perPage') return key === head && wholeNumber(value, PER_PAGE_LIMIT);
      if (head === 'page') return key === head && wholeNumber(value, PAGE_LIMIT);
      if (head === 'searchProperty') {
        const title = resource.titleProperty().propertyPath;
        return key === head && (filterable.has(value as string) || value === title);
      }
      return true;
    }),
  );
  return { ...request, query };
}

/** AdminJS's own cap on a list's page size, for search too. */
const PER_PAGE_LIMIT = 500;
/** Far past any page a person clicks to; an OFFSET costs its rows. */
const PAGE_LIMIT = 10_000;

function wholeNumber(value: unknown, limit: number): boolean {
  return typeof value === 'string' && /^\d{1,9}$/.test(value) && +value >= 1 && +value <= limit;
}

function validFilterValue(type: string, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  switch (type) {
    case 'date':
    case 'datetime':
      return !Number.isNaN(Date.parse(value));
    case 'number':
    case 'reference':
      return /^-?\d{1,9}$/.test(value.trim());
    case 'float':
      return value.trim() !== '' && Number.isFinite(Number(value));
    case 'boolean':
      return value === 'true' || value === 'false';
    default:
      return true;
  }
}

const OFFERED_QUERY = { list: { before: offeredQuery }, search: { before: offeredQuery } };

/**
 * A submitted edit keeps only the editable fields (and their nested keys); the rest is dropped.
 * A field with a list of choices must hold one of them (AdminJS only offers them in its form).
 */
function editedFields(fields: string[], properties: Record<string, PropertyOptions>) {
  return async (request: ActionRequest): Promise<ActionRequest> => {
    if (request.method !== 'post' || !request.payload) return request;
    const payload = Object.fromEntries(
      Object.entries(request.payload).filter(([key]) =>
        fields.some((field) => key === field || key.startsWith(`${field}.`)),
      ),
    );
    const wrong = Object.keys(payload).filter((field) => {
      const choices = properties[field]?.availableValues;
      return choices !== undefined && !choices.some((choice) => choice.value === payload[field]);
    });
    if (wrong.length > 0) {
      const { ValidationError } = await import('adminjs');
      throw new ValidationError(
        Object.fromEntries(
          wrong.map((field) => [field, { message: 'Not one of the choices.', type: 'choices' }]),
        ),
      );
    }
    return { ...request, payload };
  };
}
