import { DateTime, IANAZone } from 'luxon';
import type { ScheduleFrequency } from '@app/database';

/** When a recurring schedule fires, in its own time zone. */
export interface Recurrence {
  frequency: ScheduleFrequency;
  /** `HH:MM` or `HH:MM:SS`, local to `timezone`. */
  timeOfDay: string;
  /** 0 = Monday … 6 = Sunday; weekly only. */
  weekday: number | null;
  /** 1–31, a short month using its last day; monthly only. */
  dayOfMonth: number | null;
  /** IANA name, e.g. `Europe/Paris`. */
  timezone: string;
}

/** `HH:MM` or `HH:MM:SS`, 24-hour. */
export const TIME_OF_DAY_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;
const HOUR_MS = 3_600_000;

export function isValidTimezone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

export function parseTimeOfDay(value: string): { hour: number; minute: number; second: number } {
  const match = TIME_OF_DAY_PATTERN.exec(value);
  if (!match) throw new RangeError(`Not a time of day: ${value}`);
  return { hour: Number(match[1]), minute: Number(match[2]), second: Number(match[3] ?? 0) };
}

/**
 * The first occurrence strictly after `after`. Each local day that matches fires once:
 * - a wall time that exists twice (the autumn change) fires at its first instant;
 * - a wall time that does not exist (the spring change) fires at the first valid local time
 *   after it, the instant the clocks jump (02:30 in Paris on the spring-forward day → 03:00).
 */
export function nextOccurrence(recurrence: Recurrence, after: Date): Date {
  const zone = IANAZone.create(recurrence.timezone);
  if (!zone.isValid) throw new RangeError(`Unknown time zone: ${recurrence.timezone}`);
  const time = parseTimeOfDay(recurrence.timeOfDay);
  // Start a day early: an occurrence on the previous local date can never be after `after`,
  // but starting there keeps the arithmetic simple around midnight and offset changes.
  let day = DateTime.fromJSDate(after, { zone }).startOf('day').minus({ days: 1 });
  for (let step = 0; step < 800; step++, day = day.plus({ days: 1 })) {
    if (!matches(recurrence, day)) continue;
    const instant = resolveWallTime(zone, day.year, day.month, day.day, time);
    if (instant.getTime() > after.getTime()) return instant;
  }
  throw new RangeError('No occurrence within 800 days');
}

function matches(recurrence: Recurrence, day: DateTime): boolean {
  switch (recurrence.frequency) {
    case 'daily':
      return true;
    case 'weekly':
      return day.weekday - 1 === recurrence.weekday;
    case 'monthly':
      return day.day === Math.min(recurrence.dayOfMonth ?? 1, day.daysInMonth ?? 28);
  }
}

/** The instant a local wall time names in `zone`, per the rules of nextOccurrence. */
function resolveWallTime(
  zone: IANAZone,
  year: number,
  month: number,
  day: number,
  time: { hour: number; minute: number; second: number },
): Date {
  const naive = Date.UTC(year, month - 1, day, time.hour, time.minute, time.second);
  // Offsets in force around that wall time: any valid reading uses one of them.
  const offsets = new Set(
    [naive - 36 * HOUR_MS, naive, naive + 36 * HOUR_MS].map((ts) => zone.offset(ts)),
  );
  const readings = [...offsets]
    .map((offset) => naive - offset * 60_000)
    .filter((instant) => zone.offset(instant) * 60_000 === naive - instant);
  if (readings.length > 0) return new Date(Math.min(...readings));
  // A gap: the wall time was skipped. Find the instant the offset changed (the first valid
  // local time after the gap) between the reading under the old offset and under the new one.
  const before = zone.offset(naive - 36 * HOUR_MS);
  const afterOffset = zone.offset(naive + 36 * HOUR_MS);
  let low = naive - afterOffset * 60_000; // earlier instant, still under the old offset
  let high = naive - before * 60_000; // later instant, already under the new offset
  while (high - low > 1000) {
    const middle = Math.floor((low + high) / 2);
    if (zone.offset(middle) === before) low = middle;
    else high = middle;
  }
  return new Date(Math.ceil(high / 1000) * 1000);
}
