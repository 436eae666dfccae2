/**
 * Zero-config deploy: turns uploaded source (one file, or several with relative imports) into one
 * script an isolate can run, with esbuild. TypeScript and ES modules work as uploaded; errors come
 * back naming file, line and column.
 *
 * The bundle is an IIFE that assigns the entry's exports to `__spw_user`. A plain script that
 * exports nothing (seed 001's `function add(a, b) { … }`) gets its function exported as
 * `__spw_plain`, found with acorn on the type-stripped source.
 *
 * npm packages: a `package.json` among the files with `dependencies` is installed by
 * ./npm-deps.ts, and bare imports resolve from that install with the conditions Workers code is
 * published for (`workerd`, `worker`, `browser`). Everything a bundle takes from the disk must
 * lie inside that install's `node_modules`; Node built-ins are refused, naming the import.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { posix, sep } from 'node:path';
import { Parser, type Node as AcornNode } from 'acorn';
import { build, transform, type BuildOptions, type Message, type OnResolveArgs, type OnResolveResult, type Plugin, type PluginBuild } from 'esbuild';
import { SpillwayError } from '../core/errors.js';
import { readDependencies, type InstalledDependencies, type NpmInstaller } from './npm-deps.js';

export interface SourceFiles {
  /** File path (relative, forward slashes) → contents. */
  files: Record<string, string>;
  /** Entry file; default: the only file, or index.ts / index.js / index.mjs. */
  entry?: string;
}

export interface BundleOptions {
  /** Installs `package.json` dependencies; without it, a function that declares some is refused. */
  npm?: NpmInstaller;
}

export interface BundleResult {
  code: string;
  /** SHA-256 of `code`: the version id. */
  digest: string;
  entry: string;
  /** Canonical JSON of the file set, for the blob store. */
  sourceJson: string;
  codeLength: number;
  plainParams: string[] | null;
  /** The npm dependency set the bundle was built with, if any. */
  dependencies: { key: string; packages: Record<string, string>; reused: boolean } | null;
}

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'jsx' | 'json' | 'text'> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
  '.json': 'json',
  '.txt': 'text',
};
const RESOLVE_SUFFIXES = ['', '.ts', '.tsx', '.js', '.mjs', '.jsx', '.json', '/index.ts', '/index.js'];
const ENTRY_CANDIDATES = ['index.ts', 'index.js', 'index.mjs', 'index.tsx', 'main.ts', 'main.js', 'worker.ts', 'worker.js'];
const MAX_FILES = 200;
const FILE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[\w@.\-/]+$/;

