/**
 * Load Tester: runs a bounded load test inside the server (POST /api/load-tests) against one
 * function, shows its progress live (load_test_progress on /api/events) and its results.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api, ApiError, type FunctionRecord } from '../api.ts';
import { BarsChart, COLORS, TimeChart } from '../charts.tsx';
import { Async, Card, EmptyState, ErrorState, LiveIndicator, Loading, PageHeader, Stat, StatusBadge } from '../components.tsx';
import { fmtCost, fmtInt, fmtMs, fmtPct } from '../format.ts';
import { useApi, useStored, useThrottled } from '../hooks.ts';
import { useLive } from '../live.ts';

interface LoadTestProgress {
  elapsedS: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  reqPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

interface LoadTestResult {
  durationS: number;
  connections: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  sent: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  statusCounts: Record<string, number>;
  errorsByCode: Record<string, number>;
  tiers: Record<string, number>;
  stoppedEarly: boolean;
  executions?: {
    records: number;
    missing: number;
    coldStarts: number;
    cpuMs: number;
    wallMs: number;
    cpuToWall: number | null;
    costUsd: number;
    wallClockCostUsd: number;
    byStatus: Record<string, number>;
  };
}

interface LoadTestView {
  id: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  functionId: string;
  functionName: string;
  options: { concurrency: number; durationS?: number; requests?: number; rate?: number; method: string; path: string };
  url: string;
  startedAt: string;
  finishedAt: string | null;
  progress: LoadTestProgress | null;
  result: LoadTestResult | null;
  error: string | null;
}

interface Settings {
  fn: string;
  concurrency: number;
  mode: 'duration' | 'requests';
  durationS: number;
  requests: number;
  rate: string;
  method: string;
  path: string;
}

const DEFAULTS: Settings = { fn: '', concurrency: 10, mode: 'duration', durationS: 5, requests: 500, rate: '', method: 'GET', path: '/' };

function eventTestId(data: Record<string, unknown>): string | undefined {
  for (const key of ['id', 'testId', 'loadTestId']) if (typeof data[key] === 'string') return data[key] as string;
  return undefined;
}

export function LoadTesterPage() {
  const functions = useApi<FunctionRecord[]>('/api/functions');
  const [settings, setSettings] = useStored<Settings>('load-test', DEFAULTS);
  const [testId, setTestId] = useState<string | null>(null);
  const [startError, setStartError] = useState<ApiError | null>(null);
  const [history, setHistory] = useState<Array<{ t: number; rps: number; p50: number | null; p99: number | null }>>([]);
  const previous = useApi<LoadTestView[]>('/api/load-tests');
  // Coming back to the page: show the running test, or the latest one.
  useEffect(() => {
    if (testId || !previous.data || previous.data.length === 0) return;
    const latest = previous.data.find((x) => x.status === 'running') ?? [...previous.data].sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
    if (latest) setTestId(latest.id);
  }, [previous.data, testId]);
  const test = useApi<LoadTestView>(testId ? `/api/load-tests/${testId}` : null);
  const refresh = useThrottled(test.reload, 250);
  const running = test.data?.status === 'running';

  useLive(['load_test_progress', 'load_test_completed'], (m) => {
    const data = m.data as Record<string, unknown>;
    const id = eventTestId(data);
    if (!testId || (id !== undefined && id !== testId)) return;
    const p = (data.progress ?? data) as Partial<LoadTestProgress>;
    if (m.type === 'load_test_progress' && typeof p.reqPerSec === 'number') {
      setHistory((h) => [...h, { t: p.elapsedS ?? h.length + 1, rps: p.reqPerSec ?? 0, p50: p.p50Ms ?? null, p99: p.p99Ms ?? null }]);
    }
    refresh();
    if (m.type === 'load_test_completed') previous.reload();
  }, refresh);

  // Safety net if the live connection is down: poll while the test runs.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(refresh, 2000);
    return () => clearInterval(timer);
  }, [running, refresh]);

  const list = functions.data ?? [];
  const fn = settings.fn && list.some((f) => f.name === settings.fn) ? settings.fn : list[0]?.name ?? '';
  const set = <K extends keyof Settings>(key: K, value: Settings[K]) => setSettings({ ...settings, fn, [key]: value });

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setStartError(null);
    setHistory([]);
    const body: Record<string, unknown> = { function: fn, concurrency: settings.concurrency, method: settings.method, path: settings.path || '/' };
    if (settings.mode === 'duration') body.durationS = settings.durationS;
    else body.requests = settings.requests;
    if (settings.rate.trim()) body.rate = Number(settings.rate);
    try {
      const res = await api<{ id: string }>('/api/load-tests', { method: 'POST', body });
      setTestId(res.id);
    } catch (err) {
      setStartError(err as ApiError);
    }
  };
  const stop = async () => {
    if (!testId) return;
    try {
      await api(`/api/load-tests/${testId}`, { method: 'DELETE' });
    } catch (err) {
      setStartError(err as ApiError);
    }
    refresh();
  };

  return (
    <>
      <PageHeader title="Load Tester" subtitle="Drive a function with concurrent HTTP calls from inside the server, and see throughput, latency, errors, tiers and cost." actions={<LiveIndicator />} />
      <Card title="Test">
        <Async
          resource={functions}
          feature="Functions"
          empty={(l) =>
            l.length === 0 ? (
              <EmptyState title="No function to test" action={<Link className="btn btn-primary" to="/functions/new">Create a function</Link>}>
                Deploy a function first; the load tester calls it at /fn/&lt;name&gt;/.
              </EmptyState>
            ) : null
          }
        >
          {() => (
            <form className="form" onSubmit={start}>
              <div className="grid-4">
                <label className="field">
                  <span>Function</span>
                  <select aria-label="Function" value={fn} onChange={(e) => set('fn', e.target.value)}>
                    {list.map((f) => (
                      <option key={f.id} value={f.name}>
                        {f.name}
                      </option>
                    ))}
                  </select>
                </label>
                <label className="field">
                  <span>Concurrency <span className="muted">(connections, 1–200)</span></span>
                  <input aria-label="Concurrency" type="number" min={1} max={200} value={settings.concurrency} onChange={(e) => set('concurrency', Number(e.target.value))} />
                </label>
                <div className="field">
                  <span>Stop after</span>
                  <div className="input-group">
                    <select aria-label="Stop after" value={settings.mode} onChange={(e) => set('mode', e.target.value as Settings['mode'])}>
                      <option value="duration">seconds</option>
                      <option value="requests">requests</option>
                    </select>
                    {settings.mode === 'duration' ? (
                      <input aria-label="Duration (s)" type="number" min={1} max={60} value={settings.durationS} onChange={(e) => set('durationS', Number(e.target.value))} />
                    ) : (
                      <input aria-label="Requests" type="number" min={1} max={100000} value={settings.requests} onChange={(e) => set('requests', Number(e.target.value))} />
                    )}
                  </div>
                </div>
                <label className="field">
                  <span>Rate <span className="muted">(req/s, empty: as fast as possible)</span></span>
                  <input aria-label="Rate" type="number" min={1} max={5000} value={settings.rate} onChange={(e) => set('rate', e.target.value)} placeholder="unlimited" />
                </label>
              </div>
              <div className="invoke-line">
                <select aria-label="Method" value={settings.method} onChange={(e) => set('method', e.target.value)}>
                  {['GET', 'POST', 'PUT', 'DELETE'].map((m) => (
                    <option key={m}>{m}</option>
                  ))}
                </select>
                <span className="invoke-prefix mono">/fn/{fn}</span>
                <input aria-label="Path" className="mono" value={settings.path} onChange={(e) => set('path', e.target.value)} placeholder="/" />
                {running ? (
                  <button type="button" className="btn btn-danger" onClick={stop}>
                    Stop
                  </button>
                ) : (
                  <button type="submit" className="btn btn-primary" disabled={!fn}>
                    Start load test
                  </button>
                )}
              </div>
              <p className="muted small">Bounded by the server: at most 200 connections, 60 s, one test at a time; its calls pass the rate limiter like any client's.</p>
            </form>
          )}
        </Async>
        {startError ? <ErrorState error={startError} feature="Load tests" /> : null}
      </Card>
      {previous.error?.notAvailable ? (
        <ErrorState error={previous.error} feature="The load tester" />
      ) : testId ? (
        <Async resource={test} feature="Load test">
          {(t) => <TestView t={t} history={history} />}
        </Async>
      ) : (
        <Card>
          {previous.data === undefined && !previous.error ? <Loading label="Loading load tests…" rows={1} /> : <EmptyState title="No test run yet">Choose a function and start a test; progress streams in live and the results stay here.</EmptyState>}
        </Card>
      )}
    </>
  );
}

function TestView({ t, history }: { t: LoadTestView; history: Array<{ t: number; rps: number; p50: number | null; p99: number | null }> }) {
  const p = t.progress;
  const r = t.result;
  const planned = t.options.durationS ? `${t.options.durationS} s` : `${fmtInt(t.options.requests)} requests`;
  const fraction = p ? (t.options.durationS ? p.elapsedS / t.options.durationS : t.options.requests ? p.requests / t.options.requests : 0) : 0;
  return (
    <>
      <Card
        title={
          <>
            {t.functionName} · {t.options.concurrency} connections · {planned}
            {t.options.rate ? ` at ${t.options.rate} req/s` : ''}
          </>
        }
        actions={<StatusBadge status={t.status} />}
      >
        {t.status === 'running' ? (
          <div data-testid="load-progress">
            <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(Math.min(1, fraction) * 100)}>
              <div style={{ width: `${Math.min(100, fraction * 100)}%` }} />
            </div>
            <p>
              {p ? (
                <>
                  {fmtInt(p.requests)} requests in {p.elapsedS.toFixed(0)} s · {fmtInt(p.reqPerSec)} req/s now · p50 {fmtMs(p.p50Ms)} · p99 {fmtMs(p.p99Ms)} · {fmtInt(p.non2xx + p.errors)} failed
                </>
              ) : (
                'Starting the load generator…'
              )}
            </p>
          </div>
        ) : null}
        {t.error ? <p className="error-text">{t.error}</p> : null}
        {history.length > 1 ? (
          <TimeChart
            data={history.map((h) => ({ t: `${h.t.toFixed(0)} s`, rps: h.rps, p99: h.p99 ?? 0 }))}
            x="t"
            height={200}
            series={[
              { key: 'rps', label: 'req/s', color: COLORS.blue, format: fmtInt },
              { key: 'p99', label: 'p99 (ms)', color: COLORS.violet, format: fmtMs },
            ]}
          />
        ) : null}
        {r ? <Results r={r} /> : t.status !== 'running' && !t.error ? <EmptyState title="No results">The test ended without a report.</EmptyState> : null}
      </Card>
    </>
  );
}

function Results({ r }: { r: LoadTestResult }) {
  const failed = r.non2xx + r.errors;
  const errorRows = Object.entries(r.errorsByCode).sort((a, b) => b[1] - a[1]);
  const tierRows = Object.entries(r.tiers);
  const x = r.executions;
  return (
    <div data-testid="load-results">
      <div className="stats">
        <Stat label="Throughput" value={`${fmtInt(r.requestsPerSec)} req/s`} hint={`${fmtInt(r.total)} requests in ${r.durationS.toFixed(1)} s${r.stoppedEarly ? ' (stopped early)' : ''}`} />
        <Stat label="Latency p50" value={fmtMs(r.latencyMs.p50)} hint={`mean ${fmtMs(r.latencyMs.mean)}`} />
        <Stat label="Latency p95" value={fmtMs(r.latencyMs.p95)} />
        <Stat label="Latency p99" value={fmtMs(r.latencyMs.p99)} hint={`max ${fmtMs(r.latencyMs.max)}`} />
        <Stat label="Errors" value={fmtInt(failed)} hint={r.total > 0 ? `${fmtPct((failed / r.total) * 100)} of requests` : undefined} tone={failed > 0 ? 'bad' : 'good'} />
        {x ? <Stat label="Cost (CPU-billed)" value={fmtCost(x.costUsd)} hint={`${fmtCost(x.wallClockCostUsd)} by wall clock`} tone={x.costUsd < x.wallClockCostUsd ? 'good' : undefined} /> : null}
      </div>
      <div className="grid-3">
        <div>
          <h3>Latency</h3>
          <BarsChart
            height={180}
            data={[
              { name: 'p50', ms: r.latencyMs.p50 },
              { name: 'p95', ms: r.latencyMs.p95 },
              { name: 'p99', ms: r.latencyMs.p99 },
              { name: 'max', ms: r.latencyMs.max },
            ]}
            x="name"
            yFormat={(v) => `${v}`}
            series={[{ key: 'ms', label: 'ms', color: COLORS.blue, format: fmtMs }]}
          />
        </div>
        <div>
          <h3>Errors by code</h3>
          {errorRows.length === 0 ? (
            <p className="ok-text">No errors: every request got a 2xx.</p>
          ) : (
            <table className="table table-compact">
              <tbody>
                {errorRows.map(([code, n]) => (
                  <tr key={code}>
                    <td className="mono small">{code}</td>
                    <td className="num">{fmtInt(n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Status codes</h3>
          <p className="small">
            {Object.entries(r.statusCounts)
              .map(([s, n]) => `${s}: ${fmtInt(n)}`)
              .join(' · ') || '—'}
          </p>
        </div>
        <div>
          <h3>Tiers</h3>
          {tierRows.length === 0 ? (
            <p className="muted">—</p>
          ) : (
            <table className="table table-compact" data-testid="load-tiers">
              <tbody>
                {tierRows.map(([tier, n]) => (
                  <tr key={tier}>
                    <td>{tier}</td>
                    <td className="num">{fmtInt(n)}</td>
                    <td className="num muted small">{fmtPct((n / Math.max(1, r.total)) * 100, 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {x ? (
            <p className="small muted">
              {fmtInt(x.records)} execution records · {fmtInt(x.coldStarts)} cold starts · CPU {fmtMs(x.cpuMs)} of {fmtMs(x.wallMs)} wall
              {x.cpuToWall !== null ? ` (${fmtPct(x.cpuToWall * 100)})` : ''}
            </p>
          ) : null}
        </div>
      </div>
    </div>
  );
}
