/**
 * Create a function, and one function's page: invoke it (over HTTP or queued), edit and redeploy
 * it, see its recent executions live, delete it.
 */
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, ApiError, invokeHttp, type ExecutionRecord, type FunctionConfig, type FunctionMetricsDetail, type FunctionRecord, type InvokeResult } from '../api.ts';
import { COLORS, TimeChart } from '../charts.tsx';
import { Async, Card, CpuWallBar, EmptyState, ErrorState, Loading, PageHeader, Stat, StatusBadge } from '../components.tsx';
import { fmtAgo, fmtClock, fmtCost, fmtInt, fmtMs, fmtPct, fmtUs, shortId } from '../format.ts';
import { useApi, useThrottled } from '../hooks.ts';
import { useLive } from '../live.ts';

const TEMPLATE = `// Called for HTTP at /fn/<name>/… and for queued executions (the input arrives as a JSON POST body).
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const body = request.method === 'GET' ? null : await request.text();
    return Response.json({ hello: url.searchParams.get('name') ?? 'world', method: request.method, body });
  },
};
`;

const DEFAULT_CONFIG: FunctionConfig = { timeout: 30000, retryCount: 3, memoryLimitMb: 128, cpuLimitMs: 10000 };

interface Draft {
  name: string;
  description: string;
  code: string;
  status: 'active' | 'inactive';
  config: FunctionConfig;
}

function CodeEditor({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key !== 'Tab' || e.shiftKey) return;
    e.preventDefault();
    const el = e.currentTarget;
    const { selectionStart: s, selectionEnd: end } = el;
    onChange(`${value.slice(0, s)}  ${value.slice(end)}`);
    requestAnimationFrame(() => el.setSelectionRange(s + 2, s + 2));
  };
  const lines = value.split('\n').length;
  const gutter = useRef<HTMLDivElement>(null);
  return (
    <div className="code-editor">
      <div className="code-gutter" aria-hidden="true" ref={gutter}>
        {Array.from({ length: Math.max(lines, 1) }, (_, i) => (
          <div key={i}>{i + 1}</div>
        ))}
      </div>
      <textarea aria-label="Code" spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} onKeyDown={onKeyDown} onScroll={(e) => gutter.current && (gutter.current.scrollTop = e.currentTarget.scrollTop)} rows={Math.min(30, Math.max(12, lines + 1))} />
    </div>
  );
}

function FunctionForm({ initial, mode, onSubmit }: { initial: Draft; mode: 'create' | 'edit'; onSubmit: (d: Draft) => Promise<void> }) {
  const [draft, setDraft] = useState(initial);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [key]: value }));
  };
  const setConfig = (key: keyof FunctionConfig, value: string) => set('config', { ...draft.config, [key]: Number(value) });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(draft);
      setSaved(true);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'UNKNOWN', String(err)));
    } finally {
      setBusy(false);
    }
  };
  const field = (key: keyof FunctionConfig, label: string, unit: string) => (
    <label className="field">
      <span>
        {label} <span className="muted">({unit})</span>
      </span>
      <input type="number" value={draft.config[key]} onChange={(e) => setConfig(key, e.target.value)} />
    </label>
  );
  return (
    <form className="form" onSubmit={submit}>
      <div className="grid-2">
        <label className="field">
          <span>Name</span>
          <input value={draft.name} onChange={(e) => set('name', e.target.value)} placeholder="hello-world" autoComplete="off" required />
        </label>
        <label className="field">
          <span>Description</span>
          <input value={draft.description} onChange={(e) => set('description', e.target.value)} placeholder="What it does" />
        </label>
      </div>
      <div className="field">
        <span>Code (JavaScript or TypeScript; bundled with esbuild on deploy)</span>
        <CodeEditor value={draft.code} onChange={(v) => set('code', v)} />
      </div>
      <fieldset className="fieldset">
        <legend>Configuration</legend>
        <div className="grid-4">
          {field('timeout', 'Timeout', 'ms')}
          {field('cpuLimitMs', 'CPU limit', 'ms')}
          {field('memoryLimitMb', 'Memory', 'MiB')}
          {field('retryCount', 'Retries', '0–10')}
        </div>
        {mode === 'edit' ? (
          <label className="field inline">
            <input type="checkbox" checked={draft.status === 'active'} onChange={(e) => set('status', e.target.checked ? 'active' : 'inactive')} /> Active (callable)
          </label>
        ) : null}
      </fieldset>
      {error ? <ErrorState error={error} feature={mode === 'create' ? 'Deploy' : 'Redeploy'} /> : null}
      <div className="form-actions">
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Deploying…' : mode === 'create' ? 'Create and deploy' : 'Save and redeploy'}
        </button>
        {saved && mode === 'edit' ? <span className="ok-text">Saved and deployed.</span> : null}
      </div>
    </form>
  );
}

