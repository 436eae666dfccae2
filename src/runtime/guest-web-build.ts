/**
 * esbuild plugins for the Web APIs bundled into the guest (src/runtime/guest/web/): used by the
 * guest build (./guest-code.ts).
 *
 * - whatwg-url's `require("tr46")` goes to ./guest/web/tr46-lazy.ts, which answers ASCII hosts
 *   itself and loads tr46 (and its mapping table, most of the URL code's start-up cost) only
 *   for a host that needs UTS #46 processing.
 */
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const TR46_LAZY = fileURLToPath(new URL('./guest/web/tr46-lazy.ts', import.meta.url));

const lazyTr46: Plugin = {
  name: 'spillway-lazy-tr46',
  setup(build) {
    build.onResolve({ filter: /^tr46$/ }, (args) => (/[\\/]whatwg-url[\\/]/.test(args.importer) ? { path: TR46_LAZY } : undefined));
  },
};

export const webBuildPlugins: Plugin[] = [lazyTr46];