function normalize(files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const names = Object.keys(files);
  if (names.length === 0) throw new SpillwayError('VALIDATION_FAILED', 'files: got no files; send `code` or at least one entry in `files`.');
  if (names.length > MAX_FILES) throw new SpillwayError('VALIDATION_FAILED', `files: got ${names.length} files, at most ${MAX_FILES} are allowed.`);
  for (const name of names) {
    const clean = posix.normalize(name.replace(/^\.\//, ''));
    if (!FILE_PATH.test(clean)) throw new SpillwayError('VALIDATION_FAILED', `files: "${name}" is not a valid relative path (no "..", no leading "/").`);
    if (typeof files[name] !== 'string') throw new SpillwayError('VALIDATION_FAILED', `files["${name}"]: must be a string of source code.`);
    out[clean] = files[name];
  }
  return out;
}

function pickEntry(files: Record<string, string>, entry?: string): string {
  const names = Object.keys(files);
  if (entry !== undefined) {
    const clean = posix.normalize(entry.replace(/^\.\//, ''));
    if (!(clean in files)) throw new SpillwayError('VALIDATION_FAILED', `entry: "${entry}" is not one of the uploaded files (${names.join(', ')}).`);
    return clean;
  }
  const sources = names.filter((n) => n !== 'package.json' && n !== 'package-lock.json');
  if (sources.length === 1) return sources[0];
  // package.json's own "main" (or "module") names the entry, as in any npm project.
  if ('package.json' in files) {
    const pkg = JSON.parse(files['package.json']) as { main?: unknown; module?: unknown };
    for (const field of [pkg.module, pkg.main]) {
      if (typeof field !== 'string') continue;
      const clean = posix.normalize(field.replace(/^\.\//, ''));
      if (clean in files) return clean;
    }
  }
  const found = ENTRY_CANDIDATES.find((c) => c in files);
  if (!found) throw new SpillwayError('VALIDATION_FAILED', `entry: several files were uploaded and none is named ${ENTRY_CANDIDATES.join(', ')}; say which one is the entry.`);
  return found;
}

function formatMessages(messages: Message[]): string {
  return messages
    .slice(0, 5)
    .map((m) => (m.location ? `${m.location.file.replace(/^spw:/, '')}:${m.location.line}:${m.location.column + 1}: ${m.text}` : m.text))
    .join('\n');
}

function buildError(messages: Message[]): SpillwayError {
  const first = messages[0]?.location;
  return new SpillwayError('BUILD_FAILED', `The code did not build:\n${formatMessages(messages)}`, {
    file: first?.file.replace(/^spw:/, ''),
    line: first?.line,
    column: first ? first.column + 1 : undefined,
    errors: messages.slice(0, 20).map((m) => ({ text: m.text, file: m.location?.file.replace(/^spw:/, ''), line: m.location?.line, column: m.location ? m.location.column + 1 : undefined, lineText: m.location?.lineText })),
  });
}

/** Marks resolutions the plugin asks esbuild for itself, so it does not intercept them again. */
const INNER = Symbol('spillway-inner-resolve');

function refuse(text: string): OnResolveResult {
  return { errors: [{ text }] };
}

function isInside(path: string, root: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  return real === root || real.startsWith(root + sep);
}

/**
 * esbuild plugin serving the uploaded files from memory and, when the function declares npm
 * dependencies, resolving bare imports from their install, confined to its `node_modules`.
 */
function virtualFiles(files: Record<string, string>, deps: InstalledDependencies | null, declared: string[]): Plugin {
  const root = deps ? realpathSync(deps.nodeModules) : '';

  const resolvePackage = async (b: PluginBuild, args: OnResolveArgs, resolveDir: string): Promise<OnResolveResult | undefined> => {
    const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
    const builtin = args.path.startsWith('node:') || isBuiltin(args.path);
    if (!deps) {
      if (builtin) return refuse(`Cannot import "${args.path}": it is a Node.js built-in module, and functions run on Web APIs (see docs/handler-contract.md).`);
      return refuse(`Cannot import "${args.path}": npm packages are bundled only when declared in a package.json among the uploaded files ("dependencies": { "${name}": "<version>" }); see docs/handler-contract.md.`);
    }
    if (args.path.startsWith('node:')) return refuse(`Cannot import "${args.path}": it is a Node.js built-in module, and functions run on Web APIs, not Node's.`);
    const r = await b.resolve(args.path, { kind: args.kind, resolveDir, importer: args.importer, pluginData: INNER });
    if (r.errors.length > 0) {
      // A package of the same name as a built-in ("buffer", "events") is fine when installed; otherwise say what it is.
      if (builtin) return refuse(`Cannot import "${args.path}": it is a Node.js built-in module, and functions run on Web APIs, not Node's; use a package that works in Workers or browsers.`);
      return refuse(`Cannot import "${args.path}": no installed package provides it (package.json declares ${declared.map((d) => `"${d}"`).join(', ')}).`);
    }
    return confine(args.path, r);
  };

  const confine = (request: string, r: OnResolveResult & { path?: string; namespace?: string }): OnResolveResult | undefined => {
    // A module disabled by a package's "browser" map ("fs": false): esbuild's own resolution makes it an empty module.
    if (r.namespace === '') return undefined;
    if (r.namespace !== 'file' || !r.path) return r;
    if (!isInside(r.path, root)) return refuse(`Cannot import "${request}": it resolves outside the function's installed packages; a bundle may only read its own files and its node_modules.`);
    return r;
  };

  return {
    name: 'spillway-virtual-files',
    setup(b) {
      // seed 000's `import { Platform } from '@ltbase/sdk'`: the isolate's global Platform bindings
      // (src/runtime/guest/bindings.ts), so the seed's handler deploys unchanged.
      b.onResolve({ filter: /^@ltbase\/sdk$/ }, () => ({ path: '@ltbase/sdk', namespace: 'spw-platform' }));
      b.onLoad({ filter: /.*/, namespace: 'spw-platform' }, () => ({ contents: 'export const Platform = globalThis.Platform;', loader: 'js' }));
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === INNER) return undefined;
        if (args.kind === 'entry-point') return { path: args.path, namespace: 'spw' };
        const bare = !args.path.startsWith('.') && !args.path.startsWith('/');
        if (args.namespace !== 'spw') {
          // An import inside an installed package.
          if (bare) return resolvePackage(b, args, args.resolveDir);
          const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: INNER });
          if (r.errors.length > 0) return { errors: r.errors };
          return confine(args.path, r);
        }
        if (bare) return resolvePackage(b, args, deps?.dir ?? '');
        const base = args.path.startsWith('/') ? args.path.slice(1) : posix.join(posix.dirname(args.importer), args.path);
        for (const suffix of RESOLVE_SUFFIXES) {
          const candidate = posix.normalize(base + suffix);
          if (candidate in files) return { path: candidate, namespace: 'spw' };
          // TypeScript sources import "./util.js" meaning "./util.ts".
          const swapped = candidate.replace(/\.(m|c)?js$/, '.$1ts');
          if (swapped !== candidate && swapped in files) return { path: swapped, namespace: 'spw' };
        }
        return { errors: [{ text: `Cannot find "${args.path}" among the uploaded files (${Object.keys(files).join(', ')}).` }] };
      });
      b.onLoad({ filter: /.*/, namespace: 'spw' }, (args) => ({
        contents: files[args.path],
        loader: LOADERS[posix.extname(args.path)] ?? 'ts',
        resolveDir: posix.dirname(args.path),
      }));
    },
  };
}

type Params = string[] | null;

function paramNames(params: AcornNode[]): Params {
  const names: string[] = [];
  for (const p of params as Array<AcornNode & { name?: string; left?: AcornNode & { name?: string } }>) {
    if (p.type === 'Identifier' && p.name) names.push(p.name);
    else if (p.type === 'AssignmentPattern' && p.left?.type === 'Identifier' && p.left.name) names.push(p.left.name);
    else return null;
  }
  return names;
}

interface EntryShape {
  hasDefault: boolean;
  exportedFunctions: Array<{ name: string; params: Params }>;
  topLevelFunctions: Array<{ name: string; params: Params }>;
}

async function analyzeEntry(path: string, source: string): Promise<EntryShape> {
  const loader = LOADERS[posix.extname(path)] ?? 'ts';
  const js = loader === 'json' || loader === 'text' ? '' : (await transform(source, { loader, format: 'esm', target: 'es2022' })).code;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const program = Parser.parse(js, { ecmaVersion: 'latest', sourceType: 'module' }) as any;
  const shape: EntryShape = { hasDefault: false, exportedFunctions: [], topLevelFunctions: [] };
  const fnOf = (node: { type: string; id?: { name: string } | null; params: AcornNode[] }) => (node.id ? { name: node.id.name, params: paramNames(node.params) } : null);
  for (const node of program.body) {
    if (node.type === 'ExportDefaultDeclaration') shape.hasDefault = true;
    else if (node.type === 'ExportNamedDeclaration') {
      if (node.declaration?.type === 'FunctionDeclaration') {
        const fn = fnOf(node.declaration);
        if (fn) shape.exportedFunctions.push(fn);
      }
      for (const spec of node.specifiers ?? []) if (spec.exported?.name === 'default') shape.hasDefault = true;
    } else if (node.type === 'FunctionDeclaration') {
      const fn = fnOf(node);
      if (fn) shape.topLevelFunctions.push(fn);
    } else if (node.type === 'ExpressionStatement' && /module\.exports|exports\./.test(js.slice(node.start, node.end))) {
      shape.hasDefault = true; // CommonJS: esbuild exposes module.exports as the module.
    }
  }
  return shape;
}

/** Bundles uploaded source into a version; throws BUILD_FAILED or NO_HANDLER with the place and the fix. */
export async function bundle(input: SourceFiles, options: BundleOptions = {}): Promise<BundleResult> {
  const files = normalize(input.files);
  const declared = readDependencies(files);
  const entry = pickEntry(files, input.entry);
  const codeLength = Object.values(files).reduce((n, s) => n + s.length, 0);

  let shape: EntryShape;
  try {
    shape = await analyzeEntry(entry, files[entry]);
  } catch (err) {
    const e = err as { errors?: Message[]; message: string; loc?: { line: number; column: number } };
    if (e.errors) throw buildError(e.errors.map((m) => ({ ...m, location: m.location ? { ...m.location, file: entry } : null })));
    throw new SpillwayError('BUILD_FAILED', `The code did not build:\n${entry}${e.loc ? `:${e.loc.line}:${e.loc.column + 1}` : ''}: ${e.message}`);
  }

  let plainParams: Params = null;
  const sources = { ...files };
  if (!shape.hasDefault) {
    const candidates = shape.exportedFunctions.length > 0 ? shape.exportedFunctions : shape.topLevelFunctions;
    const chosen = candidates.find((f) => f.name === 'handler') ?? candidates.find((f) => f.name === 'main') ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!chosen) {
      const names = candidates.map((f) => f.name);
      throw new SpillwayError(
        'NO_HANDLER',
        names.length === 0
          ? `${entry} exports nothing callable. Export a default { fetch } object or function, or declare one top-level function.`
          : `${entry} declares ${names.length} functions (${names.join(', ')}) and none is the default export or named handler/main; say which one to call.`,
      );
    }
    plainParams = chosen.params;
    sources[entry] = `${files[entry]}\n;export { ${chosen.name} as __spw_plain };\n`;
  }

  let installed: InstalledDependencies | null = null;
  if (declared) {
    if (!options.npm) throw new SpillwayError('DEPENDENCY_INSTALL_FAILED', 'package.json declares dependencies, but this server does not install npm packages; upload the code as files instead.');
    installed = await options.npm.install(declared);
  }

  let code: string;
  try {
    const buildOptions: BuildOptions & { write: false } = {
      entryPoints: [entry],
      bundle: true,
      format: 'iife',
      globalName: '__spw_user',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      sourcemap: false,
      plugins: [virtualFiles(sources, installed, declared ? Object.keys(declared.dependencies) : [])],
    };
    if (installed) {
      Object.assign(buildOptions, {
        // What Workers-targeting packages publish for; never Node's entry points.
        platform: 'browser',
        conditions: ['workerd', 'worker', 'browser'],
        mainFields: ['browser', 'module', 'main'],
        // Libraries branch on it; Workers bundlers define it the same way.
        define: { 'process.env.NODE_ENV': '"production"' },
        // Error locations inside packages read "node_modules/…", not the server's folders.
        absWorkingDir: installed.dir,
      });
    }
    const result = await build(buildOptions);
    code = result.outputFiles[0].text;
  } catch (err) {
    const e = err as { errors?: Message[] };
    if (e.errors?.length) throw buildError(e.errors);
    throw err;
  }
  const sortedFiles = Object.fromEntries(Object.keys(files).sort().map((k) => [k, files[k]]));
  return {
    code,
    digest: createHash('sha256').update(code).digest('hex'),
    entry,
    sourceJson: JSON.stringify({ entry, files: sortedFiles }),
    codeLength,
    plainParams,
    dependencies: declared && installed ? { key: declared.key, packages: declared.dependencies, reused: installed.reused } : null,
  };
}
