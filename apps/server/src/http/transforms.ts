import { Transform } from 'class-transformer';
import { ValidateIf } from 'class-validator';

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Booleans as DRF reads them: JSON booleans, and "true"/"false"/"1"/"0" from forms. */
export const ToBoolean = () =>
  Transform(({ value }) => {
    if (typeof value !== 'string') return value;
    const lowered = value.trim().toLowerCase();
    return TRUE.has(lowered) ? true : FALSE.has(lowered) ? false : value;
  });

const integerOf = (value: unknown) =>
  typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim()) ? Number(value) : value;

/** Integers also given as numeric strings (`"1024"`), as the original accepted; anything else stays and fails @IsInt. */
export const ToInteger = () => Transform(({ value }) => integerOf(value));

/** The same for each item of a list of integers. */
export const ToIntegers = () =>
  Transform(({ value }) => (Array.isArray(value) ? value.map(integerOf) : value));

/**
 * The field may be left out, but `null` is validated (and so refused): @IsOptional() would let a
 * null through to a NOT NULL column, a 500 instead of a 400.
 */
export const OptionalNotNull = () =>
  ValidateIf((_object: object, value: unknown) => value !== undefined);
