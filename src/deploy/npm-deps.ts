/**
 * npm dependencies of a function, installed at deploy with the real npm.
 *
 * A function declares what it needs the way any JavaScript project does: a `package.json` among
 * its uploaded files with `dependencies` (and, optionally, a `package-lock.json` that pins them).
 * Spillway accepts registry packages only (versions, ranges, dist-tags and `npm:` aliases; no git,
 * file, link or URL specs), normalises the set, and installs it once per distinct set into
 * `<dir>/<sha256 of the set>/node_modules` with `npm install --ignore-scripts` (install scripts
 * never run). The bundler then resolves bare imports from there. Installs are bounded in time and
 * in bytes; concurrent deploys of the same set wait for one install; a finished install appears
 * under its key atomically (installed in a scratch folder, then renamed), so a crash or a failed
 * install never leaves a half-filled set that later deploys would reuse.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, lstat, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpillwayError } from '../core/errors.js';

/** A normalised, validated dependency set, ready to install. */
export interface DependencySet {
  /** Package name → registry spec, sorted by name. */
  dependencies: Record<string, string>;
  /** The uploaded `package-lock.json`, stripped of anything but registry versions and integrity; null without one. */
  lockfile: Record<string, unknown> | null;
  /** SHA-256 (hex) of the normalised set: the cache folder's name. */
  key: string;
}

export interface InstalledDependencies {
  key: string;
  /** Folder holding `package.json` and `node_modules/`. */
  dir: string;
  nodeModules: string;
  /** True when an earlier install of the same set was reused. */
  reused: boolean;
  /** Bytes under `node_modules/`. */
  bytes: number;
}

export interface NpmInstallerOptions {
  /** Cache folder; each dependency set gets `<dir>/<key>/`. */
  dir: string;
  /** Longest an install may run before it is killed, ms. */
  timeoutMs: number;
  /** Largest `node_modules/` an install may produce, bytes. */
  maxBytes: number;
  /** Registry URL; default: npm's own configuration. */
  registry?: string;
  /** The npm executable; default `npm` on PATH. */
  npmCommand?: string;
}

