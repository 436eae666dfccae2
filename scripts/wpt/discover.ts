/**
 * Finds the runnable web-platform-tests: every `*.any.js` under the WPT folder, one entry per
 * `// META: variant=`, with its `// META: script=` dependencies resolved and a skip reason for
 * the files a worker-like global cannot run (window-only globals, or a WPT HTTP server needed).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The areas the issue reports on, in table order; a file belongs to the first prefix it starts with. */
export const AREAS = ['url', 'encoding', 'streams', 'fetch/api', 'dom/abort', 'html/webappapis', 'FileAPI', 'xhr/formdata', 'WebCryptoAPI'] as const;
export type Area = (typeof AREAS)[number] | 'other';

export interface WptFile {
  /** `path` plus the variant's query, e.g. `url/url-constructor.any.js?include=file`: the key in results and expectations. */
  id: string;
  /** Path relative to the WPT root, with forward slashes. */
  path: string;
  /** The variant's query string (`?1-1000`), or '' when the file has none. */
  variant: string;
  area: Area;
  /** `META: timeout=long`. */
  long: boolean;
  title: string | null;
  /** Scripts to evaluate after testharness.js, in order, ending with the test file itself: WPT-root-relative paths. */
  scripts: string[];
  /** Why the file is not run; null when it runs. */
  skip: string | null;
}

export interface Meta {
  global: string[];
  scripts: string[];
  variants: string[];
  timeout: string | null;
  title: string | null;
}

/** The WPT folder: `SPILLWAY_WPT_DIR`, else `../shared/wpt` next to the repository. */
export function wptRoot(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(repoRoot, env.SPILLWAY_WPT_DIR ?? '../shared/wpt');
}

/** Throws a message that says what is missing and how to point the runner at it. */
export function assertWptRoot(root: string): void {
  if (!existsSync(join(root, 'resources', 'testharness.js'))) {
    throw new Error(
      `No web-platform-tests found at ${root} (expected ${join(root, 'resources', 'testharness.js')}). ` +
        'Copy the WPT subset there (see its README.md) or set SPILLWAY_WPT_DIR to the folder that holds it.',
    );
  }
}

export function parseMeta(source: string): Meta {
  const meta: Meta = { global: [], scripts: [], variants: [], timeout: null, title: null };
  for (const line of source.split('\n')) {
    const m = /^\/\/ META: *([a-z]+)=(.*)$/.exec(line.trim());
    if (!m) {
      // META lines form the file's header; stop at the first line that is neither META nor blank.
      if (line.trim() !== '' && !line.startsWith('//')) break;
      continue;
    }
    const [, key, raw] = m;
    const value = raw.trim();
    if (key === 'global') meta.global.push(...value.split(',').map((s) => s.trim()).filter(Boolean));
    else if (key === 'script') meta.scripts.push(value);
    else if (key === 'variant') meta.variants.push(value);
    else if (key === 'timeout') meta.timeout = value;
    else if (key === 'title') meta.title = value;
  }
  return meta;
}

export function areaOf(path: string): Area {
  for (const area of AREAS) if (path === area || path.startsWith(`${area}/`)) return area;
  return 'other';
}

function walk(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (entry.endsWith('.any.js')) out.push(full);
  }
  return out;
}

/** Whether a worker-scoped run applies: `META: global=` names worker or dedicatedworker (default window,dedicatedworker). */
function runsInWorker(globals: string[]): boolean {
  const list = globals.length === 0 ? ['window', 'dedicatedworker'] : globals;
  return list.some((g) => g === 'worker' || g === 'dedicatedworker');
}

/** A script referenced by META, as a WPT-root-relative path: absolute paths from the root, others from the test's folder. */
function resolveScript(testPath: string, script: string): string {
  const rel = script.startsWith('/') ? script.slice(1) : join(dirname(testPath), script).split(sep).join('/');
  // WPT serves the vendored webidl2 build under this name.
  return rel === 'resources/WebIDLParser.js' ? 'resources/webidl2/lib/webidl2.js' : rel;
}

/**
 * Helpers that mention a wptserve handler (`*.py`) only in functions no runnable file calls:
 * `requestForbiddenHeaders` in fetch/api/resources/utils.js fetches inspect-headers.py, and only
 * fetch/api/basic/request-forbidden-headers.any.js (not in the copy) uses it.
 */
const PY_MENTION_UNUSED = new Set(['fetch/api/resources/utils.js', 'resources/testharness.js']);

/** Why a file needs the WPT HTTP server (wptserve, whose handlers are not in this copy), or null. */
function needsWptServer(root: string, source: string, scripts: string[]): string | null {
  if (scripts.some((s) => s.endsWith('get-host-info.sub.js'))) return 'needs a WPT HTTP server: uses /common/get-host-info.sub.js (cross-origin hosts)';
  const py = /[\w./-]+\.py\b/.exec(source);
  if (py) return `needs a WPT HTTP server: fetches ${py[0]} (a wptserve handler, not in the copy)`;
  for (const s of scripts) {
    const full = join(root, s);
    if (PY_MENTION_UNUSED.has(s) || !existsSync(full)) continue;
    const helperPy = /[\w./-]+\.py\b/.exec(readFileSync(full, 'utf8'));
    if (helperPy) return `needs a WPT HTTP server: its helper ${s} fetches ${helperPy[0]} (a wptserve handler, not in the copy)`;
  }
  return null;
}

/** Lists the `*.any.js` files under `root` (optionally only those whose id contains one of `filters`), one entry per variant. */
export function discover(root: string, filters: string[] = []): WptFile[] {
  const files: WptFile[] = [];
  for (const full of walk(root, [])) {
    const path = relative(root, full).split(sep).join('/');
    const source = readFileSync(full, 'utf8');
    const meta = parseMeta(source);
    const scripts = meta.scripts.map((s) => resolveScript(path, s));
    let skip: string | null = null;
    if (!runsInWorker(meta.global)) skip = `global=${meta.global.join(',')}: needs a browser window or a ShadowRealm, not a worker scope`;
    skip ??= needsWptServer(root, source, scripts);
    const missing = scripts.find((s) => !existsSync(join(root, s)));
    if (!skip && missing) skip = `META script ${missing} is not in the WPT copy`;
    const variants = meta.variants.length > 0 ? meta.variants : [''];
    for (const variant of variants) {
      const id = `${path}${variant}`;
      if (filters.length > 0 && !filters.some((f) => id.includes(f))) continue;
      files.push({ id, path, variant, area: areaOf(path), long: meta.timeout === 'long', title: meta.title, scripts: [...scripts, path], skip });
    }
  }
  return files;
}
