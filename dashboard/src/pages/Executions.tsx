/** Executions: the history, filtered, updated live as executions start and finish. */
import { useEffect, useMemo } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import type { ExecutionRecord, FunctionRecord } from '../api.ts';
import { Async, Card, EmptyState, LiveIndicator, PageHeader, StatusBadge } from '../components.tsx';
import { fmtCost, fmtMs, fmtTime, fmtUs, shortId } from '../format.ts';
import { useApi, useThrottled } from '../hooks.ts';
import { useLive } from '../live.ts';

const STATUSES = ['', 'pending', 'running', 'completed', 'failed'] as const;
const TRIGGERS = ['', 'async', 'http'] as const;

export function useFunctionNames(): Map<string, string> {
  const functions = useApi<FunctionRecord[]>('/api/functions');
  return useMemo(() => new Map((functions.data ?? []).map((f) => [f.id, f.name])), [functions.data]);
}

export function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const functionId = params.get('functionId') ?? '';
  const status = params.get('status') ?? '';
  const trigger = params.get('trigger') ?? '';
  const limit = params.get('limit') ?? '50';
  const query = new URLSearchParams();
  if (functionId) query.set('functionId', functionId);
  if (status) query.set('status', status);
  if (trigger) query.set('trigger', trigger);
  query.set('limit', limit);
  const executions = useApi<ExecutionRecord[]>(`/api/executions?${query}`);
  const functions = useApi<FunctionRecord[]>('/api/functions');
  const names = useMemo(() => new Map((functions.data ?? []).map((f) => [f.id, f.name])), [functions.data]);
  const refresh = useThrottled(executions.reload, 400);
  useLive(
    ['execution_started', 'execution_completed'],
    (m) => {
      const d = m.data as { functionId?: string };
      if (!functionId || d.functionId === functionId) refresh();
    },
    refresh,
  );
  // HTTP calls are not pushed one by one (a load test makes thousands a second): the load tester's
  // events say many landed, and a gentle refresh picks up the rest.
  useLive(['load_test_progress', 'load_test_completed'], refresh);
  useEffect(() => {
    const timer = setInterval(refresh, 5000);
    return () => clearInterval(timer);
  }, [refresh]);

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageHeader title="Executions" subtitle="Every queued execution and every HTTP call, newest first." actions={<LiveIndicator />} />
      <Card>
        <div className="filters">
          <label className="field">
            <span>Function</span>
            <select value={functionId} onChange={(e) => setFilter('functionId', e.target.value)}>
              <option value="">All functions</option>
              {(functions.data ?? []).map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Status</span>
            <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s || 'Any status'}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Trigger</span>
            <select value={trigger} onChange={(e) => setFilter('trigger', e.target.value)}>
              {TRIGGERS.map((s) => (
                <option key={s} value={s}>
                  {s || 'Any trigger'}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Show</span>
            <select value={limit} onChange={(e) => setFilter('limit', e.target.value)}>
              {['20', '50', '100', '500'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="button" className="btn" onClick={executions.reload}>
            Refresh
          </button>
        </div>
        <Async
          resource={executions}
          feature="Executions"
          rows={6}
          empty={(list) =>
            list.length === 0 ? (
              <EmptyState title={functionId || status || trigger ? 'No executions match these filters' : 'No executions yet'}>
                Executions appear here live as functions are called (over HTTP at <code>/fn/&lt;name&gt;/</code>) or queued from a function's page.
              </EmptyState>
            ) : null
          }
        >
          {(list) => <ExecutionTable list={list} names={names} />}
        </Async>
      </Card>
    </>
  );
}

export function ExecutionTable({ list, names }: { list: ExecutionRecord[]; names: Map<string, string> }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="executions-table">
        <thead>
          <tr>
            <th>Execution</th>
            <th>Function</th>
            <th>Status</th>
            <th className="hide-sm">Trigger</th>
            <th className="num">Wall</th>
            <th className="num hide-sm">CPU</th>
            <th className="num hide-sm">Cost</th>
            <th className="hide-sm">Instance</th>
            <th className="hide-sm">Started</th>
          </tr>
        </thead>
        <tbody>
          {list.map((e) => (
            <tr key={e.id}>
              <td>
                <Link className="mono" to={`/executions/${e.id}`}>
                  {shortId(e.id)}
                </Link>
                {e.coldStart ? <span className="tag" title="This call started a new isolate">cold</span> : null}
              </td>
              <td>{names.get(e.functionId) ?? <span className="mono small">{shortId(e.functionId)}</span>}</td>
              <td>
                <StatusBadge status={e.status} />
              </td>
              <td className="hide-sm">{e.trigger}</td>
              <td className="num">{fmtMs(e.duration)}</td>
              <td className="num hide-sm">{fmtUs(e.cpuUs)}</td>
              <td className="num hide-sm">{fmtCost(e.cost?.totalCost)}</td>
              <td className="hide-sm mono small">{e.instanceId ?? '—'}</td>
              <td className="hide-sm small">{fmtTime(e.startTime ?? e.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
