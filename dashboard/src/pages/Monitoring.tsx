/** Monitoring: per-function latency percentiles, errors, cold starts, CPU vs wall; scaling history; live. */
import { Link } from 'react-router-dom';
import type { CapacitySnapshot, FunctionMetricsList, FunctionMetricsRow, MetricsWindow, ScalingEvent } from '../api.ts';
import { BarsChart, COLORS } from '../charts.tsx';
import { Async, Card, CpuWallBar, EmptyState, LiveIndicator, PageHeader, Segmented } from '../components.tsx';
import { fmtCost, fmtInt, fmtMs, fmtPct, fmtUs } from '../format.ts';
import { useApi, useStored, useThrottled } from '../hooks.ts';
import { useLive } from '../live.ts';
import { ScalingHistory, TierState } from '../widgets.tsx';

const WINDOWS = ['1h', '24h', '7d', '30d'] as const;

function nameOf(r: FunctionMetricsRow): string {
  return r.functionName ?? `deleted ${r.functionId.slice(0, 10)}…`;
}

export function MonitoringPage() {
  const [window, setWindow] = useStored<MetricsWindow>('monitoring-window', '24h');
  const rows = useApi<FunctionMetricsList>(`/api/metrics/functions?window=${window}`);
  const scaling = useApi<ScalingEvent[]>('/api/metrics/scaling-history?limit=50');
  const capacity = useApi<CapacitySnapshot>('/api/capacity');
  const refresh = useThrottled(() => {
    rows.reload();
    capacity.reload();
  }, 2000);
  useLive(['execution_completed', 'load_test_progress', 'load_test_completed'], refresh, refresh);
  useLive(['scaling_event'], () => {
    scaling.reload();
    capacity.reload();
  });

  return (
    <>
      <PageHeader
        title="Monitoring"
        subtitle="Per-function latency, errors, cold starts and CPU against wall time; how the tiers scaled."
        actions={
          <>
            <LiveIndicator />
            <Segmented label="Window" value={window} options={WINDOWS} onChange={setWindow} />
          </>
        }
      />
      <Card title="Functions">
        <Async
          resource={rows}
          feature="Per-function metrics"
          rows={4}
          empty={(d) => (d.functions.every((r) => r.executions === 0) ? <EmptyState title="No calls in this window">Per-function percentiles, errors and cold starts appear once functions have been called.</EmptyState> : null)}
        >
          {(d) => {
            const list = d.functions.filter((r) => r.executions > 0);
            return (
            <>
              <div className="table-wrap">
                <table className="table" data-testid="function-metrics">
                  <thead>
                    <tr>
                      <th>Function</th>
                      <th className="num">Calls</th>
                      <th className="num">Errors</th>
                      <th className="num hide-sm">p50</th>
                      <th className="num">p95</th>
                      <th className="num">p99</th>
                      <th className="num hide-sm">Cold</th>
                      <th className="hide-sm">CPU vs wall (avg)</th>
                      <th className="num hide-sm">Cost</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((r) => (
                      <tr key={r.functionId}>
                        <td>
                          {r.functionName ? <Link to={`/functions/${encodeURIComponent(r.functionName)}`}>{r.functionName}</Link> : <span className="muted">{nameOf(r)}</span>}
                        </td>
                        <td className="num">{fmtInt(r.executions)}</td>
                        <td className={`num ${r.errors > 0 ? 'error-text' : ''}`}>
                          {fmtInt(r.errors)} <span className="muted small hide-sm">({fmtPct(r.errorRate)})</span>
                        </td>
                        <td className="num hide-sm">{fmtMs(r.latencyMs.p50)}</td>
                        <td className="num">{fmtMs(r.latencyMs.p95)}</td>
                        <td className="num">{fmtMs(r.latencyMs.p99)}</td>
                        <td className="num hide-sm">{fmtInt(r.coldStarts)}</td>
                        <td className="hide-sm cell-bar">
                          <CpuWallBar cpuUs={r.cpuUs.avg} wallUs={r.wallMs.avg === null ? null : r.wallMs.avg * 1000} />
                        </td>
                        <td className="num hide-sm">{fmtCost(r.cost.total)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <div className="grid-2">
                <div>
                  <h3>Latency percentiles</h3>
                  <BarsChart
                    data={list.slice(0, 10).map((r) => ({ name: nameOf(r), p50: r.latencyMs.p50 ?? 0, p95: r.latencyMs.p95 ?? 0, p99: r.latencyMs.p99 ?? 0 }))}
                    x="name"
                    yFormat={(v) => `${v} ms`}
                    series={[
                      { key: 'p50', label: 'p50', color: COLORS.teal, format: fmtMs },
                      { key: 'p95', label: 'p95', color: COLORS.blue, format: fmtMs },
                      { key: 'p99', label: 'p99', color: COLORS.violet, format: fmtMs },
                    ]}
                  />
                </div>
                <div>
                  <h3>CPU vs wall per call (average)</h3>
                  <BarsChart
                    data={list.slice(0, 10).map((r) => ({ name: nameOf(r), cpu: (r.cpuUs.avg ?? 0) / 1000, wall: r.wallMs.avg ?? 0 }))}
                    x="name"
                    yFormat={(v) => `${v} ms`}
                    series={[
                      { key: 'cpu', label: 'CPU (billed)', color: COLORS.teal, format: fmtMs },
                      { key: 'wall', label: 'Wall', color: COLORS.grey, format: fmtMs },
                    ]}
                  />
                  <p className="muted small">CPU p95 per call: {list.slice(0, 5).map((r) => `${nameOf(r)} ${fmtUs(r.cpuUs.p95)}`).join(' · ')}</p>
                </div>
              </div>
            </>
            );
          }}
        </Async>
      </Card>
      <div className="grid-2">
        <Card title="Tiers now">
          <TierState capacity={capacity} />
        </Card>
        <Card title="Scaling history">
          <ScalingHistory events={scaling} />
        </Card>
      </div>
    </>
  );
}
