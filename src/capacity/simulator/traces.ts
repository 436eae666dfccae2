/**
 * Load traces for the capacity simulator: request rate over time. Three built in (`steady`,
 * `diurnal`, `flash-crowd`) and recorded ones read from a file (a JSON array of {t, rps} or CSV
 * `t,rps`, t in seconds), validated with a message naming the file, the line or index, and what is
 * wrong. docs/capacity-simulation.md describes each trace.
 */
import { readFileSync } from 'node:fs';

export interface Trace {
  name: string;
  /** Seconds the trace lasts (it starts at 0). */
  durationS: number;
  /** Requests per second at `t` seconds into the trace. */
  rpsAt(t: number): number;
}

export class TraceError extends Error {}

const HOUR = 3600;
const MIN = 60;

/** Seed 000 §8.2's 100 TPS, held for 2 h: the baseline's bread and butter. */
export function steadyTrace(rps = 100, durationS = 2 * HOUR): Trace {
  return { name: 'steady', durationS, rpsAt: () => rps };
}

/** 24 h of a day's cycle: a cosine from `troughRps` at 04:00 to `peakRps` at 16:00 and back. */
export function diurnalTrace(troughRps = 30, peakRps = 200): Trace {
  const day = 24 * HOUR;
  return {
    name: 'diurnal',
    durationS: day,
    rpsAt: (t) => troughRps + ((peakRps - troughRps) * (1 - Math.cos((2 * Math.PI * (t - 4 * HOUR)) / day))) / 2,
  };
}

/**
 * A flash crowd: `baseRps` for 10 min, then 20× that within 10 s, held for 10 min, then an
 * exponential decay back to the base (time constant 5 min); 2 h in all.
 */
export function flashCrowdTrace(baseRps = 50, factor = 20): Trace {
  const rampAt = 10 * MIN;
  const rampS = 10;
  const holdS = 10 * MIN;
  const decayAt = rampAt + rampS + holdS;
  const tauS = 5 * MIN;
  const peak = baseRps * factor;
  return {
    name: 'flash-crowd',
    durationS: 2 * HOUR,
    rpsAt(t) {
      if (t < rampAt) return baseRps;
      if (t < rampAt + rampS) return baseRps + ((peak - baseRps) * (t - rampAt)) / rampS;
      if (t < decayAt) return peak;
      return baseRps + (peak - baseRps) * Math.exp(-(t - decayAt) / tauS);
    },
  };
}

export const BUILT_IN_TRACES: Readonly<Record<string, () => Trace>> = Object.freeze({
  steady: () => steadyTrace(),
  diurnal: () => diurnalTrace(),
  'flash-crowd': () => flashCrowdTrace(),
});

export interface TracePoint {
  t: number;
  rps: number;
}

/** Points no more than this many, lasting no longer than 31 days (a replay must stay quick). */
const MAX_POINTS = 1_000_000;
const MAX_DURATION_S = 31 * 24 * HOUR;

/** A trace from recorded points: linear between them; time starts at the first point's t. */
export function traceFromPoints(name: string, points: TracePoint[]): Trace {
  const t0 = points[0]!.t;
  const ts = points.map((p) => p.t - t0);
  const rps = points.map((p) => p.rps);
  let cursor = 0;
  return {
    name,
    durationS: ts[ts.length - 1]!,
    rpsAt(t) {
      if (t <= 0) return rps[0]!;
      if (t >= ts[ts.length - 1]!) return rps[rps.length - 1]!;
      // Replays move forward; start from the last position, fall back to a search when not.
      if (ts[cursor]! > t) cursor = 0;
      while (ts[cursor + 1]! <= t) cursor++;
      const a = ts[cursor]!;
      const b = ts[cursor + 1]!;
      return rps[cursor]! + ((rps[cursor + 1]! - rps[cursor]!) * (t - a)) / (b - a);
    },
  };
}

/** Parses a recorded trace (JSON array of {t, rps}, or CSV `t,rps` with an optional header); `source` names it in errors. */
export function parseTrace(source: string, text: string): TracePoint[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new TraceError(`${source}: the file is empty; expected a JSON array of {"t": seconds, "rps": number} or CSV lines "t,rps"`);
  const points = trimmed.startsWith('[') || trimmed.startsWith('{') ? parseJson(source, trimmed) : parseCsv(source, trimmed);
  if (points.length < 2) throw new TraceError(`${source}: has ${points.length} point(s); a trace needs at least 2`);
  if (points.length > MAX_POINTS) throw new TraceError(`${source}: has ${points.length} points; at most ${MAX_POINTS}`);
  const span = points[points.length - 1]!.t - points[0]!.t;
  if (span > MAX_DURATION_S) throw new TraceError(`${source}: lasts ${span} s; at most ${MAX_DURATION_S} s (31 days)`);
  return points;
}

function checkPoint(where: string, t: unknown, rps: unknown, previousT: number | undefined): TracePoint {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new TraceError(`${where}: t must be a finite number of seconds ≥ 0, got ${JSON.stringify(t) ?? String(t)}`);
  if (typeof rps !== 'number' || !Number.isFinite(rps) || rps < 0) throw new TraceError(`${where}: rps must be a finite number ≥ 0, got ${JSON.stringify(rps) ?? String(rps)}`);
  if (previousT !== undefined && t <= previousT) throw new TraceError(`${where}: t must increase, got ${t} after ${previousT}`);
  return { t, rps };
}

function parseJson(source: string, text: string): TracePoint[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TraceError(`${source}: not valid JSON (${(err as Error).message}); expected an array of {"t": seconds, "rps": number}`);
  }
  if (!Array.isArray(json)) throw new TraceError(`${source}: expected a JSON array of {"t": seconds, "rps": number}, got ${json === null ? 'null' : typeof json}`);
  const out: TracePoint[] = [];
  json.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new TraceError(`${source}: [${i}] must be an object {"t": seconds, "rps": number}, got ${JSON.stringify(item)}`);
    const { t, rps } = item as Record<string, unknown>;
    out.push(checkPoint(`${source}: [${i}]`, t, rps, out[out.length - 1]?.t));
  });
  return out;
}

function parseCsv(source: string, text: string): TracePoint[] {
  const out: TracePoint[] = [];
  let first = true;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const where = `${source}: line ${i + 1}`;
    if (line === '' || line.startsWith('#')) return;
    const header = first && /^t\s*,\s*rps$/i.test(line);
    first = false;
    if (header) return;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== 2) throw new TraceError(`${where}: expected "t,rps", got ${JSON.stringify(raw)}`);
    const num = (c: string) => (c === '' || Number.isNaN(Number(c)) ? c : Number(c));
    out.push(checkPoint(where, num(cells[0]!), num(cells[1]!), out[out.length - 1]?.t));
  });
  return out;
}

/** A built-in trace by name, or a recorded one from a file path; throws TraceError with a clear message. */
export function loadTrace(nameOrPath: string): Trace {
  if (Object.hasOwn(BUILT_IN_TRACES, nameOrPath)) return BUILT_IN_TRACES[nameOrPath]!();
  let text: string;
  try {
    text = readFileSync(nameOrPath, 'utf8');
  } catch (err) {
    const known = Object.keys(BUILT_IN_TRACES).join(', ');
    throw new TraceError(`${nameOrPath}: not a built-in trace (${known}) and not a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const name = nameOrPath.replace(/^.*[\\/]/, '').replace(/\.(json|csv)$/i, '');
  return traceFromPoints(name, parseTrace(nameOrPath, text));
}
