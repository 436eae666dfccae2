/** The shell: navigation (a sidebar on wide screens, a menu on phones) and the routes. */
import { useEffect, useState } from 'react';
import { NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { EmptyState, LiveIndicator } from './components.tsx';
import { ComparisonPage } from './pages/Comparison.tsx';
import { CostsPage } from './pages/Costs.tsx';
import { DashboardPage } from './pages/Dashboard.tsx';
import { ExecutionDetailPage } from './pages/ExecutionDetail.tsx';
import { ExecutionsPage } from './pages/Executions.tsx';
import { FunctionDetailPage, NewFunctionPage } from './pages/FunctionEditor.tsx';
import { FunctionsPage } from './pages/Functions.tsx';
import { LoadTesterPage } from './pages/LoadTester.tsx';
import { MonitoringPage } from './pages/Monitoring.tsx';

const NAV = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/functions', label: 'Functions' },
  { to: '/executions', label: 'Executions' },
  { to: '/monitoring', label: 'Monitoring' },
  { to: '/costs', label: 'Cost Monitoring' },
  { to: '/load-tester', label: 'Load Tester' },
] as const;

export function App() {
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setMenuOpen(false), [location.pathname]);
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/">
          <span className="brand-mark" aria-hidden="true" />
          Spillway
        </a>
        <LiveIndicator />
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen((o) => !o)}>
          {menuOpen ? 'Close' : 'Menu'}
        </button>
      </header>
      <nav id="nav" className={`nav ${menuOpen ? 'open' : ''}`} aria-label="Main">
        {NAV.map((item) => (
          <NavLink key={item.to} to={item.to} end={'end' in item ? item.end : false}>
            {item.label}
          </NavLink>
        ))}
        <div className="nav-foot muted">
          <a href="/metrics">Prometheus /metrics</a>
        </div>
      </nav>
      <main className="content">
        <Routes>
          <Route path="/" element={<DashboardPage />} />
          <Route path="/functions" element={<FunctionsPage />} />
          <Route path="/functions/new" element={<NewFunctionPage />} />
          <Route path="/functions/:name" element={<FunctionDetailPage />} />
          <Route path="/executions" element={<ExecutionsPage />} />
          <Route path="/executions/:id" element={<ExecutionDetailPage />} />
          <Route path="/monitoring" element={<MonitoringPage />} />
          <Route path="/costs" element={<CostsPage />} />
          <Route path="/costs/comparison" element={<ComparisonPage />} />
          <Route path="/load-tester" element={<LoadTesterPage />} />
          <Route path="*" element={<EmptyState title="No such page">Pick a page from the menu.</EmptyState>} />
        </Routes>
      </main>
    </div>
  );
}
