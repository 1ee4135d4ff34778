import { FieldValidationError } from '@app/common';

/**
 * The editing operations of api.md ("Image editing") as values, and the parser that makes them
 * from a request body. Parsing is strict and pure: a field it does not know, a string where a
 * number belongs or a number out of range is a 400 naming `operations[i]` and the operation,
 * before any pixel is read. What depends on the picture (a crop box inside it, a resize under
 * the pixel limit) is checked as the operations run, still before anything is written.
 */

export const CROP_ASPECTS = ['1:1', '4:5', '1.91:1', '9:16', '16:9'] as const;
export type CropAspect = (typeof CROP_ASPECTS)[number];
export const CROP_FOCUSES = ['center', 'attention'] as const;
export const RESIZE_FITS = ['cover', 'contain', 'inside'] as const;
export const ROTATIONS = [90, 180, 270] as const;
export const COMPASS_POINTS = [
  'north',
  'northeast',
  'east',
  'southeast',
  'south',
  'southwest',
  'west',
  'northwest',
  'center',
] as const;
export type CompassPoint = (typeof COMPASS_POINTS)[number];

/** Platform sizes (api.md): a preset is a cover resize to its size, the subject kept in frame. */
export const IMAGE_PRESETS = {
  instagram_square: { width: 1080, height: 1080 },
  instagram_portrait: { width: 1080, height: 1350 },
  instagram_story: { width: 1080, height: 1920 },
  facebook: { width: 1200, height: 630 },
  x: { width: 1600, height: 900 },
  linkedin: { width: 1200, height: 627 },
  tiktok: { width: 1080, height: 1920 },
} as const;
export type PresetName = keyof typeof IMAGE_PRESETS;

/** The longest side a resize may ask for: a 20,000-pixel resize is refused whatever the limit. */
export const MAX_SIDE = 10_000;
/** Operations in one request, and in a version's whole list (a restore starts a shorter one). */
export const MAX_OPERATIONS_PER_EDIT = 20;
export const MAX_OPERATIONS_PER_VERSION = 100;
export const MAX_WATERMARK_LENGTH = 100;

export type ImageOperation =
  | { op: 'crop'; x: number; y: number; width: number; height: number }
  | { op: 'crop'; aspect: CropAspect; focus: 'center' | 'attention' }
  | { op: 'resize'; width?: number; height?: number; fit: (typeof RESIZE_FITS)[number] }
  | { op: 'rotate'; degrees: (typeof ROTATIONS)[number] }
  | { op: 'flip' }
  | { op: 'flop' }
  | { op: 'grayscale' }
  | { op: 'sepia' }
  | { op: 'blur'; sigma: number }
  | { op: 'sharpen'; sigma?: number }
  | { op: 'modulate'; brightness?: number; saturation?: number; hue?: number }
  | { op: 'watermark'; text: string; position: CompassPoint; opacity: number }
  | { op: 'preset'; name: PresetName };

export type OperationName = ImageOperation['op'];

export const OPERATION_NAMES: readonly OperationName[] = [
  'crop',
  'resize',
  'rotate',
  'flip',
  'flop',
  'grayscale',
  'sepia',
  'blur',
  'sharpen',
  'modulate',
  'watermark',
  'preset',
];

/** A 400 on one operation: the field is `operations[i]`, the message starts with its name. */
export class OperationError extends FieldValidationError {
  constructor(index: number, op: string | null, message: string) {
    super(
      { [`operations[${index}]`]: [op ? `${op}: ${message}` : message] },
      op
        ? `Operation ${index} (${op}) cannot be applied: ${message}`
        : `Operation ${index} is invalid: ${message}`,
    );
  }
}

/** Parses the request's list; `indexOffset` is added to nothing (indexes are the request's). */
export function parseOperations(raw: unknown): ImageOperation[] {
  if (!Array.isArray(raw)) throw FieldValidationError.of('operations', 'Expected a list.');
  if (raw.length === 0) throw FieldValidationError.of('operations', 'Give at least one operation.');
  if (raw.length > MAX_OPERATIONS_PER_EDIT)
    throw FieldValidationError.of(
      'operations',
      `At most ${MAX_OPERATIONS_PER_EDIT} operations per edit.`,
    );
  return raw.map((item, index) => parseOperation(item, index));
}

export function parseOperation(item: unknown, index: number): ImageOperation {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw new OperationError(index, null, 'expected an object with an "op".');
  const fields = item as Record<string, unknown>;
  const op = fields.op;
  if (typeof op !== 'string' || !(OPERATION_NAMES as readonly string[]).includes(op)) {
    const name = typeof op === 'string' ? JSON.stringify(op.slice(0, 40)) : 'missing';
    throw new OperationError(
      index,
      null,
      `unknown operation ${name}; expected one of ${OPERATION_NAMES.join(', ')}.`,
    );
  }
  const reader = new Fields(fields, index, op);
  const parsed = PARSERS[op as OperationName](reader);
  reader.refuseOthers();
  return parsed;
}

/** Reads one operation's fields, remembering which it read so that any other is refused. */
class Fields {
  private readonly read = new Set<string>(['op']);

  constructor(
    private readonly fields: Record<string, unknown>,
    private readonly index: number,
    readonly op: string,
  ) {}

