import type {
  Action,
  ActionContext,
  ActionRequest,
  BaseRecord,
  BulkActionResponse,
  NoticeMessage,
  RecordActionResponse,
} from 'adminjs';
import { AppError } from '@app/common';
import type { ImagesService } from '../images/images.service.js';
import type { PostsService } from '../scheduler/posts.service.js';
import type { SchedulesService } from '../scheduler/schedules.service.js';
import { ADMIN_COMPONENTS } from './frontend/admin-components.js';

/** validation_notes' limit in the API (api.md). */
const NOTES_MAX_LENGTH = 1000;

/**
 * The record actions of the panel. Each one calls the service the API calls, with the record's
 * owner as the user: the same state rules, the same history rows, the same jobs.
 *
 * They change nothing on GET: AdminJS calls a component-less action with a GET, which a
 * cross-site link could trigger with the cookie (SameSite=Lax lets top-level GETs through). So
 * each one has a component that asks for confirmation (and notes) and POSTs.
 */
export function imageActions(images: ImagesService) {
  const decide = (decision: 'validate' | 'reject') => {
    const done = decision === 'validate' ? 'validated' : 'rejected';
    return {
      record: recordAction({
        icon: decision === 'validate' ? 'Check' : 'X',
        label: decision === 'validate' ? 'Validate' : 'Reject',
        isVisible: ({ record }) =>
          isOneOf(record, 'status', ['generated', 'validated', 'rejected']),
        withNotes: true,
        run: async (record, request) => {
          await images.validate(ownerOf(record), idOf(record), decision, notesOf(request));
          return `Image ${idOf(record)} ${done}.`;
        },
      }),
      bulk: bulkAction({
        icon: decision === 'validate' ? 'Check' : 'X',
        label: decision === 'validate' ? 'Validate' : 'Reject',
        verb: done,
        run: (record) => images.validate(ownerOf(record), idOf(record), decision),
      }),
    };
  };
  const validate = decide('validate');
  const reject = decide('reject');
  return {
    validateImage: validate.record,
    rejectImage: reject.record,
    bulkValidate: validate.bulk,
    bulkReject: reject.bulk,
    // The built-in delete would drop the row alone: the service also removes the files and
    // writes the `deleted` history row.
    delete: recordAction({
      icon: 'Trash2',
      label: 'Delete',
      variant: 'danger',
      run: async (record) => {
        await images.delete(ownerOf(record), idOf(record));
        return `Image ${idOf(record)} deleted.`;
      },
      redirectToList: true,
    }),
  };
}

export function postActions(posts: PostsService) {
  return {
    cancelPost: recordAction({
      icon: 'Slash',
      label: 'Cancel post',
      variant: 'danger',
      isVisible: ({ record }) => isOneOf(record, 'status', ['scheduled', 'failed']),
      run: async (record) => {
        await posts.cancel(ownerOf(record), idOf(record));
        return `Post ${idOf(record)} cancelled.`;
      },
    }),
    publishNow: recordAction({
      icon: 'Send',
      label: 'Publish now',
      isVisible: ({ record }) => isOneOf(record, 'status', ['scheduled', 'failed', 'cancelled']),
      run: async (record) => {
        const { taskId } = await posts.publishNow(ownerOf(record), idOf(record));
        return `Post ${idOf(record)} queued for publishing now (job ${taskId}).`;
      },
    }),
  };
}

/** Pause, resume and delete a recurring schedule as its owner would through the API. */
export function scheduleActions(schedules: SchedulesService) {
  // The owner's time zone only matters for a new schedule; these act on existing ones.
  const owner = (record: BaseRecord) => ({ id: ownerOf(record), profile: { timezone: 'UTC' } });
  const setActive = (isActive: boolean) =>
    recordAction({
      icon: isActive ? 'Play' : 'Pause',
      label: isActive ? 'Resume' : 'Pause',
      isVisible: ({ record }) => isOneOf(record, 'isActive', [String(!isActive)]),
      run: async (record) => {
        const { schedule } = await schedules.update(
          owner(record),
          idOf(record),
          { is_active: isActive },
          false,
        );
        return isActive
          ? `Schedule ${schedule.id} resumed: next run ${schedule.nextRunAt?.toISOString()}.`
          : `Schedule ${schedule.id} paused.`;
      },
    });
  return {
    pauseSchedule: setActive(false),
    resumeSchedule: setActive(true),
    // Through the service: its runs go with it, its posts stay.
    delete: recordAction({
      icon: 'Trash2',
      label: 'Delete',
      variant: 'danger',
      run: async (record) => {
        await schedules.delete(ownerOf(record), idOf(record));
        return `Schedule ${idOf(record)} deleted; the posts it made are kept.`;
      },
      redirectToList: true,
    }),
  };
}

