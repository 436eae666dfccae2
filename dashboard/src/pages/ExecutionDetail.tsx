/** One execution: input, output, logs, error, CPU vs wall, cost, cold start, instance; live until it ends. */
import { Link, useParams } from 'react-router-dom';
import type { ExecutionRecord, FunctionRecord } from '../api.ts';
import { Card, CpuWallBar, EmptyState, ErrorState, Loading, PageHeader, Stat, StatusBadge } from '../components.tsx';
import { fmtBytes, fmtCost, fmtMs, fmtTime, fmtUs, pretty } from '../format.ts';
import { useApi } from '../hooks.ts';
import { useLive } from '../live.ts';

function tierOf(instanceId: string | null): string | undefined {
  if (!instanceId) return undefined;
  if (instanceId.startsWith('burst') || instanceId.startsWith('lambda:')) return 'burst tier';
  if (instanceId.startsWith('baseline')) return 'baseline tier';
  return 'execution worker (queued calls)';
}

export function ExecutionDetailPage() {
  const { id = '' } = useParams();
  const resource = useApi<ExecutionRecord>(`/api/executions/${encodeURIComponent(id)}`);
  const fn = useApi<FunctionRecord>(resource.data ? `/api/functions/${encodeURIComponent(resource.data.functionId)}` : null);
  useLive(
    ['execution_started', 'execution_completed'],
    (m) => {
      if ((m.data as { executionId?: string }).executionId === id) resource.reload();
    },
    resource.reload,
  );
  if (!resource.data) {
    return (
      <>
        <PageHeader title="Execution" subtitle={<Link to="/executions">← Executions</Link>} />
        {resource.error ? (
          resource.error.code === 'EXECUTION_NOT_FOUND' ? (
            <EmptyState title={`No execution ${id}`}>HTTP calls are recorded a moment after they answer; if you just made one, try again.</EmptyState>
          ) : (
            <ErrorState error={resource.error} onRetry={resource.reload} feature="Execution" />
          )
        ) : (
          <Loading label="Loading execution…" />
        )}
      </>
    );
  }
  const e = resource.data;
  const cost = e.cost;
  const saved = cost && cost.wallClockCost > 0 ? (1 - cost.totalCost / cost.wallClockCost) * 100 : null;
  return (
    <>
      <PageHeader
        title={`Execution ${e.id}`}
        subtitle={
          <>
            <Link to="/executions">← Executions</Link> · <StatusBadge status={e.status} /> · {e.trigger === 'http' ? 'HTTP call' : 'queued execution'} of{' '}
            {fn.data ? <Link to={`/functions/${encodeURIComponent(fn.data.name)}`}>{fn.data.name}</Link> : <span className="mono">{e.functionId}</span>}
          </>
        }
      />
      <div className="stats">
        <Stat label="Wall time" value={fmtMs(e.duration)} hint={`${fmtTime(e.startTime)} → ${e.endTime ? fmtTime(e.endTime) : '…'}`} />
        <Stat label="CPU time" value={fmtUs(e.cpuUs)} hint="what Spillway bills" />
        <Stat label="Cost" value={fmtCost(cost?.totalCost)} hint={cost ? `${fmtCost(cost.wallClockCost)} if billed by wall clock` : 'not billed yet'} tone={saved !== null && saved > 0 ? 'good' : undefined} />
        <Stat label="Cold start" value={e.coldStart === null ? '—' : e.coldStart ? 'Yes' : 'No'} hint={e.coldStart ? 'a new isolate was started' : 'a warm isolate served it'} />
        <Stat label="Instance" value={<span className="mono">{e.instanceId ?? '—'}</span>} hint={tierOf(e.instanceId)} />
        <Stat label="Attempts" value={`${e.retryCount + 1} of ${e.maxRetries + 1}`} hint={e.nextAttemptAt ? `next at ${fmtTime(e.nextAttemptAt)}` : e.replayOf ? `replay of ${e.replayOf}` : undefined} />
      </div>
      <Card title="CPU vs wall">
        <CpuWallBar cpuUs={e.cpuUs} wallUs={e.wallUs} />
        <p className="muted small">
          Spillway bills the CPU the isolate used; the rest of the wall time was waiting (I/O, timers) and is free.
          {saved === null ? '' : saved > 0.5 ? ` Billed by wall clock this call would cost ${fmtCost(cost?.wallClockCost)}; CPU billing charged ${fmtCost(cost?.totalCost)}, ${saved.toFixed(0)}% less.` : ` This call cost ${fmtCost(cost?.totalCost)} either way: it used less than one billing unit of CPU and of wall time.`}
        </p>
      </Card>
      {e.error ? (
        <Card title="Error" className="card-danger">
          <p>
            <code>{e.error.code}</code> {e.error.message}
          </p>
          {e.error.stack ? <pre className="code-block">{e.error.stack}</pre> : null}
        </Card>
      ) : null}
      <div className="grid-2">
        <Card title={`Input ${e.inputBytes !== undefined ? `(${fmtBytes(e.inputBytes)})` : ''}`}>
          <pre className="code-block" data-testid="execution-input">
            {e.input === undefined || e.input === null ? <span className="muted">(none)</span> : pretty(e.input)}
          </pre>
        </Card>
        <Card title={`Output ${e.outputBytes !== undefined ? `(${fmtBytes(e.outputBytes)})` : ''}`}>
          <pre className="code-block" data-testid="execution-output">
            {e.status === 'pending' || e.status === 'running' ? <span className="muted">Waiting for it to finish…</span> : e.output === null || e.output === undefined ? <span className="muted">{e.trigger === 'http' ? '(HTTP response bodies are not stored)' : '(none)'}</span> : pretty(e.output)}
          </pre>
        </Card>
      </div>
      <Card title="Logs">
        {e.logs.length === 0 ? (
          <EmptyState title="No logs">Anything the function writes with console.log appears here.</EmptyState>
        ) : (
          <pre className="code-block logs">
            {e.logs.map((l, i) => (
              <div key={i} className={`log log-${l.level}`}>
                <span className="muted">{l.atMs !== undefined ? `${l.atMs.toFixed(1)} ms` : ''}</span> <span className="log-level">{l.level}</span> {l.message}
              </div>
            ))}
          </pre>
        )}
      </Card>
      {cost ? (
        <Card title="Cost breakdown">
          <table className="table table-compact">
            <tbody>
              <tr><td>Tier</td><td>{cost.tier}</td></tr>
              <tr><td>Billed duration</td><td>{fmtMs(cost.billedDurationMs)}</td></tr>
              <tr><td>Base</td><td>{fmtCost(cost.baseCost)}</td></tr>
              <tr><td>Cold start</td><td>{fmtCost(cost.coldStartCost)}</td></tr>
              <tr><td>Retries</td><td>{fmtCost(cost.retryCost)}</td></tr>
              <tr><td>Data transfer</td><td>{fmtCost(cost.dataTransferCost)}</td></tr>
              <tr><td><strong>Total</strong></td><td><strong>{fmtCost(cost.totalCost)}</strong></td></tr>
              <tr><td>Wall-clock equivalent</td><td>{fmtCost(cost.wallClockCost)}</td></tr>
            </tbody>
          </table>
        </Card>
      ) : null}
    </>
  );
}
