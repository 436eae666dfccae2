/** Number, time and money formatting shared by every page. */

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US');
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtUs(us: number | null | undefined): string {
  return us === null || us === undefined ? '—' : fmtMs(us / 1000);
}

/** Dollars with enough significant digits to tell tiny per-call costs apart. */
export function fmtCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || Number.isNaN(usd)) return '—';
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  if (abs >= 100) return `$${usd.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
  if (abs >= 0.01) return `$${usd.toFixed(2)}`;
  // Three significant digits, written out (no exponent): $0.000000266.
  const digits = Math.min(12, Math.max(2, 2 - Math.floor(Math.log10(abs))));
  return `$${usd.toFixed(digits)}`;
}

export function fmtPct(p: number | null | undefined, digits = 1): string {
  return p === null || p === undefined || Number.isNaN(p) ? '—' : `${p.toFixed(digits)}%`;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', day: '2-digit', month: 'short' });
}

export function fmtClock(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function shortId(id: string | null | undefined): string {
  if (!id) return '—';
  return id.length > 14 ? `${id.slice(0, 11)}…` : id;
}

export function pretty(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** Dollars for a chart axis: two significant digits, no trailing zeros ($0.015, $0.0075, $12). */
export function fmtCostAxis(usd: number): string {
  if (usd === 0 || !Number.isFinite(usd)) return '$0';
  const abs = Math.abs(usd);
  if (abs >= 1) return `$${usd.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
  const digits = Math.min(12, 1 - Math.floor(Math.log10(abs)));
  return `$${usd.toFixed(digits).replace(/0+$/, '').replace(/\.$/, '')}`;
}
