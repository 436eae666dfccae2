/**
 * Shared plumbing for the benchmarks: servers in their own child processes (Spillway, bare
 * node:http, workerd), the autocannon load generator in its own child process, markdown tables
 * and JSON results. All traffic goes to 127.0.0.1; every child is killed when its benchmark ends
 * and every wait is bounded in time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where results go: bench/results, or BENCH_RESULTS_DIR (e.g. to keep a run of another commit apart). */
export const RESULTS_DIR = resolve(process.env.BENCH_RESULTS_DIR || join(ROOT, 'bench', 'results'));
const LOAD_SCRIPT = join(ROOT, 'bench', 'lib', 'load.mjs');
const CROWD_SCRIPT = join(ROOT, 'bench', 'lib', 'crowd.mjs');
const NODE_SERVER_SCRIPT = join(ROOT, 'bench', 'lib', 'node-server.mjs');

/**
 * The Spillway tree whose `src/main.ts` the benchmarks start: this checkout, or the folder in
 * BENCH_SPILLWAY_ROOT (e.g. a `git worktree` of a commit, with node_modules linked), so a run can
 * measure a committed state while this checkout's src/ is being edited.
 */
export const SPILLWAY_ROOT = resolve(process.env.BENCH_SPILLWAY_ROOT || ROOT);

