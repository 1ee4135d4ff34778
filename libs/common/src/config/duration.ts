const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses `900`, `30s`, `15m`, `12h`, `7d`, `1w` into seconds; null when malformed or not positive. */
export function parseDurationSeconds(value: string): number | null {
  const match = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : null;
}
