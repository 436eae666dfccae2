/** Recharts wrappers with one look: time series and bars. */
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface SeriesDef {
  key: string;
  label: string;
  color: string;
  format?: (v: number) => string;
}

const AXIS = { fontSize: 11, fill: '#5b6576' };

export function TimeChart({ data, x, series, kind = 'line', height = 220, yFormat }: { data: Array<Record<string, unknown>>; x: string; series: SeriesDef[]; kind?: 'line' | 'area'; height?: number; yFormat?: (v: number) => string }) {
  const tooltip = <Tooltip formatter={(value, name) => { const s = series.find((d) => d.label === name); return [s?.format ? s.format(Number(value)) : String(value), name]; }} />;
  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        {kind === 'area' ? (
          <AreaChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e6e9ef" />
            <XAxis dataKey={x} tick={AXIS} minTickGap={24} />
            <YAxis tick={AXIS} width={64} tickFormatter={yFormat} />
            {tooltip}
            {series.length > 1 ? <Legend wrapperStyle={{ fontSize: 12 }} /> : null}
            {series.map((s) => (
              <Area key={s.key} type="linear" dataKey={s.key} name={s.label} stroke={s.color} fill={s.color} fillOpacity={0.15} isAnimationActive={false} />
            ))}
          </AreaChart>
        ) : (
          <LineChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e6e9ef" />
            <XAxis dataKey={x} tick={AXIS} minTickGap={24} />
            <YAxis tick={AXIS} width={64} tickFormatter={yFormat} />
            {tooltip}
            {series.length > 1 ? <Legend wrapperStyle={{ fontSize: 12 }} /> : null}
            {series.map((s) => (
              <Line key={s.key} type="linear" dataKey={s.key} name={s.label} stroke={s.color} dot={data.length < 40} strokeWidth={2} isAnimationActive={false} />
            ))}
          </LineChart>
        )}
      </ResponsiveContainer>
    </div>
  );
}

export function BarsChart({ data, x, series, height = 240, yFormat, layout = 'horizontal' }: { data: Array<Record<string, unknown>>; x: string; series: SeriesDef[]; height?: number; yFormat?: (v: number) => string; layout?: 'horizontal' | 'vertical' }) {
  return (
    <div className="chart" style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} layout={layout}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e6e9ef" />
          {layout === 'vertical' ? (
            <>
              <XAxis type="number" tick={AXIS} tickFormatter={yFormat} />
              <YAxis type="category" dataKey={x} tick={AXIS} width={110} />
            </>
          ) : (
            <>
              <XAxis dataKey={x} tick={AXIS} interval={0} />
              <YAxis tick={AXIS} width={64} tickFormatter={yFormat} />
            </>
          )}
          <Tooltip formatter={(value, name) => { const s = series.find((d) => d.label === name); return [s?.format ? s.format(Number(value)) : String(value), name]; }} />
          {series.length > 1 ? <Legend wrapperStyle={{ fontSize: 12 }} /> : null}
          {series.map((s) => (
            <Bar key={s.key} dataKey={s.key} name={s.label} fill={s.color} radius={3} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export const COLORS = { blue: '#2457d6', teal: '#0f9d8a', amber: '#d98a0b', red: '#d0413a', violet: '#7b4bd1', grey: '#8a94a6' };
