/**
 * Small helpers the scaling controllers share: the words of a scaling event's reason ("CPU 91% >
 * 85%", "5 min") and the check that a metric a controller is handed is a usable number.
 */

/** A percentage as people write it: at most one decimal ("85.1", "91"). */
export function formatPct(value: number): string {
  return `${Number(value.toFixed(1))}%`;
}

/** `value` as a percentage with enough decimals (up to 3) to read as different from `threshold`: "75.04%" rather than "75%" for 75.04 > 75. */
export function formatPctVersus(value: number, threshold: number): string {
  for (let digits = 1; digits <= 3; digits++) {
    const shown = Number(value.toFixed(digits));
    if (shown !== Number(threshold.toFixed(digits)) || digits === 3) return `${shown}%`;
  }
  return formatPct(value);
}

/** A duration in the largest whole units: "30 s", "5 min", "1 h 30 min", "1500 ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60 || s % 60 !== 0) return `${s} s`;
  const min = s / 60;
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  return rest === 0 ? `${h} h` : `${h} h ${rest} min`;
}

/** A value as an error message shows it: numbers as they print (NaN, -1), strings quoted, the rest as JSON where possible. */
export function showValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Throws a TypeError naming `name` unless `value` is a finite number ≥ 0. */
export function requireMetric(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name}: got ${showValue(value)}, must be a finite number ≥ 0`);
  return value;
}

/** Throws a TypeError naming `name` unless `value` is an integer ≥ 0. */
export function requireCount(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new TypeError(`${name}: got ${showValue(value)}, must be an integer ≥ 0`);
  return value;
}