export function NewFunctionPage() {
  const navigate = useNavigate();
  return (
    <>
      <PageHeader title="New function" subtitle="Write the handler, name it, set its limits. It is deployed as soon as you create it." />
      <Card>
        <FunctionForm
          mode="create"
          initial={{ name: '', description: '', code: TEMPLATE, status: 'active', config: DEFAULT_CONFIG }}
          onSubmit={async (d) => {
            const fn = await api<FunctionRecord>('/api/functions', { method: 'POST', body: { name: d.name, description: d.description, code: d.code, config: d.config } });
            navigate(`/functions/${encodeURIComponent(fn.name)}`);
          }}
        />
      </Card>
    </>
  );
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

function InvokePanel({ fn }: { fn: FunctionRecord }) {
  const [method, setMethod] = useState<string>('GET');
  const [path, setPath] = useState('');
  const [body, setBody] = useState('');
  const [contentType, setContentType] = useState('application/json');
  const [result, setResult] = useState<InvokeResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [queued, setQueued] = useState<string | null>(null);
  const [queueError, setQueueError] = useState<ApiError | null>(null);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      setResult(await invokeHttp(fn.name, method, path, body, contentType));
    } catch (err) {
      setFailure(`The request did not complete: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const queue = async () => {
    setQueueError(null);
    let input: unknown = undefined;
    if (body.trim()) {
      try {
        input = JSON.parse(body);
      } catch {
        setQueueError(new ApiError(400, 'BAD_INPUT', 'The body must be JSON to queue it as an execution input.'));
        return;
      }
    }
    try {
      const res = await api<{ executionId: string }>(`/api/functions/${encodeURIComponent(fn.id)}/execute`, { method: 'POST', body: input === undefined ? {} : { input } });
      setQueued(res.executionId);
    } catch (err) {
      setQueueError(err as ApiError);
    }
  };
  const header = (name: string) => result?.headers.find(([k]) => k === name)?.[1];
  return (
    <Card title="Invoke">
      <form className="form" onSubmit={send}>
        <div className="invoke-line">
          <select aria-label="Method" value={method} onChange={(e) => setMethod(e.target.value)}>
            {METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
          <span className="invoke-prefix mono">/fn/{fn.name}/</span>
          <input aria-label="Path" className="mono" value={path} onChange={(e) => setPath(e.target.value)} placeholder="path?query=1" />
          <button className="btn btn-primary" type="submit" disabled={busy}>
            {busy ? 'Sending…' : 'Send'}
          </button>
        </div>
        <div className="grid-2 align-end">
          <label className="field">
            <span>Body {method === 'GET' ? <span className="muted">(not sent with GET)</span> : null}</span>
            <textarea aria-label="Body" className="mono" rows={4} value={body} onChange={(e) => setBody(e.target.value)} placeholder='{"name": "Ada"}' />
          </label>
          <div className="stack">
            <label className="field">
              <span>Content type</span>
              <input aria-label="Content type" value={contentType} onChange={(e) => setContentType(e.target.value)} />
            </label>
            <button type="button" className="btn" onClick={queue}>
              Queue as execution (body as JSON input)
            </button>
          </div>
        </div>
      </form>
      {queueError ? <ErrorState error={queueError} feature="Queue" /> : null}
      {queued ? (
        <p className="notice">
          Queued execution <Link to={`/executions/${queued}`}>{queued}</Link>. It will appear on the Executions page as it runs.
        </p>
      ) : null}
      {failure ? <p className="error-text">{failure}</p> : null}
      {result ? (
        <div className="invoke-result" data-testid="invoke-result">
          <div className="invoke-status">
            <span className={`badge ${result.status < 400 ? 'badge-completed' : 'badge-failed'}`}>
              {result.status} {result.statusText}
            </span>
            <span>
              tier <strong data-testid="invoke-tier">{header('x-spillway-tier') ?? '—'}</strong>
            </span>
            <span>
              instance <strong>{header('x-spillway-instance') ?? '—'}</strong>
            </span>
            <span className="muted">{fmtMs(result.ms)} round trip</span>
            {header('x-spillway-execution-id') ? <Link to={`/executions/${header('x-spillway-execution-id')}`}>execution record</Link> : null}
          </div>
          <div className="grid-2">
            <div>
              <h3>Headers</h3>
              <table className="table table-compact">
                <tbody>
                  {result.headers.map(([k, v]) => (
                    <tr key={k}>
                      <td className="mono small">{k}</td>
                      <td className="mono small break">{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div>
              <h3>Body</h3>
              <pre className="code-block" data-testid="invoke-body">
                {formatBody(result.body) || <span className="muted">(empty)</span>}
              </pre>
            </div>
          </div>
        </div>
      ) : null}
    </Card>
  );
}

function formatBody(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function RecentExecutions({ fn }: { fn: FunctionRecord }) {
  const path = `/api/executions?functionId=${encodeURIComponent(fn.id)}&limit=10`;
  const executions = useApi<ExecutionRecord[]>(path);
  const refresh = useThrottled(executions.reload, 500);
  useLive(
    ['execution_started', 'execution_completed'],
    (m) => {
      if ((m.data as { functionId?: string }).functionId === fn.id) refresh();
    },
    refresh,
  );
  return (
    <Card title="Recent executions" actions={<Link to={`/executions?functionId=${encodeURIComponent(fn.id)}`}>All</Link>}>
      <Async resource={executions} feature="Executions" empty={(l) => (l.length === 0 ? <EmptyState title="Not called yet">Send a request or queue an execution above.</EmptyState> : null)}>
        {(list) => (
          <ul className="feed">
            {list.map((e) => (
              <li key={e.id}>
                <StatusBadge status={e.status} /> <Link to={`/executions/${e.id}`}>{shortId(e.id)}</Link> <span className="muted">{e.trigger}</span>
                <span className="feed-right small muted">
                  {fmtUs(e.cpuUs)} CPU · {fmtAgo(e.createdAt)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Async>
    </Card>
  );
}

function FunctionMetrics({ fn }: { fn: FunctionRecord }) {
  const metrics = useApi<FunctionMetricsDetail>(`/api/metrics/functions/${encodeURIComponent(fn.id)}?window=24h`);
  const refresh = useThrottled(metrics.reload, 3000);
  useLive(['execution_completed'], (m) => {
    if ((m.data as { functionId?: string }).functionId === fn.id) refresh();
  });
  return (
    <Card title="Last 24 hours" actions={<Link to="/monitoring">Monitoring</Link>}>
      <Async resource={metrics} feature="Function metrics" rows={2} empty={(d) => (d.executions === 0 ? <EmptyState title="No calls in the last 24 hours">Latency percentiles, errors and cost appear once it is called.</EmptyState> : null)}>
        {(d) => (
          <>
            <div className="stats stats-compact" data-testid="function-metrics-24h">
              <Stat label="Calls" value={fmtInt(d.executions)} hint={`${fmtInt(d.errors)} failed (${fmtPct(d.errorRate)})`} tone={d.errors > 0 ? 'bad' : undefined} />
              <Stat label="p50 / p95 / p99" value={fmtMs(d.latencyMs.p95)} hint={`p50 ${fmtMs(d.latencyMs.p50)} · p99 ${fmtMs(d.latencyMs.p99)}`} />
              <Stat label="Cold starts" value={fmtInt(d.coldStarts)} />
              <Stat label="Cost" value={fmtCost(d.cost.total)} hint={`${fmtCost(d.cost.wallClock)} by wall clock`} />
            </div>
            <CpuWallBar cpuUs={d.cpuUs.avg} wallUs={d.wallMs.avg === null ? null : d.wallMs.avg * 1000} />
            <TimeChart
              height={180}
              data={d.series.map((b) => ({ at: d.unit === 'hour' ? fmtClock(b.start).slice(0, 5) : b.start.slice(5, 10), executions: b.executions, errors: b.errors }))}
              x="at"
              series={[
                { key: 'executions', label: 'Calls', color: COLORS.blue, format: fmtInt },
                { key: 'errors', label: 'Errors', color: COLORS.red, format: fmtInt },
              ]}
            />
          </>
        )}
      </Async>
    </Card>
  );
}

function DangerZone({ fn }: { fn: FunctionRecord }) {
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const remove = async () => {
    try {
      await api(`/api/functions/${encodeURIComponent(fn.id)}`, { method: 'DELETE' });
      navigate('/functions');
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <Card title="Delete" className="card-danger">
      <p className="muted">Deletes the function, its versions, its key-value entries and its analytics events. Its executions stay in the history.</p>
      {confirming ? (
        <div className="form-actions">
          <button type="button" className="btn btn-danger" onClick={remove}>
            Yes, delete {fn.name}
          </button>
          <button type="button" className="btn" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" className="btn btn-danger-outline" onClick={() => setConfirming(true)}>
          Delete function…
        </button>
      )}
      {error ? <ErrorState error={error} feature="Delete" /> : null}
    </Card>
  );
}

export function FunctionDetailPage() {
  const { name = '' } = useParams();
  const navigate = useNavigate();
  const resource = useApi<FunctionRecord>(`/api/functions/${encodeURIComponent(name)}`);
  const [editing, setEditing] = useState(false);
  useEffect(() => setEditing(false), [name]);
  if (!resource.data) {
    return (
      <>
        <PageHeader title={name} subtitle={<Link to="/functions">← Functions</Link>} />
        {resource.error ? (
          resource.error.code === 'FUNCTION_NOT_FOUND' ? (
            <EmptyState title={`No function named "${name}"`} action={<Link className="btn" to="/functions">Back to functions</Link>}>
              It may have been deleted or renamed.
            </EmptyState>
          ) : (
            <ErrorState error={resource.error} onRetry={resource.reload} feature="Function" />
          )
        ) : (
          <Loading label="Loading function…" />
        )}
      </>
    );
  }
  const fn = resource.data;
  return (
    <>
      <PageHeader
        title={fn.name}
        subtitle={
          <>
            <Link to="/functions">← Functions</Link> · <StatusBadge status={fn.status} /> · version <span className="mono">{fn.currentVersion?.slice(0, 12) ?? '—'}</span> · tier {fn.tier}
          </>
        }
        actions={
          <button type="button" className="btn" onClick={() => setEditing((e) => !e)}>
            {editing ? 'Close editor' : 'Edit and redeploy'}
          </button>
        }
      />
      {fn.description ? <p className="lead">{fn.description}</p> : null}
      {editing ? (
        <Card title="Edit and redeploy">
          <FunctionForm
            mode="edit"
            initial={{ name: fn.name, description: fn.description, code: fn.code ?? '', status: fn.status, config: fn.config }}
            onSubmit={async (d) => {
              const body: Record<string, unknown> = { description: d.description, status: d.status, config: d.config };
              if (d.name !== fn.name) body.name = d.name;
              if (d.code !== (fn.code ?? '')) body.code = d.code;
              const updated = await api<FunctionRecord>(`/api/functions/${encodeURIComponent(fn.id)}`, { method: 'PUT', body });
              if (updated.name !== name) navigate(`/functions/${encodeURIComponent(updated.name)}`, { replace: true });
              else resource.reload();
            }}
          />
        </Card>
      ) : null}
      <InvokePanel fn={fn} />
      <FunctionMetrics fn={fn} />
      <div className="grid-2">
        <RecentExecutions fn={fn} />
        <Card title="Source">
          <pre className="code-block code-scroll">{fn.code ?? '(no source stored)'}</pre>
          {fn.files && fn.files.length > 1 ? <p className="muted small">{fn.files.length} files; entry {fn.entry}</p> : null}
        </Card>
      </div>
      <DangerZone fn={fn} />
      <p className="muted small">
        Created {fmtAgo(fn.createdAt)} · updated {fmtAgo(fn.updatedAt)} · limits: {fmtMs(fn.config.timeout)} timeout, {fmtMs(fn.config.cpuLimitMs)} CPU, {fn.config.memoryLimitMb} MiB, {fn.config.retryCount} retries
      </p>
    </>
  );
}
