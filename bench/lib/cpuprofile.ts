/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per area
 * (Spillway source, each npm package, Node internals, GC, idle).
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  top: Array<{ functionName: string; where: string; selfMs: number; selfPct: number }>;
  areas: Array<{ area: string; selfMs: number; pctOfBusy: number }>;
}

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  const short = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.replace(/^.*\/(src|bench|test)\//, '$1/');
  return `${short}:${frame.lineNumber + 1}`;
}

function area(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (frame.functionName === '(idle)') return '(idle)';
  if (frame.functionName === '(garbage collector)') return '(garbage collector)';
  if (frame.functionName === '(program)') return '(program: native, not attributed)';
  if (!url) return '(native / builtins)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = url.match(/\/(src\/[^/]+(?:\/[^/]+)?)\//);
  return m ? m[1] : url;
}

export function summarizeCpuProfile(profile: CpuProfile, topN = 20): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    // timeDeltas[i] is the time since the previous sample; attribute the next delta to this sample.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fnTotals = new Map<string, { functionName: string; where: string; us: number }>();
  const areaTotals = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const f = node.callFrame;
    if (f.functionName === '(idle)') idleUs += us;
    const key = `${f.functionName}@${f.url}:${f.lineNumber}:${f.columnNumber}`;
    const entry = fnTotals.get(key) ?? { functionName: f.functionName || '(anonymous)', where: where(f), us: 0 };
    entry.us += us;
    fnTotals.set(key, entry);
    const a = area(f);
    areaTotals.set(a, (areaTotals.get(a) ?? 0) + us);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const top = [...fnTotals.values()]
    .filter((e) => e.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ functionName: e.functionName, where: e.where, selfMs: Math.round(e.us / 100) / 10, selfPct: Math.round((e.us / busyUs) * 1000) / 10 }));
  const areas = [...areaTotals.entries()]
    .filter(([a]) => a !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([a, us]) => ({ area: a, selfMs: Math.round(us / 100) / 10, pctOfBusy: Math.round((us / busyUs) * 1000) / 10 }));
  return { totalMs: Math.round(totalUs / 1000), busyMs: Math.round(busyUs / 1000), top, areas };
}
