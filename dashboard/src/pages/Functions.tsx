/** Functions: every deployed function, with a way to create one. */
import { Link } from 'react-router-dom';
import type { FunctionRecord } from '../api.ts';
import { Async, Card, EmptyState, PageHeader, StatusBadge } from '../components.tsx';
import { fmtAgo, fmtMs } from '../format.ts';
import { useApi } from '../hooks.ts';

export function FunctionsPage() {
  const functions = useApi<FunctionRecord[]>('/api/functions');
  return (
    <>
      <PageHeader
        title="Functions"
        subtitle="Deployed functions. Each is callable at /fn/<name>/ and can be queued with an input."
        actions={
          <Link className="btn btn-primary" to="/functions/new">
            New function
          </Link>
        }
      />
      <Card>
        <Async
          resource={functions}
          feature="Functions"
          empty={(list) =>
            list.length === 0 ? (
              <EmptyState
                title="No functions yet"
                action={
                  <Link className="btn btn-primary" to="/functions/new">
                    Create your first function
                  </Link>
                }
              >
                A function is one file exporting a handler: <code>export default {'{ fetch(request) { … } }'}</code> for HTTP, or a plain function for queued executions.
              </EmptyState>
            ) : null
          }
        >
          {(list) => (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Status</th>
                    <th className="hide-sm">Description</th>
                    <th className="hide-sm">Limits</th>
                    <th>Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((fn) => (
                    <tr key={fn.id}>
                      <td>
                        <Link to={`/functions/${encodeURIComponent(fn.name)}`} className="strong">
                          {fn.name}
                        </Link>
                        <div className="muted small mono">{fn.id}</div>
                      </td>
                      <td>
                        <StatusBadge status={fn.status} />
                      </td>
                      <td className="hide-sm">{fn.description || <span className="muted">—</span>}</td>
                      <td className="hide-sm small">
                        {fmtMs(fn.config.timeout)} timeout · {fn.config.memoryLimitMb} MiB · {fn.config.retryCount} retries
                      </td>
                      <td className="small">{fmtAgo(fn.updatedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Async>
      </Card>
    </>
  );
}
