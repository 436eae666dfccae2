/**
 * One JSON line per event on stdout/stderr, for the work that happens outside a request (the
 * execution worker, the recorder, the capacity controller), in the shape Fastify's pino writes for
 * requests: `{"level":"error","time":"…","msg":"…", …fields}`. Stable fields: `level`, `time`
 * (ISO-8601), `msg`, and for failures `err: { message, code?, stack? }`. Honours the configured
 * level (SPILLWAY_LOG_LEVEL), so tests stay silent.
 */

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LogLevel = keyof typeof LEVELS;

export interface JsonLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** `err` as plain JSON: message, code (a SpillwayError's or a system error's) and stack. */
export function serializeError(err: unknown): { message: string; code?: string; stack?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { message: String(err) };
}

export function jsonLogger(level: LogLevel, write: (line: string, level: LogLevel) => void = defaultWrite): JsonLogger {
  const threshold = LEVELS[level];
  const emit = (at: 'info' | 'warn' | 'error') => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LEVELS[at] < threshold) return;
    write(JSON.stringify({ level: at, time: new Date().toISOString(), msg, ...fields }), at);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function defaultWrite(line: string, level: LogLevel): void {
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
}
