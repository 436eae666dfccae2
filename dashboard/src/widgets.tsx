/** Panels shared by the Dashboard and Monitoring pages: tier state, scaling history, activity feed. */
import { Link } from 'react-router-dom';
import type { CapacitySnapshot, ScalingEvent } from './api.ts';
import { Async, EmptyState, StatusBadge } from './components.tsx';
import { fmtClock, fmtCost, fmtInt, fmtMs, fmtPct, fmtTime, shortId } from './format.ts';
import type { Resource } from './hooks.ts';
import { useRecentLive, type LiveMessage } from './live.ts';

export function TierState({ capacity }: { capacity: Resource<CapacitySnapshot> }) {
  return (
    <Async resource={capacity} feature="Tier state">
      {(c) => (
        <div className="tiers" data-testid="tier-state">
          <div className="tier-mode">
            <span className={`badge badge-${c.mode === 'spillover' ? 'warn' : 'completed'}`}>{c.mode}</span>
            <span className="muted small">
              routing {c.weights.baseline}% baseline / {c.weights.burst}% burst
            </span>
          </div>
          <div className="weight-bar" aria-label={`baseline ${c.weights.baseline}%, burst ${c.weights.burst}%`}>
            <div className="weight-baseline" style={{ width: `${c.weights.baseline}%` }} />
            <div className="weight-burst" style={{ width: `${c.weights.burst}%` }} />
          </div>
          <div className="tier-grid">
            <div>
              <h3>Baseline</h3>
              <p className="big">
                {c.baseline.workers} <span className="muted small">worker{c.baseline.workers === 1 ? '' : 's'} (target {c.baseline.target}, {c.baseline.minWorkers}–{c.baseline.maxWorkers})</span>
              </p>
              <p className="small">
                {fmtInt(c.baseline.inFlight)} in flight · {fmtInt(c.router.byTier.baseline ?? 0)} served
              </p>
              {c.lastSample ? (
                <p className="small muted">
                  CPU {fmtPct(c.lastSample.cpuPct)} · memory {fmtPct(c.lastSample.memoryPct)} at {fmtClock(c.lastSample.at)}
                </p>
              ) : (
                <p className="small muted">No utilisation sample yet.</p>
              )}
            </div>
            <div>
              <h3>Burst</h3>
              {c.burst ? (
                <>
                  <p className="big">
                    {c.burst.workers} <span className="muted small">{c.burst.kind === 'lambda' ? 'Lambda versions' : 'workers'}</span>
                  </p>
                  <p className="small">
                    {fmtInt(c.burst.inFlight)} in flight · {fmtInt(c.burst.served)} served · {fmtInt(c.burst.coldStarts)} cold starts
                  </p>
                  <p className="small muted">
                    {fmtInt(c.router.overflowed)} overflowed · {fmtInt(c.burst.refused)} refused
                  </p>
                </>
              ) : (
                <p className="muted small">Off on this server (SPILLWAY_BURST_TIER=off): saturated calls queue on the baseline.</p>
              )}
            </div>
          </div>
        </div>
      )}
    </Async>
  );
}

const ACTION_LABEL: Record<ScalingEvent['action'], string> = { scale_up: 'scale up', scale_down: 'scale down', spillover_on: 'spillover on', spillover_off: 'spillover off' };

export function ScalingHistory({ events, compact }: { events: Resource<ScalingEvent[]>; compact?: boolean }) {
  return (
    <Async
      resource={events}
      feature="Scaling history"
      empty={(list) =>
        list.length === 0 ? (
          <EmptyState title="No scaling events yet">The controller samples the baseline every 10 s; scale-ups, scale-downs and spillover appear here when it acts.</EmptyState>
        ) : null
      }
    >
      {(list) => (
        <div className="table-wrap">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>When</th>
                <th>Action</th>
                <th>Tier</th>
                <th className="num">Instances</th>
                {compact ? null : <th className="hide-sm">Reason</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.id}>
                  <td className="small">{fmtTime(e.timestamp)}</td>
                  <td>
                    <span className={`badge badge-${e.action.replace('_', '-')}`}>{ACTION_LABEL[e.action]}</span>
                  </td>
                  <td>{e.tier}</td>
                  <td className="num">{e.instanceCount}</td>
                  {compact ? null : (
                    <td className="hide-sm small">
                      {e.reason} <span className="muted">({e.metric} {e.value.toFixed(1)} vs {e.threshold})</span>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Async>
  );
}

function describe(m: LiveMessage, names: Map<string, string>) {
  const d = m.data as Record<string, unknown>;
  const fn = typeof d.functionId === 'string' ? names.get(d.functionId) ?? shortId(d.functionId) : '';
  const exec = typeof d.executionId === 'string' ? d.executionId : null;
  switch (m.type) {
    case 'execution_started':
      return (
        <>
          <StatusBadge status="running" /> <strong>{fn}</strong> started {exec ? <Link to={`/executions/${exec}`} className="mono small">{exec}</Link> : null}
        </>
      );
    case 'execution_completed': {
      const cost = d.cost as { totalCost?: number } | null;
      return (
        <>
          <StatusBadge status={String(d.status)} /> <strong>{fn}</strong> {d.status === 'pending' ? 'will retry' : String(d.status)} {exec ? <Link to={`/executions/${exec}`} className="mono small">{exec}</Link> : null}{' '}
          <span className="muted small">
            {typeof d.duration === 'number' ? fmtMs(d.duration) : ''} {cost?.totalCost !== undefined ? `· ${fmtCost(cost.totalCost)}` : ''}
          </span>
        </>
      );
    }
    case 'scaling_event':
      return (
        <>
          <span className="badge badge-warn">scaling</span> {String(d.tier)}: {String(d.action).replace('_', ' ')} → {String(d.instanceCount)} <span className="muted small">{String(d.reason ?? '')}</span>
        </>
      );
    case 'load_test_progress':
      return (
        <>
          <span className="badge badge-running">load test</span> {String(d.function ?? d.functionName ?? '')} {typeof d.progress === 'number' ? `${Math.round(d.progress * (d.progress <= 1 ? 100 : 1))}%` : 'running'}
        </>
      );
    case 'load_test_completed':
      return (
        <>
          <span className="badge badge-completed">load test</span> {String(d.function ?? d.functionName ?? '')} finished
        </>
      );
    default:
      return <span className="mono small">{m.type}</span>;
  }
}

export function ActivityFeed({ names }: { names: Map<string, string> }) {
  const recent = useRecentLive();
  if (recent.length === 0) {
    return (
      <EmptyState title="Waiting for activity">
        Executions, scaling decisions and load tests appear here the moment the server publishes them on <code>/api/events</code>.
      </EmptyState>
    );
  }
  return (
    <ul className="feed" data-testid="activity-feed">
      {recent.map((m) => (
        <li key={m.seq}>
          <span className="feed-time mono small muted">{fmtClock(m.timestamp)}</span>
          <span className="feed-body">{describe(m, names)}</span>
        </li>
      ))}
    </ul>
  );
}
