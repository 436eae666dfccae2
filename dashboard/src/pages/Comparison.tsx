/**
 * The cost comparison (POST /api/costs/comparison): the user's metered workload projected onto
 * wall-clock serverless, a fixed baseline fleet and Spillway, with every price and workload figure
 * editable; seed 000 §8 reproduced and seed 004's comparison recomputed, each figure checked
 * against what the seed printed.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api, ApiError } from '../api.ts';
import { BarsChart, COLORS } from '../charts.tsx';
import { Card, ErrorState, Loading, PageHeader, Segmented } from '../components.tsx';
import { fmtCost, fmtCostAxis, fmtInt, fmtPct } from '../format.ts';
import { useStored } from '../hooks.ts';

interface Checked {
  value: number;
  stated: number | null;
  errorFactor: number | null;
  agrees: boolean | null;
}

interface Workload {
  callsPerSecond: number;
  cpuMsPerCall: number;
  wallMsPerCall: number;
  memoryMb: number;
}

interface Comparison {
  window: string;
  defaults: { projection: Prices; seed000Workload: Workload };
  seed000: Record<string, unknown> & {
    lambdaPerRequest: { computeUsd: number; requestUsd: number; totalUsd: Checked };
    baselineHourlyUsd: Checked;
    breakEvenRequestsPerSecond: Checked;
    lambdaMonthlyUsd: Checked;
    baselineMonthlyUsd: Checked;
    baselineUtilisationPct: Checked;
    savingsMonthlyUsd: Checked;
    savingsPct: Checked;
  };
  seed004: {
    lambda: { computeAsWrittenUsd: Checked; computeUsd: Checked; requestUsd: number; perRequestUsd: Checked; impliedPricePerGbSecondUsd: number; monthly: Array<{ requests: number; usd: Checked; atStatedPriceUsd: number }> };
    fargate: { vcpuHourUsd: Checked; memoryHourUsd: Checked; taskHourUsd: Checked; oneTaskMonthlyUsd: Checked; baselineMonthlyUsd: Checked; peakExtraMonthlyUsd: Checked; scalingTotalMonthlyUsd: Checked };
    breakEven: Array<{ tasks: number; fargateMonthlyUsd: number; perMonth: Checked; perDay: Checked; atStatedPricePerMonth: Checked; atStatedPricePerDay: Checked }>;
    ruleOfThumb: Array<{ requestsPerDay: number; lambdaMonthlyUsd: number; fargateOneTaskMonthlyUsd: number; cheaper: string; seedSays: string }>;
  };
  workload: { measured: Workload & { calls: number; window: string; basis: string }; used: Workload };
  projection: {
    cpuLoadVcpus: number;
    concurrentCalls: number;
    serverless: { monthlyUsd: number; cheapest: boolean; perCallUsd: number; billedMsPerCall: number };
    fixedBaseline: { monthlyUsd: number; cheapest: boolean; tasks: number; utilisationPct: number; taskHourUsd: number };
    spillway: { monthlyUsd: number; cheapest: boolean; baselineTasks: number; baselineUtilisationPct: number; burstCallsPerSecond: number; burstShare: number; baselineMonthlyUsd: number; burstMonthlyUsd: number };
    cheapest: string[];
  };
}

interface Prices {
  serverless: { pricePerGbSecondUsd: number; pricePerRequestUsd: number };
  baseline: { vcpuPerTask: number; memoryGbPerTask: number; pricePerVcpuHourUsd: number; pricePerGbHourUsd: number; minTasks: number; targetUtilisation: number };
  spillway: { spillAboveUtilisation: number };
  hoursPerMonth: number;
}

type Window = '1h' | '24h' | '7d';

const WORKLOAD_FIELDS: Array<[keyof Workload, string]> = [
  ['callsPerSecond', 'Calls per second'],
  ['cpuMsPerCall', 'CPU ms per call'],
  ['wallMsPerCall', 'Wall ms per call'],
  ['memoryMb', 'Memory (MB)'],
];

const PRICE_FIELDS: Array<[string, string]> = [
  ['serverless.pricePerGbSecondUsd', 'Serverless $ per GB-second'],
  ['serverless.pricePerRequestUsd', 'Serverless $ per request'],
  ['baseline.pricePerVcpuHourUsd', 'Baseline $ per vCPU-hour'],
  ['baseline.pricePerGbHourUsd', 'Baseline $ per GB-hour'],
  ['baseline.vcpuPerTask', 'vCPU per task'],
  ['baseline.memoryGbPerTask', 'GB per task'],
  ['baseline.minTasks', 'Baseline tasks (minimum)'],
  ['baseline.targetUtilisation', 'Fixed fleet target utilisation (0–1)'],
  ['spillway.spillAboveUtilisation', 'Spill above utilisation (0–1)'],
  ['hoursPerMonth', 'Hours per month'],
];

function get(obj: unknown, path: string): number | undefined {
  let v: unknown = obj;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : undefined;
}

function fmtNum(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) < 0.001) return n.toPrecision(3);
  return n.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

export function ComparisonPage() {
  const [window, setWindow] = useStored<Window>('comparison-window', '24h');
  const [workload, setWorkload] = useState<Record<string, string>>({});
  const [prices, setPrices] = useState<Record<string, string>>({});
  const [data, setData] = useState<Comparison | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (w: Record<string, string>, p: Record<string, string>) => {
    setBusy(true);
    setError(null);
    const wl: Record<string, number> = {};
    for (const [k, v] of Object.entries(w)) if (v.trim() !== '') wl[k] = Number(v);
    const projection: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) {
      if (v.trim() === '') continue;
      const [a, b] = k.split('.');
      if (b === undefined) projection[a] = Number(v);
      else projection[a] = { ...(projection[a] as Record<string, number> | undefined), [b]: Number(v) };
    }
    try {
      setData(await api<Comparison>('/api/costs/comparison', { method: 'POST', body: { window, workload: wl, projection } }));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void run(workload, prices);
    // Re-measure when the window changes; edits wait for "Recalculate".
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [window]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(workload, prices);
  };
  const useSeed = () => {
    if (!data) return;
    const w = Object.fromEntries(Object.entries(data.defaults.seed000Workload).map(([k, v]) => [k, String(v)]));
    setWorkload(w);
    void run(w, prices);
  };
  const reset = () => {
    setWorkload({});
    setPrices({});
    void run({}, {});
  };

  return (
    <>
      <PageHeader
        title="Cost comparison"
        subtitle={
          <>
            <Link to="/costs">← Cost Monitoring</Link> · What your workload would cost billed by wall clock, on a fixed fleet, and on Spillway. Every figure is editable.
          </>
        }
        actions={<Segmented label="Measure over" value={window} options={['1h', '24h', '7d'] as const} onChange={setWindow} />}
      />
      {error && !data ? <ErrorState error={error} feature="The cost comparison" onRetry={() => void run(workload, prices)} /> : null}
      {!data && !error ? <Loading label="Measuring your workload…" /> : null}
      {data ? (
        <>
          <form onSubmit={submit}>
            <Card title="Your workload" actions={<span className="muted small">measured over {data.workload.measured.window}: {fmtInt(data.workload.measured.calls)} metered calls</span>}>
              <div className="grid-4">
                {WORKLOAD_FIELDS.map(([key, label]) => (
                  <label className="field" key={key}>
                    <span>{label}</span>
                    <input
                      aria-label={label}
                      type="number"
                      step="any"
                      min={0}
                      value={workload[key] ?? ''}
                      placeholder={`${fmtNum(data.workload.measured[key])} (measured)`}
                      onChange={(e) => setWorkload({ ...workload, [key]: e.target.value })}
                    />
                  </label>
                ))}
              </div>
              <details className="prices">
                <summary>Prices ({Object.values(prices).filter((v) => v.trim()).length} changed from seed 000's AWS prices)</summary>
                <div className="grid-4">
                  {PRICE_FIELDS.map(([key, label]) => (
                    <label className="field" key={key}>
                      <span>{label}</span>
                      <input aria-label={label} type="number" step="any" min={0} value={prices[key] ?? ''} placeholder={fmtNum(get(data.defaults.projection, key) ?? 0)} onChange={(e) => setPrices({ ...prices, [key]: e.target.value })} />
                    </label>
                  ))}
                </div>
              </details>
              <div className="form-actions">
                <button className="btn btn-primary" type="submit" disabled={busy}>
                  {busy ? 'Calculating…' : 'Recalculate'}
                </button>
                <button className="btn" type="button" onClick={useSeed}>
                  Use seed 000's workload (100 calls/s, 10 ms CPU, 200 ms wall)
                </button>
                <button className="btn" type="button" onClick={reset}>
                  Reset to measured
                </button>
              </div>
              {error ? <ErrorState error={error} feature="Recalculate" /> : null}
            </Card>
          </form>
          <Projection c={data} />
          <Seed000 c={data} />
          <Seed004 c={data} />
        </>
      ) : null}
    </>
  );
}

const OPTION_LABEL: Record<string, string> = { serverless: 'Serverless (wall-clock)', 'fixed-baseline': 'Fixed baseline', spillway: 'Spillway' };

function Projection({ c }: { c: Comparison }) {
  const p = c.projection;
  const w = c.workload.used;
  const options = [
    { key: 'serverless', monthly: p.serverless.monthlyUsd, cheapest: p.serverless.cheapest, detail: `${fmtCost(p.serverless.perCallUsd)} per call, billed ${fmtNum(p.serverless.billedMsPerCall)} ms of wall time at ${fmtInt(w.memoryMb)} MB` },
    { key: 'fixed-baseline', monthly: p.fixedBaseline.monthlyUsd, cheapest: p.fixedBaseline.cheapest, detail: `${p.fixedBaseline.tasks} tasks at ${fmtCost(p.fixedBaseline.taskHourUsd)}/h, ${fmtPct(p.fixedBaseline.utilisationPct)} busy` },
    {
      key: 'spillway',
      monthly: p.spillway.monthlyUsd,
      cheapest: p.spillway.cheapest,
      detail: `${p.spillway.baselineTasks} baseline tasks (${fmtCost(p.spillway.baselineMonthlyUsd)}, ${fmtPct(p.spillway.baselineUtilisationPct)} busy) + burst ${fmtNum(p.spillway.burstCallsPerSecond)} calls/s (${fmtPct(p.spillway.burstShare * 100)}, ${fmtCost(p.spillway.burstMonthlyUsd)})`,
    },
  ];
  return (
    <Card title={`Per month at ${fmtNum(w.callsPerSecond)} calls/s, ${fmtNum(w.cpuMsPerCall)} ms CPU, ${fmtNum(w.wallMsPerCall)} ms wall`}>
      <div className="options" data-testid="projection">
        {options.map((o) => (
          <div key={o.key} className={`option ${o.cheapest ? 'option-best' : ''}`}>
            <div className="option-name">
              {OPTION_LABEL[o.key]} {o.cheapest ? <span className="badge badge-completed">cheapest</span> : null}
            </div>
            <div className="option-value">{fmtCost(o.monthly)}</div>
            <div className="muted small">{o.detail}</div>
          </div>
        ))}
      </div>
      <BarsChart height={170} layout="vertical" data={options.map((o) => ({ name: OPTION_LABEL[o.key], usd: o.monthly }))} x="name" yFormat={fmtCostAxis} series={[{ key: 'usd', label: 'USD / month', color: COLORS.blue, format: fmtCost }]} />
      <p className="muted small">
        Average CPU load {fmtNum(p.cpuLoadVcpus)} vCPU; {fmtNum(p.concurrentCalls)} calls in flight on average. Serverless bills every call's wall time; Spillway's baseline is paid by the hour and only what spills over is billed per call.
      </p>
    </Card>
  );
}

function CheckedRow({ label, f, money = true }: { label: string; f: Checked; money?: boolean }) {
  const fmt = (n: number) => (money ? fmtCost(n) : fmtNum(n));
  return (
    <tr>
      <td>{label}</td>
      <td className="num">{fmt(f.value)}</td>
      <td className="num">{f.stated === null ? '—' : fmt(f.stated)}</td>
      <td>{f.agrees === null ? <span className="muted">—</span> : f.agrees ? <span className="ok-text">agrees</span> : <span className="error-text">off by ×{fmtNum(f.errorFactor ?? 0)}</span>}</td>
    </tr>
  );
}

function CheckedTable({ rows }: { rows: Array<[string, Checked, boolean?]> }) {
  return (
    <div className="table-wrap">
      <table className="table table-compact">
        <thead>
          <tr>
            <th>Figure</th>
            <th className="num">Computed</th>
            <th className="num">Seed says</th>
            <th>Check</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, f, money]) => (
            <CheckedRow key={label} label={label} f={f} money={money ?? true} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Seed000({ c }: { c: Comparison }) {
  const s = c.seed000;
  return (
    <Card title="Seed 000 §8, reproduced from its own inputs">
      <CheckedTable
        rows={[
          ['Lambda per request', s.lambdaPerRequest.totalUsd],
          ['Baseline per hour', s.baselineHourlyUsd],
          ['Break-even (req/s)', s.breakEvenRequestsPerSecond, false],
          ['Lambda per month', s.lambdaMonthlyUsd],
          ['Baseline per month', s.baselineMonthlyUsd],
          ['Baseline utilisation (%)', s.baselineUtilisationPct, false],
          ['Savings per month', s.savingsMonthlyUsd],
          ['Savings (%)', s.savingsPct, false],
        ]}
      />
    </Card>
  );
}

function Seed004({ c }: { c: Comparison }) {
  const s = c.seed004;
  return (
    <Card title="Seed 004's comparison, recomputed">
      <p className="muted small">
        The seed's Lambda price ($0.0000000083) is per millisecond at 512 MB, not per MB-second; implied price {fmtCost(s.lambda.impliedPricePerGbSecondUsd)} per GB-second.
      </p>
      <div className="grid-2">
        <CheckedTable
          rows={[
            ['Lambda compute, as written', s.lambda.computeAsWrittenUsd],
            ['Lambda compute, corrected', s.lambda.computeUsd],
            ['Lambda per request', s.lambda.perRequestUsd],
            ['Fargate task per hour', s.fargate.taskHourUsd],
            ['One task per month', s.fargate.oneTaskMonthlyUsd],
            ['Baseline per month', s.fargate.baselineMonthlyUsd],
            ['Peak extra per month', s.fargate.peakExtraMonthlyUsd],
            ['Scaling total per month', s.fargate.scalingTotalMonthlyUsd],
          ]}
        />
        <div>
          <CheckedTable rows={s.lambda.monthly.map((m) => [`${fmtInt(m.requests)} requests / month`, m.usd] as [string, Checked])} />
          <CheckedTable rows={s.breakEven.flatMap((b) => [[`Break-even, ${b.tasks} task${b.tasks > 1 ? 's' : ''} (req/day)`, b.perDay, false] as [string, Checked, boolean]])} />
          <div className="table-wrap">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>Rule of thumb</th>
                <th>Cheaper</th>
                <th>Seed says</th>
              </tr>
            </thead>
            <tbody>
              {s.ruleOfThumb.map((r) => (
                <tr key={r.requestsPerDay}>
                  <td>{fmtInt(r.requestsPerDay)} req/day</td>
                  <td>{r.cheaper}</td>
                  <td className={r.cheaper === r.seedSays ? 'ok-text' : 'error-text'}>{r.seedSays}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        </div>
      </div>
    </Card>
  );
}
