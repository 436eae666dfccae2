/**
 * Zero-config deploy: turns uploaded source (one file, or several with relative imports) into one
 * script an isolate can run, with esbuild. TypeScript and ES modules work as uploaded; errors come
 * back naming file, line and column.
 *
 * The bundle is an IIFE that assigns the entry's exports to `__spw_user`. A plain script that
 * exports nothing (seed 001's `function add(a, b) { … }`) gets its function exported as
 * `__spw_plain`, found with acorn on the type-stripped source.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Parser, type Node as AcornNode } from 'acorn';
import { build, transform, type Message, type Plugin } from 'esbuild';
import { SpillwayError } from '../core/errors.js';

export interface SourceFiles {
  /** File path (relative, forward slashes) → contents. */
  files: Record<string, string>;
  /** Entry file; default: the only file, or index.ts / index.js / index.mjs. */
  entry?: string;
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
  if (names.length === 1) return names[0];
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

/** esbuild plugin serving the uploaded files from memory; bare (npm) imports are refused for now. */
function virtualFiles(files: Record<string, string>): Plugin {
  return {
    name: 'spillway-virtual-files',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return { path: args.path, namespace: 'spw' };
        if (!args.path.startsWith('.') && !args.path.startsWith('/')) {
          return { errors: [{ text: `Cannot import "${args.path}": npm packages are not bundled at deploy yet; upload the code as files and import it relatively.` }] };
        }
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
export async function bundle(input: SourceFiles): Promise<BundleResult> {
  const files = normalize(input.files);
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

  let code: string;
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'iife',
      globalName: '__spw_user',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      sourcemap: false,
      plugins: [virtualFiles(sources)],
    });
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
  };
}
