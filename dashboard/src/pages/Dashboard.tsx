/** Dashboard: the platform at a glance, updated live. */
import { useEffect } from 'react';
import { Link } from 'react-router-dom';
import type { CapacitySnapshot, CostTrends, ExecutionRecord, MetricsWindow, ScalingEvent, SystemMetrics } from '../api.ts';
import { COLORS, TimeChart } from '../charts.tsx';
import { Async, Card, EmptyState, LiveIndicator, PageHeader, Segmented, Stat } from '../components.tsx';
import { fmtClock, fmtCost, fmtCostAxis, fmtInt, fmtMs, fmtPct, fmtUs } from '../format.ts';
import { useApi, useStored, useThrottled } from '../hooks.ts';
import { useLive } from '../live.ts';
import { ActivityFeed, ScalingHistory, TierState } from '../widgets.tsx';
import { useFunctionNames } from './Executions.tsx';

const WINDOWS = ['1h', '24h', '7d', '30d'] as const;

export function trendRows(trends: CostTrends): Array<Record<string, number | string>> {
  const rows = trends.hourly ?? trends.daily ?? [];
  return rows.map((r) => ({
    label: r.hour ?? r.day ?? r.date ?? (r.start ? fmtClock(r.start) : ''),
    cost: r.cost,
    wallClockCost: r.wallClockCost ?? 0,
    executions: r.executions,
  }));
}

export function MetricCards({ m }: { m: SystemMetrics }) {
  return (
    <div className="stats" data-testid="overview">
      <Stat label="Executions" value={fmtInt(m.totalExecutions)} hint={`${fmtInt(m.recentExecutions)} in the last hour${m.byTrigger ? ` · ${fmtInt(m.byTrigger.http)} HTTP, ${fmtInt(m.byTrigger.async)} queued` : ''}`} />
      <Stat label="Success rate" value={fmtPct(m.successRate)} hint={`${fmtInt(m.completedExecutions)} ok · ${fmtInt(m.failedExecutions)} failed · ${fmtInt(m.pendingExecutions)} pending`} tone={m.totalExecutions === 0 ? undefined : m.successRate >= 99 ? 'good' : m.successRate < 90 ? 'bad' : undefined} />
      <Stat label="Latency p95" value={fmtMs(m.wall?.p95Ms ?? null)} hint={m.wall ? `p50 ${fmtMs(m.wall.p50Ms)} · p99 ${fmtMs(m.wall.p99Ms)}` : `average ${fmtMs(m.averageExecutionTime)}`} />
      <Stat label="CPU per call" value={fmtUs(m.cpu?.averageUs ?? null)} hint={m.wall ? `vs ${fmtMs(m.wall.averageMs)} wall on average` : undefined} />
      <Stat label="Cost (CPU-billed)" value={fmtCost(m.cost?.total ?? null)} hint={m.cost ? `${fmtCost(m.cost.wallClock)} by wall clock: ${fmtPct(m.cost.savedPct)} saved` : undefined} tone={m.cost && m.cost.saved > 0 ? 'good' : undefined} />
      <Stat label="Functions / instances" value={`${fmtInt(m.activeFunctions)} / ${fmtInt(m.currentInstances)}`} hint={m.coldStarts !== undefined ? `${fmtInt(m.coldStarts)} cold starts` : undefined} />
    </div>
  );
}

export function DashboardPage() {
  const [window, setWindow] = useStored<MetricsWindow>('dashboard-window', '24h');
  const metrics = useApi<SystemMetrics>(`/api/metrics?window=${window}`);
  const trends = useApi<CostTrends>(`/api/costs/trends?period=${window === '1h' ? '24h' : window}`);
  const recent = useApi<ExecutionRecord[]>('/api/executions?limit=100');
  const capacity = useApi<CapacitySnapshot>('/api/capacity');
  const scaling = useApi<ScalingEvent[]>('/api/metrics/scaling-history?limit=8');
  const names = useFunctionNames();

  const refreshExecutions = useThrottled(() => {
    metrics.reload();
    recent.reload();
    capacity.reload();
  }, 1500);
  const refreshTrends = useThrottled(trends.reload, 10_000);
  useLive(['execution_completed', 'load_test_completed'], () => {
    refreshExecutions();
    refreshTrends();
  }, refreshExecutions);
  useLive(['scaling_event'], () => {
    scaling.reload();
    capacity.reload();
  });
  // The tier state moves without events too (in-flight counts, utilisation samples).
  const { reload: reloadCapacity } = capacity;
  useEffect(() => {
    const timer = setInterval(reloadCapacity, 5000);
    return () => clearInterval(timer);
  }, [reloadCapacity]);

  return (
    <>
      <PageHeader
        title="Dashboard"
        subtitle="Executions, latency, cost and capacity across every function."
        actions={
          <>
            <LiveIndicator />
            <Segmented label="Window" value={window} options={WINDOWS} onChange={setWindow} />
          </>
        }
      />
      <Async resource={metrics} feature="Metrics" rows={2}>
        {(m) => <MetricCards m={m} />}
      </Async>
      <div className="grid-2">
        <Card title="Executions over time">
          <Async resource={trends} feature="Trends" empty={(t) => (trendRows(t).every((r) => r.executions === 0) ? <EmptyState title="No executions in this period">Call a function and this chart fills in.</EmptyState> : null)}>
            {(t) => <TimeChart data={trendRows(t)} x="label" kind="area" series={[{ key: 'executions', label: 'Executions', color: COLORS.blue, format: (v) => fmtInt(v) }]} />}
          </Async>
        </Card>
        <Card title="Latency of recent calls">
          <Async resource={recent} feature="Executions" empty={(l) => (l.filter((e) => e.duration !== null).length === 0 ? <EmptyState title="No finished executions yet">Each call's wall and CPU time is plotted here.</EmptyState> : null)}>
            {(list) => (
              <TimeChart
                data={list
                  .filter((e) => e.duration !== null)
                  .reverse()
                  .map((e) => ({ at: fmtClock(e.endTime ?? e.createdAt), wall: e.duration ?? 0, cpu: (e.cpuUs ?? 0) / 1000 }))}
                x="at"
                yFormat={(v) => `${v} ms`}
                series={[
                  { key: 'wall', label: 'Wall (ms)', color: COLORS.blue, format: fmtMs },
                  { key: 'cpu', label: 'CPU (ms)', color: COLORS.teal, format: fmtMs },
                ]}
              />
            )}
          </Async>
        </Card>
      </div>
      <div className="grid-2">
        <Card title="Cost over time" actions={<Link to="/costs">Cost monitoring</Link>}>
          <Async resource={trends} feature="Cost trends" empty={(t) => (trendRows(t).every((r) => r.cost === 0) ? <EmptyState title="Nothing billed in this period" /> : null)}>
            {(t) => (
              <TimeChart
                data={trendRows(t)}
                x="label"
                yFormat={fmtCostAxis}
                series={[
                  { key: 'cost', label: 'CPU-billed', color: COLORS.teal, format: fmtCost },
                  { key: 'wallClockCost', label: 'Wall-clock equivalent', color: COLORS.grey, format: fmtCost },
                ]}
              />
            )}
          </Async>
        </Card>
        <Card title="Tiers" actions={<Link to="/monitoring">Monitoring</Link>}>
          <TierState capacity={capacity} />
        </Card>
      </div>
      <div className="grid-2">
        <Card title="Live activity" actions={<LiveIndicator />}>
          <ActivityFeed names={names} />
        </Card>
        <Card title="Recent scaling events">
          <ScalingHistory events={scaling} compact />
        </Card>
      </div>
    </>
  );
}
