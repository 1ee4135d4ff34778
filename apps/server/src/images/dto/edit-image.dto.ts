import { ApiProperty } from '@nestjs/swagger';
import { IsArray } from 'class-validator';
import {
  COMPASS_POINTS,
  CROP_ASPECTS,
  CROP_FOCUSES,
  IMAGE_PRESETS,
  MAX_OPERATIONS_PER_EDIT,
  MAX_SIDE,
  MAX_WATERMARK_LENGTH,
  RESIZE_FITS,
  ROTATIONS,
} from '../editing/image-operations.js';

type Schema = Record<string, unknown>;

const operation = (
  op: string,
  description: string,
  properties: Schema = {},
  required: string[] = [],
): Schema => ({
  type: 'object',
  title: op,
  description,
  properties: { op: { type: 'string', enum: [op] }, ...properties },
  required: ['op', ...required],
  additionalProperties: false,
});

const side = { type: 'integer', minimum: 1, maximum: MAX_SIDE };

/** Each operation's schema, as `parseOperation()` checks it (that parser is the rule; this documents it). */
export const OPERATION_SCHEMAS: Schema[] = [
  operation(
    'crop',
    'Cuts out a box, in pixels of the picture as it is at this step.',
    {
      x: { type: 'integer', minimum: 0 },
      y: { type: 'integer', minimum: 0 },
      width: side,
      height: side,
    },
    ['x', 'y', 'width', 'height'],
  ),
  operation(
    'crop',
    'Cuts out the largest box of an aspect ratio: centred, or around what draws the eye (`attention`).',
    {
      aspect: { type: 'string', enum: [...CROP_ASPECTS] },
      focus: { type: 'string', enum: [...CROP_FOCUSES], default: 'center' },
    },
    ['aspect'],
  ),
  operation(
    'resize',
    'Scales to a width, a height or both; with both, `cover` crops to fill, `contain` pads with white, `inside` keeps the ratio within them.',
    {
      width: side,
      height: side,
      fit: { type: 'string', enum: [...RESIZE_FITS], default: 'inside' },
    },
  ),
  operation('rotate', 'Turns clockwise.', { degrees: { type: 'integer', enum: [...ROTATIONS] } }, [
    'degrees',
  ]),
  operation('flip', 'Mirrors top to bottom.'),
  operation('flop', 'Mirrors left to right.'),
  operation('grayscale', 'Shades of grey (Rec. 709 luma).'),
  operation('sepia', 'Brown tones.'),
  operation('blur', 'Gaussian blur.', { sigma: { type: 'number', minimum: 0.3, maximum: 50 } }, [
    'sigma',
  ]),
  operation('sharpen', 'Sharpens; a mild default without `sigma`.', {
    sigma: { type: 'number', minimum: 0.000001, maximum: 10 },
  }),
  operation('modulate', 'Multiplies brightness and saturation, turns the hue by degrees.', {
    brightness: { type: 'number', minimum: 0, maximum: 10 },
    saturation: { type: 'number', minimum: 0, maximum: 10 },
    hue: { type: 'integer', minimum: -360, maximum: 360 },
  }),
  operation(
    'watermark',
    'Writes a line of text at one of the nine compass points.',
    {
      text: { type: 'string', minLength: 1, maxLength: MAX_WATERMARK_LENGTH },
      position: { type: 'string', enum: [...COMPASS_POINTS], default: 'southeast' },
      opacity: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
    },
    ['text'],
  ),
  operation(
    'preset',
    'Resizes to a platform size (see `GET /api/images/presets/`), cropping around what draws the eye.',
    { name: { type: 'string', enum: Object.keys(IMAGE_PRESETS) } },
    ['name'],
  ),
];

export class EditImageDto {
  @ApiProperty({
    type: 'array',
    minItems: 1,
    maxItems: MAX_OPERATIONS_PER_EDIT,
    items: { oneOf: OPERATION_SCHEMAS },
    description:
      'Applied in order after the current version’s own list. A bad operation is a 400 naming `operations[i]` and the operation; nothing is written.',
    example: [
      { op: 'crop', aspect: '4:5', focus: 'attention' },
      { op: 'rotate', degrees: 90 },
      { op: 'watermark', text: '© Harbour Studio', position: 'southeast', opacity: 0.6 },
    ],
  })
  @IsArray()
  operations: unknown[];
}
