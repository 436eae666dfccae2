/**
 * Vite build of the dashboard: `npm run build:dashboard` writes dashboard/dist, which the server
 * serves at `/` (src/api/dashboard-routes.ts). `vite --config dashboard/vite.config.ts` serves it
 * with hot reload and proxies the API to a running server (SPILLWAY_URL, default :5000).
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const target = process.env.SPILLWAY_URL ?? 'http://127.0.0.1:5000';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/api/events': { target: target.replace(/^http/, 'ws'), ws: true },
      '/api': target,
      '/fn': target,
    },
  },
});
