/** Shapes shared by the WPT runner's columns, report and expectations. */

/** testharness.js subtest statuses (Test.prototype.status codes 0..4). */
export type SubtestStatus = 'PASS' | 'FAIL' | 'TIMEOUT' | 'NOTRUN' | 'PRECONDITION_FAILED';
/** testharness.js harness statuses (0..3), plus CRASH when the isolate or process died. */
export type HarnessStatus = 'OK' | 'ERROR' | 'TIMEOUT' | 'PRECONDITION_FAILED' | 'CRASH';

export const SUBTEST_STATUS: SubtestStatus[] = ['PASS', 'FAIL', 'TIMEOUT', 'NOTRUN', 'PRECONDITION_FAILED'];
export const HARNESS_STATUS: HarnessStatus[] = ['OK', 'ERROR', 'TIMEOUT', 'PRECONDITION_FAILED'];

export interface Subtest {
  name: string;
  status: SubtestStatus;
  message: string | null;
}

export interface FileRun {
  harness: HarnessStatus;
  message: string | null;
  subtests: Subtest[];
  durationMs: number;
}

/** What the in-realm harness script answers (raw testharness codes). */
export interface RawRun {
  harness: { status: number; message: string | null };
  results: Array<{ name: string; status: number; message: string | null }>;
  loadErrors: string[];
}

/** The URL parts the worker-scope shim turns into `location`. */
export interface LocationParts {
  href: string;
  origin: string;
  protocol: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}

export function locationParts(url: URL): LocationParts {
  const { href, origin, protocol, host, hostname, port, pathname, search, hash } = url;
  return { href, origin, protocol, host, hostname, port, pathname, search, hash };
}

/** Turns the harness's raw codes into a FileRun; a script that threw at load makes the harness status ERROR, as in a worker. */
export function fromRaw(raw: RawRun, durationMs: number): FileRun {
  let harness: HarnessStatus = HARNESS_STATUS[raw.harness.status] ?? 'ERROR';
  let message = raw.harness.message;
  if (raw.loadErrors.length > 0) {
    if (harness === 'OK') harness = 'ERROR';
    message = `${message ? `${message}; ` : ''}uncaught: ${raw.loadErrors.join('; ')}`;
  }
  return {
    harness,
    message,
    subtests: raw.results.map((r) => ({ name: r.name, status: SUBTEST_STATUS[r.status] ?? 'FAIL', message: r.message })),
    durationMs,
  };
}

/** The URL a test is served from, as WPT's worker wrapper names it: `/dir/name.any.worker.js?variant`. */
export function testUrl(origin: string, path: string, variant: string): URL {
  return new URL(`/${path.replace(/\.any\.js$/, '.any.worker.js')}${variant}`, origin);
}