interface RecordActionSpec {
  icon: string;
  label: string;
  variant?: 'danger';
  isVisible?: (context: ActionContext) => boolean;
  withNotes?: boolean;
  redirectToList?: boolean;
  /** Does the work; answers the success notice. Errors of the service become an error notice. */
  run: (record: BaseRecord, request: ActionRequest) => Promise<string>;
}

function recordAction(spec: RecordActionSpec): Partial<Action<RecordActionResponse>> {
  return {
    actionType: 'record',
    icon: spec.icon,
    isVisible: spec.isVisible ?? true,
    component: ADMIN_COMPONENTS.RecordConfirm,
    variant: spec.variant,
    custom: { label: spec.label, withNotes: spec.withNotes === true },
    handler: async (request, _response, context) => {
      const { record, resource, h, currentAdmin } = context;
      if (!record) throw new Error('A record action needs its record.');
      if (request.method !== 'post') return { record: record.toJSON(currentAdmin) };
      const resourceId = resource.id();
      try {
        const message = await spec.run(record, request);
        const current = spec.redirectToList ? null : await resource.findOne(String(record.id()));
        return {
          record: (current ?? record).toJSON(currentAdmin),
          notice: { message, type: 'success' },
          redirectUrl: spec.redirectToList
            ? h.resourceUrl({ resourceId })
            : h.recordActionUrl({ resourceId, recordId: String(record.id()), actionName: 'show' }),
        };
      } catch (error) {
        return { record: record.toJSON(currentAdmin), notice: failure(error) };
      }
    },
  };
}

interface BulkActionSpec {
  icon: string;
  label: string;
  /** Past participle for the notice: "3 images validated". */
  verb: string;
  run: (record: BaseRecord) => Promise<unknown>;
}

function bulkAction(spec: BulkActionSpec): Partial<Action<BulkActionResponse>> {
  return {
    actionType: 'bulk',
    icon: spec.icon,
    component: ADMIN_COMPONENTS.BulkConfirm,
    custom: { label: spec.label },
    handler: async (request, _response, context) => {
      const { records = [], resource, h, currentAdmin } = context;
      if (request.method !== 'post') {
        return { records: records.map((record) => record.toJSON(currentAdmin)) };
      }
      const refused: string[] = [];
      for (const record of records) {
        try {
          await spec.run(record);
        } catch (error) {
          refused.push(`#${String(record.id())}: ${failure(error).message}`);
        }
      }
      const done = records.length - refused.length;
      const message =
        `${done} of ${records.length} ${spec.verb}.` +
        (refused.length > 0 ? ` Refused: ${refused.join(' ')}` : '');
      const resourceId = resource.id();
      const current = await resource.findMany(records.map((record) => String(record.id())));
      return {
        records: current.map((record) => record.toJSON(currentAdmin)),
        notice: { message, type: refused.length === 0 ? 'success' : 'error' },
        redirectUrl: h.resourceUrl({ resourceId }),
      };
    },
  };
}

/** A service's refusal (wrong state, gone) is shown as it is; anything else is a bug: rethrown. */
function failure(error: unknown): NoticeMessage & { message: string } {
  if (error instanceof AppError) return { message: error.message, type: 'error' };
  throw error;
}

function notesOf(request: ActionRequest): string | undefined {
  const notes: unknown = request.payload?.notes;
  if (typeof notes !== 'string' || notes.trim() === '') return undefined;
  if (notes.length > NOTES_MAX_LENGTH) {
    throw new NotesTooLongError();
  }
  return notes;
}

class NotesTooLongError extends AppError {
  constructor() {
    super(400, 'validation_error', `Notes are limited to ${NOTES_MAX_LENGTH} characters.`);
  }
}

function ownerOf(record: BaseRecord): number {
  return Number(record.get('userId'));
}

function idOf(record: BaseRecord): number {
  return Number(record.id());
}

function isOneOf(record: BaseRecord | undefined, field: string, values: string[]): boolean {
  return record !== undefined && values.includes(String(record.get(field)));
}
