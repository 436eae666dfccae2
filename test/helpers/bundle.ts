import { bundle } from '../../src/deploy/bundler.js';

/** Bundles one source file the way a deploy does, for tests that drive an IsolateHost directly. */
export async function bundleSource(code: string): Promise<{ bundle: string; plainParams: string[] | null }> {
  const result = await bundle({ files: { 'index.ts': code } });
  return { bundle: result.code, plainParams: result.plainParams };
}