  fail(message: string): never {
    throw new OperationError(this.index, this.op, message);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.fields, name) && this.fields[name] !== undefined;
  }

  number(
    name: string,
    { min, max, integer = false, required = true }: NumberRule,
  ): number | undefined {
    this.read.add(name);
    if (!this.has(name)) return required ? this.fail(`${name} is required.`) : undefined;
    const value = this.fields[name];
    if (typeof value !== 'number' || !Number.isFinite(value))
      return this.fail(`${name} must be a number.`);
    if (integer && !Number.isInteger(value)) return this.fail(`${name} must be a whole number.`);
    if (value < min || value > max) return this.fail(`${name} must be between ${min} and ${max}.`);
    return value;
  }

  choice<T extends string | number>(name: string, choices: readonly T[], fallback?: T): T {
    this.read.add(name);
    if (!this.has(name)) return fallback ?? this.fail(`${name} is required.`);
    const value = this.fields[name];
    if (!choices.includes(value as T))
      return this.fail(`${name} must be one of ${choices.join(', ')}.`);
    return value as T;
  }

  text(name: string, maxLength: number): string {
    this.read.add(name);
    const value = this.fields[name];
    if (typeof value !== 'string') return this.fail(`${name} must be a string.`);
    if (!isWellFormed(value)) return this.fail(`${name} is not valid Unicode text.`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) return this.fail(`${name} has control characters.`);
    if (!value.trim()) return this.fail(`${name} must not be blank.`);
    if ([...value].length > maxLength)
      return this.fail(`${name} must be at most ${maxLength} characters.`);
    return value;
  }

  refuseOthers(): void {
    const unknown = Object.keys(this.fields).find((key) => !this.read.has(key));
    if (unknown !== undefined) this.fail(`unknown field ${JSON.stringify(unknown.slice(0, 40))}.`);
  }
}

interface NumberRule {
  min: number;
  max: number;
  integer?: boolean;
  required?: boolean;
}

const side = (required: boolean): NumberRule => ({
  min: 1,
  max: MAX_SIDE,
  integer: true,
  required,
});

const PARSERS: Record<OperationName, (fields: Fields) => ImageOperation> = {
  crop: (fields) => {
    if (fields.has('aspect')) {
      return {
        op: 'crop',
        aspect: fields.choice('aspect', CROP_ASPECTS),
        focus: fields.choice('focus', CROP_FOCUSES, 'center'),
      };
    }
    if (!fields.has('x') && !fields.has('width'))
      fields.fail('give either a box (x, y, width, height) or an aspect.');
    const position = { min: 0, max: MAX_SIDE, integer: true };
    return {
      op: 'crop',
      x: fields.number('x', position)!,
      y: fields.number('y', position)!,
      width: fields.number('width', side(true))!,
      height: fields.number('height', side(true))!,
    };
  },
  resize: (fields) => {
    const width = fields.number('width', side(false));
    const height = fields.number('height', side(false));
    if (width === undefined && height === undefined) fields.fail('give a width, a height or both.');
    return {
      op: 'resize',
      ...(width !== undefined ? { width } : {}),
      ...(height !== undefined ? { height } : {}),
      fit: fields.choice('fit', RESIZE_FITS, 'inside'),
    };
  },
  rotate: (fields) => ({ op: 'rotate', degrees: fields.choice('degrees', ROTATIONS) }),
  flip: () => ({ op: 'flip' }),
  flop: () => ({ op: 'flop' }),
  grayscale: () => ({ op: 'grayscale' }),
  sepia: () => ({ op: 'sepia' }),
  blur: (fields) => ({ op: 'blur', sigma: fields.number('sigma', { min: 0.3, max: 50 })! }),
  sharpen: (fields) => {
    const sigma = fields.number('sigma', { min: 0.000001, max: 10, required: false });
    return sigma === undefined ? { op: 'sharpen' } : { op: 'sharpen', sigma };
  },
  modulate: (fields) => {
    const brightness = fields.number('brightness', { min: 0, max: 10, required: false });
    const saturation = fields.number('saturation', { min: 0, max: 10, required: false });
    const hue = fields.number('hue', { min: -360, max: 360, integer: true, required: false });
    if (brightness === undefined && saturation === undefined && hue === undefined)
      fields.fail('give brightness, saturation or hue.');
    return {
      op: 'modulate',
      ...(brightness !== undefined ? { brightness } : {}),
      ...(saturation !== undefined ? { saturation } : {}),
      ...(hue !== undefined ? { hue } : {}),
    };
  },
  watermark: (fields) => ({
    op: 'watermark',
    text: fields.text('text', MAX_WATERMARK_LENGTH),
    position: fields.choice('position', COMPASS_POINTS, 'southeast'),
    opacity: fields.number('opacity', { min: 0, max: 1, required: false }) ?? 0.5,
  }),
  preset: (fields) => ({
    op: 'preset',
    name: fields.choice('name', Object.keys(IMAGE_PRESETS) as PresetName[]),
  }),
};

/** The largest box of `aspect` inside width×height. */
export function aspectBox(
  aspect: CropAspect,
  width: number,
  height: number,
): { width: number; height: number } {
  const [w, h] = aspect.split(':').map(Number);
  const ratio = w / h;
  if (width / height > ratio)
    return { width: Math.max(1, Math.min(width, Math.round(height * ratio))), height };
  return { width, height: Math.max(1, Math.min(height, Math.round(width / ratio))) };
}

/** No lone surrogate (what `String.prototype.isWellFormed` checks, beyond this project's lib). */
function isWellFormed(value: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
}
