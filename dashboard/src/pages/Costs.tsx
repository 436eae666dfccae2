/** Cost Monitoring: what was billed (CPU time), what wall-clock billing would have cost, trends, per function. */
import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { CostTrends, MetricsWindow, SystemCosts, SystemMetrics } from '../api.ts';
import { BarsChart, COLORS, TimeChart } from '../charts.tsx';
import { Async, Card, EmptyState, PageHeader, Segmented, Stat } from '../components.tsx';
import { fmtCost, fmtCostAxis, fmtInt, fmtPct } from '../format.ts';
import { useApi, useStored, useThrottled } from '../hooks.ts';
import { useLive } from '../live.ts';
import { trendRows } from './Dashboard.tsx';

const PERIODS = ['24h', '7d', '30d'] as const;

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function CostsPage() {
  const [period, setPeriod] = useStored<'24h' | '7d' | '30d'>('costs-period', '7d');
  const [startDate, setStartDate] = useState(() => isoDay(new Date(Date.now() - 6 * 86_400_000)));
  const [endDate, setEndDate] = useState(() => isoDay(new Date()));
  const metricsWindow: MetricsWindow = period;
  const metrics = useApi<SystemMetrics>(`/api/metrics?window=${metricsWindow}`);
  const trends = useApi<CostTrends>(`/api/costs/trends?period=${period}`);
  const system = useApi<SystemCosts>(`/api/costs/system?startDate=${startDate}&endDate=${endDate}`);
  const refresh = useThrottled(() => {
    metrics.reload();
    system.reload();
    trends.reload();
  }, 3000);
  useLive(['execution_completed', 'load_test_completed'], refresh, refresh);

  return (
    <>
      <PageHeader
        title="Cost Monitoring"
        subtitle="Spillway bills the CPU time a call used, not the time it spent waiting. Here is what that saved."
        actions={
          <>
            <Link className="btn" to="/costs/comparison">
              Compare platforms →
            </Link>
            <Segmented label="Period" value={period} options={PERIODS} onChange={setPeriod} />
          </>
        }
      />
      <Async resource={metrics} feature="Cost summary" rows={2}>
        {(m) =>
          m.cost ? (
            <div className="stats" data-testid="cost-summary">
              <Stat label="Billed (CPU time)" value={fmtCost(m.cost.total)} hint={`${fmtInt(m.totalExecutions)} calls in ${period}`} />
              <Stat label="Wall-clock billing would be" value={fmtCost(m.cost.wallClock)} hint="the same calls billed for their whole duration" />
              <Stat label="Saved" value={fmtCost(m.cost.saved)} hint={`${fmtPct(m.cost.savedPct)} less than wall-clock billing`} tone={m.cost.saved > 0 ? 'good' : undefined} />
              <Stat label="Per call" value={fmtCost(m.totalExecutions > 0 ? m.cost.total / m.totalExecutions : 0)} hint={m.totalExecutions > 0 ? `vs ${fmtCost(m.cost.wallClock / m.totalExecutions)} by wall clock` : undefined} />
            </div>
          ) : (
            <EmptyState title="This server reports no cost summary">Its /api/metrics has no cost block.</EmptyState>
          )
        }
      </Async>
      <Card title="Cost trend">
        <Async
          resource={trends}
          feature="Cost trends"
          empty={(t) => (trendRows(t).every((r) => r.cost === 0 && r.executions === 0) ? <EmptyState title={`Nothing billed in the last ${period}`}>Costs are recorded with every execution and HTTP call.</EmptyState> : null)}
        >
          {(t) => (
            <TimeChart
              data={trendRows(t)}
              x="label"
              kind="area"
              yFormat={fmtCostAxis}
              height={260}
              series={[
                { key: 'wallClockCost', label: 'Wall-clock equivalent', color: COLORS.grey, format: fmtCost },
                { key: 'cost', label: 'Billed (CPU)', color: COLORS.teal, format: fmtCost },
              ]}
            />
          )}
        </Async>
      </Card>
      <Card
        title="System costs by function"
        actions={
          <div className="inline-fields">
            <label>
              From <input type="date" value={startDate} max={endDate} onChange={(e) => setStartDate(e.target.value)} />
            </label>
            <label>
              to <input type="date" value={endDate} min={startDate} onChange={(e) => setEndDate(e.target.value)} />
            </label>
          </div>
        }
      >
        <Async resource={system} feature="System costs" rows={4}>
          {(s) => (
            <>
              <div className="stats stats-compact">
                <Stat label="Total" value={fmtCost(s.totalSystemCost)} hint={`${s.period.startDate} to ${s.period.endDate}`} />
                <Stat label="Executions" value={fmtInt(s.totalExecutions)} />
                <Stat label="Average per execution" value={fmtCost(s.averageCostPerExecution)} />
                {s.savings ? <Stat label="Saved vs wall clock" value={fmtCost(s.savings.amount)} hint={`${fmtPct(s.savings.percent)} of ${fmtCost(s.wallClockCost)}`} tone={s.savings.amount > 0 ? 'good' : undefined} /> : null}
              </div>
              {s.functionCosts.length === 0 ? (
                <EmptyState title="No costs in this period">Pick a wider date range, or call a function.</EmptyState>
              ) : (
                <div className="grid-2">
                  <div className="table-wrap">
                    <table className="table table-compact" data-testid="function-costs">
                      <thead>
                        <tr>
                          <th>Function</th>
                          <th className="num">Calls</th>
                          <th className="num">Cost</th>
                          <th className="num hide-sm">Wall-clock</th>
                        </tr>
                      </thead>
                      <tbody>
                        {s.functionCosts.map((f) => (
                          <tr key={f.functionId}>
                            <td>
                              {f.functionName ? <Link to={`/functions/${encodeURIComponent(f.functionName)}`}>{f.functionName}</Link> : <span className="muted">deleted function</span>}
                            </td>
                            <td className="num">{fmtInt(f.executionCount)}</td>
                            <td className="num">{fmtCost(f.totalCost)}</td>
                            <td className="num hide-sm">{fmtCost(f.wallClockCost)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  <BarsChart
                    layout="vertical"
                    height={Math.max(160, s.functionCosts.slice(0, 8).length * 36 + 40)}
                    data={s.functionCosts.slice(0, 8).map((f) => ({ name: f.functionName ?? 'deleted', cost: f.totalCost, wall: f.wallClockCost ?? 0 }))}
                    x="name"
                    yFormat={fmtCostAxis}
                    series={[
                      { key: 'cost', label: 'Billed (CPU)', color: COLORS.teal, format: fmtCost },
                      { key: 'wall', label: 'Wall-clock', color: COLORS.grey, format: fmtCost },
                    ]}
                  />
                </div>
              )}
            </>
          )}
        </Async>
      </Card>
    </>
  );
}
