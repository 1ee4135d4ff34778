import { describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { nextOccurrence, type Recurrence } from './recurrence.js';

const daily = (timezone: string, timeOfDay = '09:00'): Recurrence => ({
  frequency: 'daily',
  timeOfDay,
  weekday: null,
  dayOfMonth: null,
  timezone,
});

/** Every occurrence from `from` (exclusive) until `until`, in ISO UTC. */
function occurrences(recurrence: Recurrence, from: string, until: string): string[] {
  const out: string[] = [];
  let cursor = new Date(from);
  for (;;) {
    cursor = nextOccurrence(recurrence, cursor);
    if (cursor.getTime() >= Date.parse(until)) return out;
    out.push(cursor.toISOString());
  }
}

describe('nextOccurrence', () => {
  describe('daily 09:00 Europe/Paris across the changes of 2026', () => {
    it('fires at 09:00 local on both sides of the March change (08:00Z, then 07:00Z)', () => {
      expect(
        occurrences(daily('Europe/Paris'), '2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z'),
      ).toEqual([
        '2026-03-28T08:00:00.000Z',
        '2026-03-29T07:00:00.000Z',
        '2026-03-30T07:00:00.000Z',
        '2026-03-31T07:00:00.000Z',
      ]);
    });

    it('fires at 09:00 local on both sides of the October change', () => {
      expect(
        occurrences(daily('Europe/Paris'), '2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z'),
      ).toEqual([
        '2026-10-24T07:00:00.000Z',
        '2026-10-25T08:00:00.000Z',
        '2026-10-26T08:00:00.000Z',
        '2026-10-27T08:00:00.000Z',
      ]);
    });

    it('a skipped time (02:30 on 29 March) fires once, at 03:00 local when the clocks jump', () => {
      expect(
        occurrences(daily('Europe/Paris', '02:30'), '2026-03-27T12:00:00Z', '2026-03-30T12:00:00Z'),
      ).toEqual([
        '2026-03-28T01:30:00.000Z', // 02:30 CET
        '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first valid time after 02:30
        '2026-03-30T00:30:00.000Z', // 02:30 CEST
      ]);
    });

    it('a repeated time (02:30 on 25 October) fires once, at its first instant', () => {
      expect(
        occurrences(daily('Europe/Paris', '02:30'), '2026-10-23T12:00:00Z', '2026-10-26T12:00:00Z'),
      ).toEqual([
        '2026-10-24T00:30:00.000Z', // 02:30 CEST
        '2026-10-25T00:30:00.000Z', // 02:30 CEST, not again at 02:30 CET (01:30Z)
        '2026-10-26T01:30:00.000Z', // 02:30 CET
      ]);
    });

    it('asked from between the two readings of a repeated time, goes on to the next day', () => {
      expect(
        nextOccurrence(daily('Europe/Paris', '02:30'), new Date('2026-10-25T00:45:00Z')),
      ).toEqual(new Date('2026-10-26T01:30:00Z'));
    });
  });

  it('America/New_York: 02:30 on the March change fires at 03:00 EDT, November once', () => {
    const schedule = daily('America/New_York', '02:30');
    expect(occurrences(schedule, '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z')).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
    expect(occurrences(schedule, '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z')).toEqual([
      '2026-11-01T07:30:00.000Z', // 02:30 EST: after the 02:00 → 01:00 change it exists once
      '2026-11-02T07:30:00.000Z',
    ]);
  });

  it('America/New_York: 01:30, which exists twice on 1 November, fires once at 01:30 EDT', () => {
    expect(
      occurrences(
        daily('America/New_York', '01:30'),
        '2026-10-31T12:00:00Z',
        '2026-11-02T12:00:00Z',
      ),
    ).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('Australia/Sydney: changes in April and October, southern hemisphere', () => {
    const schedule = daily('Australia/Sydney', '09:00');
    // AEDT (+11) until 5 April 2026 03:00, then AEST (+10); AEDT again from 4 October 02:00.
    expect(occurrences(schedule, '2026-04-03T12:00:00Z', '2026-04-06T12:00:00Z')).toEqual([
      '2026-04-03T22:00:00.000Z', // 4 April 09:00 AEDT
      '2026-04-04T23:00:00.000Z', // 5 April 09:00 AEST, after the 03:00 → 02:00 change
      '2026-04-05T23:00:00.000Z',
    ]);
    expect(
      occurrences(
        daily('Australia/Sydney', '02:15'),
        '2026-10-02T12:00:00Z',
        '2026-10-05T12:00:00Z',
      ),
    ).toEqual([
      '2026-10-02T16:15:00.000Z', // 02:15 AEST on 3 October
      '2026-10-03T16:00:00.000Z', // 4 October: 02:15 skipped, fires at 03:00 AEDT
      '2026-10-04T15:15:00.000Z', // 02:15 AEDT
    ]);
  });

  it('zones without daylight saving keep a fixed UTC time all year', () => {
    for (const [zone, utc] of [
      ['Asia/Tokyo', '00:00'],
      ['UTC', '09:00'],
      ['Asia/Kolkata', '03:30'],
    ] as const) {
      const all = occurrences(daily(zone), '2025-12-31T23:59:59Z', '2027-01-01T00:00:00Z');
      expect(all.length).toBeGreaterThanOrEqual(365);
      expect(new Set(all.map((iso) => iso.slice(11, 16)))).toEqual(new Set([utc]));
    }
  });

  it('weekly: Monday is weekday 0 and Sunday 6, at the local time', () => {
    const monday: Recurrence = {
      frequency: 'weekly',
      timeOfDay: '18:30',
      weekday: 0,
      dayOfMonth: null,
      timezone: 'Europe/Paris',
    };
    expect(occurrences(monday, '2026-03-18T00:00:00Z', '2026-04-07T00:00:00Z')).toEqual([
      '2026-03-23T17:30:00.000Z',
      '2026-03-30T16:30:00.000Z',
      '2026-04-06T16:30:00.000Z',
    ]);
    const sunday = { ...monday, weekday: 6, timeOfDay: '07:00', timezone: 'UTC' };
    expect(occurrences(sunday, '2026-11-29T07:00:00Z', '2026-12-14T00:00:00Z')).toEqual([
      '2026-12-06T07:00:00.000Z',
      '2026-12-13T07:00:00.000Z',
    ]);
  });

  it('monthly on the 31st falls on the last day of shorter months, leap years included', () => {
    const schedule: Recurrence = {
      frequency: 'monthly',
      timeOfDay: '12:00',
      weekday: null,
      dayOfMonth: 31,
      timezone: 'UTC',
    };
    const dates = occurrences(schedule, '2027-12-31T13:00:00Z', '2029-01-01T00:00:00Z').map((iso) =>
      iso.slice(0, 10),
    );
    expect(dates).toEqual([
      '2028-01-31',
      '2028-02-29',
      '2028-03-31',
      '2028-04-30',
      '2028-05-31',
      '2028-06-30',
      '2028-07-31',
      '2028-08-31',
      '2028-09-30',
      '2028-10-31',
      '2028-11-30',
      '2028-12-31',
    ]);
    expect(
      occurrences({ ...schedule, dayOfMonth: 29 }, '2027-01-30T00:00:00Z', '2027-04-01T00:00:00Z'),
    ).toEqual(['2027-02-28T12:00:00.000Z', '2027-03-29T12:00:00.000Z']);
  });

  it('monthly in a zone ahead of UTC uses the local calendar day', () => {
    const schedule: Recurrence = {
      frequency: 'monthly',
      timeOfDay: '08:00',
      weekday: null,
      dayOfMonth: 1,
      timezone: 'Pacific/Auckland',
    };
    // 1 July 08:00 NZST (+12) is 30 June 20:00 UTC.
    expect(nextOccurrence(schedule, new Date('2026-06-15T00:00:00Z'))).toEqual(
      new Date('2026-06-30T20:00:00Z'),
    );
  });

  describe('over years of dates', () => {
    const zones = [
      'Europe/Paris',
      'America/New_York',
      'Australia/Sydney',
      'Asia/Tokyo',
      'America/Sao_Paulo',
      'Europe/London',
      'Australia/Lord_Howe', // a 30-minute change
    ];
    for (const zone of zones) {
      for (const time of ['00:00', '02:30', '23:59:59']) {
        it(`daily ${time} ${zone} 2024–2029: one occurrence per local day, at that time unless skipped`, () => {
          const all = occurrences(daily(zone, time), '2023-12-31T00:00:00Z', '2030-01-02T00:00:00Z')
            .map((iso) => DateTime.fromISO(iso, { zone }))
            .filter((local) => local.year >= 2024 && local.year <= 2029);
          const days = all.map((local) => local.toISODate());
          expect(new Set(days).size).toBe(days.length); // never twice a day
          expect(days.length).toBe(2192); // 6 years with 2 leap days: never a day skipped
          const [hour, minute] = time.split(':').map(Number);
          for (const local of all) {
            if (local.hour === hour && local.minute === minute) continue;
            // Only a skipped wall time moves, and only to the first instant after the jump.
            const justBefore = local.minus({ milliseconds: 1 });
            expect(local.offset).not.toBe(justBefore.offset);
            expect(local.hour * 60 + local.minute).toBeGreaterThan(hour * 60 + minute);
          }
        });
      }
    }
  });

  it('is strictly after the instant it is given', () => {
    const at = new Date('2026-03-28T08:00:00Z');
    expect(nextOccurrence(daily('Europe/Paris'), at)).toEqual(new Date('2026-03-29T07:00:00Z'));
    expect(nextOccurrence(daily('Europe/Paris'), new Date(at.getTime() - 1))).toEqual(at);
  });
});
