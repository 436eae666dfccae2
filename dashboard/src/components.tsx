/** Building blocks every page uses: page header, cards, stats, and the designed states. */
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { ApiError } from './api.ts';
import { fmtMs, fmtUs } from './format.ts';
import type { Resource } from './hooks.ts';
import { useLiveStatus } from './live.ts';

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function Card({ title, children, actions, className }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {title || actions ? (
        <div className="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

export function Stat({ label, value, hint, tone }: { label: string; value: ReactNode; hint?: ReactNode; tone?: 'good' | 'bad' | 'warn' }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint ? <div className="stat-hint">{hint}</div> : null}
    </div>
  );
}

export function Loading({ label = 'Loading…', rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
      <div className="skeleton-rows" aria-hidden="true">
        {Array.from({ length: rows }, (_, i) => (
          <div key={i} className="skeleton" style={{ width: `${90 - i * 15}%` }} />
        ))}
      </div>
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <div className="state-icon" aria-hidden="true">
        ○
      </div>
      <strong>{title}</strong>
      {children ? <p className="muted">{children}</p> : null}
      {action}
    </div>
  );
}

export function ErrorState({ error, onRetry, feature }: { error: ApiError; onRetry?: () => void; feature?: string }) {
  if (error.notAvailable) {
    return (
      <div className="state state-unavailable" role="note">
        <div className="state-icon" aria-hidden="true">
          ◌
        </div>
        <strong>{feature ?? 'This view'} is not available on this server</strong>
        <p className="muted">The server has no route for it yet ({error.message.replace(/; see docs\/api\.md\.?/, '')}). Upgrade the server to a version that has it.</p>
      </div>
    );
  }
  return (
    <div className="state state-error" role="alert">
      <div className="state-icon" aria-hidden="true">
        !
      </div>
      <strong>Could not load{feature ? ` ${feature.toLowerCase()}` : ''}</strong>
      <p>
        <code>{error.code}</code> {error.message}
      </p>
      {onRetry ? (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** Renders a Resource: loading, error or not-available, empty, then the content. */
export function Async<T>({ resource, feature, empty, children, rows }: { resource: Resource<T>; feature?: string; empty?: (data: T) => ReactNode | null; children: (data: T) => ReactNode; rows?: number }) {
  if (resource.data === undefined) {
    if (resource.error) return <ErrorState error={resource.error} onRetry={resource.reload} feature={feature} />;
    return <Loading label={feature ? `Loading ${feature.toLowerCase()}…` : undefined} rows={rows} />;
  }
  const emptyView = empty?.(resource.data);
  if (emptyView) return <>{emptyView}</>;
  return <>{children(resource.data)}</>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

export function LiveIndicator() {
  const status = useLiveStatus();
  const label = status === 'open' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className={`live live-${status}`} title="Updates pushed by the server over /api/events" data-testid="live-status">
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

/** CPU time against wall time: what Spillway bills (CPU) vs what wall-clock platforms bill. */
export function CpuWallBar({ cpuUs, wallUs }: { cpuUs: number | null | undefined; wallUs: number | null | undefined }) {
  if (cpuUs == null || wallUs == null || wallUs <= 0) return <span className="muted">—</span>;
  const pct = Math.min(100, (cpuUs / wallUs) * 100);
  return (
    <div className="cpuwall" title={`CPU ${fmtUs(cpuUs)} of ${fmtUs(wallUs)} wall (${pct.toFixed(0)}%)`}>
      <div className="cpuwall-track">
        <div className="cpuwall-cpu" style={{ width: `${Math.max(pct, 1)}%` }} />
      </div>
      <div className="cpuwall-legend">
        <span>
          <i className="swatch swatch-cpu" /> CPU {fmtUs(cpuUs)}
        </span>
        <span>
          <i className="swatch swatch-wall" /> wall {fmtMs(wallUs / 1000)}
        </span>
      </div>
    </div>
  );
}

export function FunctionLink({ id, name }: { id: string; name?: string | null }) {
  return <Link to={`/functions/${encodeURIComponent(name ?? id)}`}>{name ?? id}</Link>;
}

export function Segmented<T extends string>({ value, options, onChange, label }: { value: T; options: readonly T[]; onChange: (v: T) => void; label: string }) {
  return (
    <div className="segmented" role="group" aria-label={label}>
      {options.map((o) => (
        <button key={o} type="button" className={o === value ? 'active' : ''} aria-pressed={o === value} onClick={() => onChange(o)}>
          {o}
        </button>
      ))}
    </div>
  );
}