/** Which code was measured: the root, its git commit and whether its src/ differs from that commit. */
export function treeInfo(): { root: string; commit: string | null; srcDirty: boolean | null } {
  const git = (...a: string[]) => execFileSync('git', ['-C', SPILLWAY_ROOT, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { root: SPILLWAY_ROOT, commit: git('rev-parse', 'HEAD'), srcDirty: git('status', '--porcelain', '--', 'src').length > 0 };
  } catch {
    const marker = join(SPILLWAY_ROOT, '.bench-commit');
    return { root: SPILLWAY_ROOT, commit: existsSync(marker) ? readFileSync(marker, 'utf8').trim() : null, srcDirty: null };
  }
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Last few KB of stderr and stdout, for error reports. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Raise the open-files limit of the child (through `bash -c 'ulimit -n …; exec …'`). */
  nofile?: number;
}

/** Starts a child process; with `nofile`, through bash so `ulimit -n` applies to it. */
export function spawnChild(cmd: string, args: string[], options: SpawnOptions = {}): Child {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  let proc: ChildProcess;
  if (options.nofile) {
    // Try the asked limit; if the hard limit is lower, take the hard limit. Print what we got.
    const script = `ulimit -n ${options.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; echo "NOFILE $(ulimit -n)"; exec "$@"`;
    proc = spawn('bash', ['-c', script, 'bash', cmd, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    proc = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  let buffer = '';
  const keep = (chunk: Buffer) => {
    buffer += chunk.toString();
    if (buffer.length > 16_384) buffer = buffer.slice(-8192);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    proc,
    pid: proc.pid ?? -1,
    tail: () => buffer.slice(-4000),
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits for a line of stdout matching `re`; rejects on exit or after `timeoutMs`. */
export function waitForLine(child: Child, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = seen.match(re);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`process exited (code ${code}, signal ${signal}) before printing ${re}: ${child.tail()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no line matching ${re} within ${timeoutMs} ms: ${child.tail()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.proc.stdout!.off('data', onData);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout!.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

/** A free TCP port on 127.0.0.1 (bound then released; fine for a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

export interface Server {
  base: string;
  child: Child;
  /** Open-files limit the server process got (when `nofile` was asked). */
  nofile: number | null;
  close(): Promise<void>;
}

export interface SpillwayOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  nofile?: number;
  /** Preload bench/lib/spillway-probe.ts (reports cold starts and memory on stdout; see there) and run with --expose-gc. */
  probe?: boolean;
  /** Use this data folder (and keep it on close) instead of a fresh temporary one. */
  dataDir?: string;
  /** Run `src/main.ts` of this tree instead of SPILLWAY_ROOT (bench/compare-trees.ts). */
  root?: string;
}

const PROBE_SCRIPT = join(ROOT, 'bench', 'lib', 'spillway-probe.ts');

/** `src/main.ts` in its own process, as in production, with a fresh data folder. */
export async function startSpillway(options: SpillwayOptions = {}): Promise<Server> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'spillway-bench-')));
  const removeDir = () => (ownDir ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  const env: Record<string, string | undefined> = {};
  // Unknown SPILLWAY_* settings are rejected at start-up; start from a clean slate.
  for (const key of Object.keys(process.env)) if (key.startsWith('SPILLWAY_')) env[key] = undefined;
  // One worker, no burst tier, unless a benchmark asks: the issue 3 benchmarks measure the runtime
  // itself; bench/flash-crowd.ts sets the tiers it compares.
  Object.assign(env, { PORT: '0', SPILLWAY_DATA_DIR: dataDir, SPILLWAY_LOG_LEVEL: 'warn', SPILLWAY_BASELINE_WORKERS: '1', SPILLWAY_BURST_TIER: 'off', ...options.env });
  const root = options.root ? resolve(options.root) : SPILLWAY_ROOT;
  if (options.probe) env.BENCH_SPILLWAY_ROOT = root;
  const probeArgs = options.probe ? ['--expose-gc', '--import', pathToFileURL(PROBE_SCRIPT).href] : [];
  const child = spawnChild(process.execPath, ['--no-node-snapshot', '--import', 'tsx', ...probeArgs, ...(options.nodeArgs ?? []), join(root, 'src', 'main.ts')], { env, cwd: root, nofile: options.nofile });
  const nofile = options.nofile ? waitForLine(child, /NOFILE (\d+)/, 10_000).then((m) => Number(m[1])) : Promise.resolve(null);
  try {
    const m = await waitForLine(child, /API at (http:\/\/127\.0\.0\.1:\d+)\/api/, 30_000);
    return {
      base: m[1],
      child,
      nofile: await nofile,
      async close() {
        await child.stop(10_000);
        await removeDir();
      },
    };
  } catch (err) {
    await child.stop();
    await removeDir();
    throw err;
  }
}

/** Calls `onLine` with the JSON of every `PROBE <tag> {…}` line the server prints (needs `probe: true`). */
export function onProbe(server: Server, tag: string, onLine: (data: any) => void): () => void {
  let pending = '';
  const re = new RegExp(`^PROBE ${tag} (\\{.*\\})$`);
  const onData = (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = line.match(re);
      if (m) onLine(JSON.parse(m[1]));
    }
  };
  server.child.proc.stdout!.on('data', onData);
  return () => server.child.proc.stdout!.off('data', onData);
}

/** Asks the probe for its batch counters since the last ask (SIGWINCH), and resets them. */
export async function probeBatches(server: Server, timeoutMs = 10_000): Promise<any> {
  let off = () => {};
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PROBE batches line within ${timeoutMs} ms`)), timeoutMs);
      off = onProbe(server, 'batches', (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      server.child.proc.kill('SIGWINCH');
    });
  } finally {
    off();
  }
}

/** Asks the probe for a memory report (SIGUSR2: GC, then VmRSS, Node heap, isolates' V8 heaps). */
export async function probeMemory(server: Server, timeoutMs = 10_000): Promise<any> {
  let off = () => {};
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PROBE mem line within ${timeoutMs} ms`)), timeoutMs);
      off = onProbe(server, 'mem', (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      server.child.proc.kill('SIGUSR2');
    });
  } finally {
    off();
  }
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM…), NaN when unreadable. */
export function procStatusKb(pid: number, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat; NaN when unreadable. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
const CLK_TCK = 100;

/** Bare node:http in its own process: `hello` answers at once, `timer` after a 50 ms timer. */
export async function startNodeHttp(mode: 'hello' | 'timer', options: { nofile?: number } = {}): Promise<Server> {
  const child = spawnChild(process.execPath, [NODE_SERVER_SCRIPT], { env: { MODE: mode }, nofile: options.nofile });
  const nofile = options.nofile ? waitForLine(child, /NOFILE (\d+)/, 10_000).then((m) => Number(m[1])) : Promise.resolve(null);
  try {
    const m = await waitForLine(child, /LISTENING (\d+)/, 10_000);
    return { base: `http://127.0.0.1:${m[1]}`, child, nofile: await nofile, close: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

export const WORKERD_BIN = join(ROOT, 'node_modules', 'workerd', 'bin', 'workerd');

/**
 * Cloudflare's workerd serving one ES-module worker, from a capnp config in a temp folder.
 * Throws an Error whose message says why when workerd is missing or does not come up.
 */
export async function startWorkerd(workerSource: string, options: { nofile?: number } = {}): Promise<Server> {
  if (!existsSync(WORKERD_BIN)) throw new Error(`workerd is not installed (${WORKERD_BIN} is missing); run \`npm install\` (it is a devDependency).`);
  const dir = await mkdtemp(join(tmpdir(), 'spillway-bench-workerd-'));
  const port = await freePort();
  await writeFile(join(dir, 'worker.js'), workerSource);
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .mainWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const mainWorker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.js") ],
  compatibilityDate = "2024-09-23",
);
`,
  );
  const child = spawnChild(WORKERD_BIN, ['serve', join(dir, 'config.capnp')], { cwd: dir, nofile: options.nofile });
  const nofile = options.nofile ? waitForLine(child, /NOFILE (\d+)/, 10_000).then((m) => Number(m[1])) : Promise.resolve(null);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) break;
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(1000) });
      await res.text();
      if (res.ok) {
        return {
          base,
          child,
          nofile: await nofile,
          async close() {
            await child.stop();
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = String((err as Error).cause ?? err);
    }
    await sleep(100);
  }
  const why = child.proc.exitCode !== null ? `workerd exited with code ${child.proc.exitCode}` : `workerd did not answer on ${base} within 15 s (${lastError})`;
  await child.stop();
  await rm(dir, { recursive: true, force: true });
  throw new Error(`${why}: ${child.tail().trim() || '(no output)'}`);
}

// ---------------------------------------------------------------------------------------------
// Load

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  warmupS?: number;
  pipelining?: number;
  timeoutS?: number;
  /** Open-files limit for the load generator process. */
  nofile?: number;
}

export interface LoadResult {
  url: string;
  connections: number;
  pipelining: number;
  durationS: number;
  total: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  reqPerSec: number;
  reqPerSecAvg: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  bytesPerSec: number;
  /** CPU the load generator (autocannon, one process) used during the measured run, % of one core. */
  loadGenCpuPct: number;
}

/** Runs autocannon in its own process and returns its summary. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { nofile, ...rest } = options;
  const child = spawnChild(process.execPath, [LOAD_SCRIPT, JSON.stringify(rest)], { nofile });
  const limitMs = ((options.warmupS ?? 0) + options.durationS + 40) * 1000;
  try {
    const m = await waitForLine(child, /RESULT (\{.*\})\n/, limitMs);
    return JSON.parse(m[1]) as LoadResult;
  } finally {
    await child.stop();
  }
}

export interface CrowdPhase {
  name: string;
  /** Offered load, requests per second (open model). */
  rate: number;
  durationS: number;
}

export interface CrowdPhaseResult extends CrowdPhase {
  total: number;
  reqPerSec: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statuses: Record<string, number>;
  tiers: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/** Runs bench/lib/crowd.mjs (evenly spaced arrivals at a fixed rate per phase, over undici) in its own process. */
export async function runCrowd(options: { url: string; phases: CrowdPhase[]; connections?: number }): Promise<CrowdPhaseResult[]> {
  const child = spawnChild(process.execPath, [CROWD_SCRIPT, JSON.stringify(options)]);
  const limitMs = (options.phases.reduce((n, p) => n + p.durationS, 0) + 70) * 1000;
  try {
    const m = await waitForLine(child, /RESULT (\{.*\})\n/, limitMs);
    return (JSON.parse(m[1]) as { phases: CrowdPhaseResult[] }).phases;
  } finally {
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function round(n: number, digits = 2): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmtPct(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%` : 'n/a';
}

export function markdownTable(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Whole-machine CPU busy over `ms` (from /proc/stat), % of all cores: what else is running. */
export async function machineBusyPct(ms = 2000): Promise<number> {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await sleep(ms);
    const b = read();
    return round((1 - (b.idle - a.idle) / Math.max(1, b.total - a.total)) * 100, 1);
  } catch {
    return NaN;
  }
}

/** Waits (up to `maxS`) until the machine is quiet: busy below `thresholdPct` for three windows of 2 s in a row. Returns the last reading. */
export async function waitForQuiet(maxS: number, thresholdPct = 10): Promise<{ busyPct: number; waitedS: number; quiet: boolean }> {
  const t = Date.now();
  let streak = 0;
  let busy = NaN;
  do {
    busy = await machineBusyPct(2000);
    streak = busy < thresholdPct ? streak + 1 : 0;
    if (streak >= 3) return { busyPct: busy, waitedS: round((Date.now() - t) / 1000, 0), quiet: true };
  } while ((Date.now() - t) / 1000 < maxS);
  return { busyPct: busy, waitedS: round((Date.now() - t) / 1000, 0), quiet: false };
}

export function machine(): Record<string, unknown> {
  return { node: process.versions.node, v8: process.versions.v8, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: round(totalmem() / 2 ** 30, 1), platform: process.platform };
}

/** The machine's busy % measured by run-all just before this benchmark (BENCH_MACHINE_BUSY_PCT), if any. */
function busyBefore(): { machineBusyPctBefore?: number } {
  const v = Number(process.env.BENCH_MACHINE_BUSY_PCT);
  return process.env.BENCH_MACHINE_BUSY_PCT && Number.isFinite(v) ? { machineBusyPctBefore: v } : {};
}

/** Writes `bench/results/<name>.json` and `bench/results/<name>.md`; returns the JSON path. */
export function writeResults(name: string, data: Record<string, unknown>, markdown: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: machine(), tree: treeInfo(), ...busyBefore(), ...data }, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), `${markdown.trim()}\n`);
  return path;
}

/** JSON API call against a Spillway base URL. */
export async function api<T = any>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: { success: boolean; data: T; error?: { code: string; message: string } } }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : (undefined as never) };
}

/** Deploys a function; throws on anything but 201. */
export async function deploy(base: string, name: string, code: string, config: Record<string, number> = {}): Promise<any> {
  const res = await api(base, 'POST', '/api/functions', { name, code, config });
  if (res.status !== 201) throw new Error(`deploy ${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** `--name=value` and `--flag` command-line options as a map (a bare flag maps to ''). */
export function parseFlags(argv: string[] = process.argv.slice(2)): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = arg.match(/^--([^=]+)(?:=(.*))?$/);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}; options look like --name=value`);
    flags.set(m[1], m[2] ?? '');
  }
  return flags;
}

/** A numeric flag, or its default; throws on a value that is not a number. */
export function numFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`--${name}=${raw} is not a number`);
  return n;
}

/** True when this module is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(metaUrl) === process.argv[1];
}