export const MAX_DEPENDENCIES = 100;
/** Bump to make every cached install stale (a change in how sets are installed). */
const LAYOUT_VERSION = 1;
const NAME = /^(?:@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*$/i;
/** Versions, ranges and dist-tags: no "/", ":", "#" or "@", so never a path, URL, git or alias spec. */
const REGISTRY_SPEC = /^[\w.*^~<>=|+ -]{0,256}$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[\w.-]+)?(?:\+[\w.-]+)?$/;
const LOCK_KEY = /^(?:node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/?)+$/;
/** npm error codes that mean the registry could not be reached, not that the request was wrong. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_SOCKET_TIMEOUT', 'EPIPE', 'FETCH_ERROR', 'E500', 'E502', 'E503', 'E504']);

function invalid(message: string): SpillwayError {
  return new SpillwayError('VALIDATION_FAILED', message);
}

function parseJsonFile(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`${name}: not valid JSON (${(err as Error).message}).`);
  }
}

function checkSpec(name: string, spec: unknown): string {
  const where = `package.json dependencies["${name}"]`;
  if (typeof spec !== 'string') throw invalid(`${where}: must be a version string, got ${JSON.stringify(spec)}.`);
  const trimmed = spec.trim();
  const alias = /^npm:((?:@[^/@]+\/)?[^/@]+)(?:@(.*))?$/.exec(trimmed);
  if (alias) {
    if (!NAME.test(alias[1]) || alias[1].length > 214) throw invalid(`${where}: "${spec}" aliases "${alias[1]}", which is not a valid npm package name.`);
    if (!REGISTRY_SPEC.test(alias[2] ?? '')) throw invalid(`${where}: "${spec}" has an invalid version range after the alias.`);
    return trimmed;
  }
  if (!REGISTRY_SPEC.test(trimmed)) {
    throw invalid(
      `${where}: "${spec}" is not a registry version; only versions, ranges, dist-tags and "npm:" aliases of registry packages are installed (no git, file, link or URL dependencies).`,
    );
  }
  return trimmed;
}

/** Keeps only what npm needs from a lockfile to pin registry versions: name, version, integrity and the dependency edges. */
function sanitizeLockfile(raw: unknown, dependencies: Record<string, string>): Record<string, unknown> {
  const lock = raw as { lockfileVersion?: unknown; packages?: Record<string, Record<string, unknown>> } | null;
  if (!lock || typeof lock !== 'object') throw invalid('package-lock.json: must be a JSON object.');
  if (lock.lockfileVersion !== 2 && lock.lockfileVersion !== 3) {
    throw invalid(`package-lock.json: lockfileVersion ${JSON.stringify(lock.lockfileVersion)} is not supported; regenerate it with npm 7 or later (lockfileVersion 2 or 3).`);
  }
  if (!lock.packages || typeof lock.packages !== 'object') throw invalid('package-lock.json: has no "packages" section.');
  const packages: Record<string, unknown> = { '': { name: 'spillway-function-deps', dependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') continue;
    const where = `package-lock.json packages["${path}"]`;
    if (!LOCK_KEY.test(path) || path.split('/').includes('..')) throw invalid(`${where}: not a node_modules path; only registry packages can be locked.`);
    if (!entry || typeof entry !== 'object') throw invalid(`${where}: must be an object.`);
    if (entry.link) throw invalid(`${where}: is a link to a local folder; only registry packages can be installed.`);
    if (typeof entry.version !== 'string' || !EXACT_VERSION.test(entry.version)) {
      throw invalid(`${where}: version ${JSON.stringify(entry.version)} is not a registry version (git, file and URL dependencies are not installed).`);
    }
    const clean: Record<string, unknown> = { version: entry.version };
    // `resolved` is dropped: npm fetches name@version from the configured registry and checks `integrity`.
    for (const field of ['name', 'integrity', 'dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'dev', 'optional', 'devOptional', 'peer', 'license', 'engines']) {
      if (entry[field] !== undefined) clean[field] = entry[field];
    }
    if (clean.name !== undefined && (typeof clean.name !== 'string' || !NAME.test(clean.name))) throw invalid(`${where}: "name" is not a valid npm package name.`);
    packages[path] = clean;
  }
  return { name: 'spillway-function-deps', lockfileVersion: 3, requires: true, packages };
}

/**
 * Reads the dependency declaration among the uploaded files: null when there is no root
 * `package.json` or it declares no `dependencies`. Throws VALIDATION_FAILED naming the field.
 */
export function readDependencies(files: Record<string, string>): DependencySet | null {
  if (!('package.json' in files)) return null;
  const pkg = parseJsonFile('package.json', files['package.json']) as { dependencies?: unknown } | null;
  if (!pkg || typeof pkg !== 'object' || Array.isArray(pkg)) throw invalid('package.json: must be a JSON object.');
  if (pkg.dependencies === undefined) return null;
  if (!pkg.dependencies || typeof pkg.dependencies !== 'object' || Array.isArray(pkg.dependencies)) {
    throw invalid('package.json dependencies: must be an object mapping package names to versions.');
  }
  const names = Object.keys(pkg.dependencies).sort();
  if (names.length === 0) return null;
  if (names.length > MAX_DEPENDENCIES) throw invalid(`package.json dependencies: got ${names.length} packages, at most ${MAX_DEPENDENCIES} are allowed.`);
  const dependencies: Record<string, string> = {};
  for (const name of names) {
    if (!NAME.test(name) || name.length > 214) throw invalid(`package.json dependencies: "${name}" is not a valid npm package name.`);
    dependencies[name] = checkSpec(name, (pkg.dependencies as Record<string, unknown>)[name]);
  }
  const lockfile = 'package-lock.json' in files ? sanitizeLockfile(parseJsonFile('package-lock.json', files['package-lock.json']), dependencies) : null;
  const key = createHash('sha256').update(JSON.stringify({ v: LAYOUT_VERSION, dependencies, lockfile })).digest('hex');
  return { dependencies, lockfile, key };
}

/** Sums the sizes of the files under a folder (symlinks are not followed). */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue; // removed while we walked (npm moves folders during an install)
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) total += await lstat(path).then((s) => s.size, () => 0);
    }
  }
  return total;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

interface NpmFailure {
  code: string;
  summary: string;
  detail: string;
}

/** npm's reason, from its `--json` error object on stdout, else from the `npm error` lines on stderr. */
function npmFailure(stdout: string, stderr: string): NpmFailure {
  const at = stdout.indexOf('{');
  if (at >= 0) {
    try {
      const parsed = JSON.parse(stdout.slice(at)) as { error?: { code?: string; summary?: string; detail?: string } };
      if (parsed.error) return { code: String(parsed.error.code ?? 'UNKNOWN'), summary: String(parsed.error.summary ?? ''), detail: String(parsed.error.detail ?? '') };
    } catch {
      /* fall through to stderr */
    }
  }
  const lines = stderr.split('\n').filter((l) => l.startsWith('npm error') || l.startsWith('npm ERR!'));
  const code = /npm (?:error|ERR!) code (\S+)/.exec(stderr)?.[1] ?? 'UNKNOWN';
  const text = lines
    .filter((l) => !/ code \S+$|complete log of this run/.test(l))
    .map((l) => l.replace(/^npm (?:error|ERR!) ?/, ''))
    .join('\n')
    .trim();
  return { code, summary: text.split('\n')[0] ?? '', detail: text.split('\n').slice(1, 6).join('\n') };
}

/** Environment for npm: the server's, less what an outer `npm run` would leak into the install's configuration. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lower = k.toLowerCase();
    if (lower.startsWith('npm_package_') || lower.startsWith('npm_lifecycle_')) continue;
    if (['npm_config_prefix', 'npm_config_local_prefix', 'npm_config_global', 'npm_config_ignore_scripts', 'npm_config_omit', 'npm_config_include'].includes(lower)) continue;
    env[k] = v;
  }
  env.npm_config_update_notifier = 'false';
  return env;
}

/** Installs dependency sets with npm, once per set, into a cache folder. */
export class NpmInstaller {
  private readonly inflight = new Map<string, Promise<InstalledDependencies>>();

  constructor(private readonly options: NpmInstallerOptions) {}

  /** The folder of a set once installed (whether or not it is). */
  dirOf(key: string): string {
    return join(this.options.dir, key);
  }

  /**
   * Installs a set, or reuses an earlier install of it; concurrent calls for one set share one
   * install. Throws DEPENDENCY_INSTALL_FAILED (npm refused the set, or it is too large),
   * DEPENDENCY_INSTALL_TIMEOUT or DEPENDENCY_REGISTRY_UNREACHABLE.
   */
  install(set: DependencySet): Promise<InstalledDependencies> {
    const running = this.inflight.get(set.key);
    if (running) return running;
    const job = this.installOnce(set).finally(() => this.inflight.delete(set.key));
    this.inflight.set(set.key, job);
    return job;
  }

  private async installOnce(set: DependencySet): Promise<InstalledDependencies> {
    const dir = this.dirOf(set.key);
    const nodeModules = join(dir, 'node_modules');
    if (await exists(nodeModules)) return { key: set.key, dir, nodeModules, reused: true, bytes: await folderBytes(nodeModules) };

    const scratch = join(this.options.dir, '.partial', `${set.key}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(scratch, { recursive: true });
    try {
      await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'spillway-function-deps', private: true, dependencies: set.dependencies }, null, 2));
      if (set.lockfile) await writeFile(join(scratch, 'package-lock.json'), JSON.stringify(set.lockfile, null, 2));
      await this.runNpm(scratch);
      const bytes = await folderBytes(join(scratch, 'node_modules'));
      if (bytes > this.options.maxBytes) throw this.tooLarge(bytes);
      await mkdir(this.options.dir, { recursive: true });
      try {
        await rename(scratch, dir);
      } catch (err) {
        // Another process installed the same set first: use theirs.
        if (!(await exists(nodeModules))) throw err;
      }
      return { key: set.key, dir, nodeModules, reused: false, bytes };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private tooLarge(bytes: number): SpillwayError {
    return new SpillwayError(
      'DEPENDENCY_INSTALL_FAILED',
      `The dependencies in package.json install to more than ${this.options.maxBytes} bytes (got ${bytes} so far); depend on fewer or smaller packages, or raise SPILLWAY_NPM_MAX_INSTALL_BYTES.`,
      { maxBytes: this.options.maxBytes },
    );
  }

  private runNpm(cwd: string): Promise<void> {
    const args = ['install', '--ignore-scripts', '--omit=dev', '--no-audit', '--no-fund', '--json', '--no-bin-links', '--no-update-notifier', '--logs-max=0', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=5000', '--prefix', cwd];
    if (this.options.registry) args.push('--registry', this.options.registry);
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.options.npmCommand ?? 'npm', args, { cwd, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      let failure: SpillwayError | null = null;
      const keep = (buf: string, chunk: Buffer) => (buf + chunk.toString('utf8')).slice(-64 * 1024);
      child.stdout.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
      child.stderr.on('data', (c: Buffer) => (stderr = keep(stderr, c)));
      const kill = (err: SpillwayError) => {
        failure ??= err;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL'); // npm and anything it started, by process group
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(
        () =>
          kill(
            new SpillwayError(
              'DEPENDENCY_INSTALL_TIMEOUT',
              `npm did not finish installing the dependencies in package.json within ${this.options.timeoutMs} ms and was stopped; nothing was cached. Deploy again (a slow registry), depend on fewer packages, or raise SPILLWAY_NPM_INSTALL_TIMEOUT_MS.`,
              { timeoutMs: this.options.timeoutMs },
            ),
          ),
        this.options.timeoutMs,
      );
      // Watch the size while npm writes, so a huge set is stopped before it fills the disk.
      let measuring = false;
      const watchdog = setInterval(() => {
        if (measuring) return;
        measuring = true;
        folderBytes(join(cwd, 'node_modules'))
          .then((bytes) => {
            if (bytes > this.options.maxBytes) kill(this.tooLarge(bytes));
          })
          .finally(() => (measuring = false));
      }, 1000);
      const done = () => {
        clearTimeout(timer);
        clearInterval(watchdog);
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        done();
        reject(
          err.code === 'ENOENT'
            ? new SpillwayError('INTERNAL', `npm is not installed on this server ("${this.options.npmCommand ?? 'npm'}" was not found on PATH), so package.json dependencies cannot be installed.`)
            : err,
        );
      });
      child.on('close', (code) => {
        done();
        if (failure) return reject(failure);
        if (code === 0) return resolve();
        const f = npmFailure(stdout, stderr);
        const reason = [f.summary, f.detail].filter(Boolean).join('\n').trim() || `npm exited with code ${code}`;
        if (NETWORK_CODES.has(f.code)) {
          return reject(new SpillwayError('DEPENDENCY_REGISTRY_UNREACHABLE', `npm could not reach the package registry (${f.code}): ${reason}`, { npmCode: f.code }));
        }
        reject(new SpillwayError('DEPENDENCY_INSTALL_FAILED', `npm could not install the dependencies in package.json (${f.code}): ${reason}`, { npmCode: f.code }));
      });
    });
  }
}
