/**
 * Function lifecycle: create, update (a code change is a new immutable version), delete, look up
 * by id or name. Every deploy is bundled, checked to load in a real isolate, and stored by the
 * SHA-256 of its bundle before the function points at it.
 */
import { SpillwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { BlobStore } from '../blobs/types.js';
import { bundle, type BundleResult } from '../deploy/bundler.js';
import type { NpmInstaller } from '../deploy/npm-deps.js';
import { determineTier } from '../executions/cost.js';
import { LIMITS, type CreateFunctionBody, type UpdateFunctionBody } from '../protocol/schemas.js';
import type { FunctionRuntime } from '../runtime/function-runtime.js';
import type { FunctionConfig, FunctionRecord, MetadataStore, VersionRecord } from '../storage/types.js';

export interface FunctionView extends FunctionRecord {
  /** Source of the entry file (seed 001's `code`). */
  code: string;
  entry: string;
  files: string[];
}

/** How long a name → function lookup for the invoke path is cached; writes on this node invalidate at once. */
const INVOKE_CACHE_MS = 1000;

export class FunctionService {
  private readonly invokeCache = new Map<string, { at: number; value: Promise<{ fn: FunctionRecord; version: VersionRecord }> }>();

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    /** Validates bundles, and forgets a function's warm isolates everywhere they run. */
    private readonly runtime: Pick<FunctionRuntime, 'validate' | 'evictFunction'>,
    /** Installs functions' package.json dependencies at deploy; without it they are refused. */
    private readonly npm?: NpmInstaller,
  ) {}

  /** Finds a function by id or by name; 404 otherwise. */
  async resolve(idOrName: string): Promise<FunctionRecord> {
    const fn = (await this.store.getFunction(idOrName)) ?? (await this.store.getFunctionByName(idOrName));
    if (!fn) throw new SpillwayError('FUNCTION_NOT_FOUND', `No function has the id or name "${idOrName}".`, { function: idOrName });
    return fn;
  }

  /** The function and its current version for a call on the hot path, cached briefly. */
  resolveForInvoke(name: string): Promise<{ fn: FunctionRecord; version: VersionRecord }> {
    const now = Date.now();
    const hit = this.invokeCache.get(name);
    if (hit && now - hit.at < INVOKE_CACHE_MS) return hit.value;
    const value = (async () => {
      const fn = await this.resolve(name);
      return { fn, version: await this.currentVersion(fn) };
    })();
    this.invokeCache.set(name, { at: now, value });
    value.catch(() => this.invokeCache.delete(name));
    if (this.invokeCache.size > 10_000) this.invokeCache.clear();
    return value;
  }

  async create(body: CreateFunctionBody): Promise<FunctionView> {
    if (await this.store.getFunctionByName(body.name)) throw nameTaken(body.name);
    const config: FunctionConfig = {
      timeout: body.config.timeout ?? LIMITS.timeout.default,
      retryCount: body.config.retryCount ?? LIMITS.retryCount.default,
      memoryLimitMb: body.config.memoryLimitMb ?? LIMITS.memoryLimitMb.default,
      cpuLimitMs: body.config.cpuLimitMs ?? LIMITS.cpuLimitMs.default,
    };
    const id = newId('fn');
    const built = await this.build(body.code !== undefined ? { 'index.ts': body.code } : (body.files as Record<string, string>), body.entry, config);
    const version = await this.storeVersion(id, built);
    const now = new Date().toISOString();
    const fn: FunctionRecord = {
      id,
      name: body.name,
      description: body.description,
      status: body.status,
      config,
      currentVersion: version.id,
      tier: determineTier(version.codeLength, config.timeout),
      createdAt: now,
      updatedAt: now,
    };
    if ((await this.store.createFunction(fn)) === 'name_taken') throw nameTaken(body.name);
    return this.view(fn);
  }

  async update(idOrName: string, body: UpdateFunctionBody): Promise<FunctionView> {
    const existing = await this.resolve(idOrName);
    const config: FunctionConfig = { ...existing.config, ...body.config };
    let version = await this.store.getVersion(existing.id, existing.currentVersion);
    if (body.code !== undefined || body.files !== undefined) {
      const built = await this.build(body.code !== undefined ? { 'index.ts': body.code } : (body.files as Record<string, string>), body.entry, config);
      version = await this.storeVersion(existing.id, built);
    }
    const codeLength = version?.codeLength ?? 0;
    const fn: FunctionRecord = {
      ...existing,
      name: body.name ?? existing.name,
      description: body.description ?? existing.description,
      status: body.status ?? existing.status,
      config,
      currentVersion: version?.id ?? existing.currentVersion,
      tier: determineTier(codeLength, config.timeout),
      updatedAt: new Date().toISOString(),
    };
    const result = await this.store.updateFunction(fn);
    if (result === 'name_taken') throw nameTaken(fn.name);
    if (result === 'not_found') throw new SpillwayError('FUNCTION_NOT_FOUND', `No function has the id or name "${idOrName}".`);
    this.invokeCache.clear();
    if (fn.currentVersion !== existing.currentVersion || fn.config.memoryLimitMb !== existing.config.memoryLimitMb) this.runtime.evictFunction(fn.id);
    return this.view(fn);
  }

  async remove(idOrName: string): Promise<FunctionRecord> {
    const fn = await this.resolve(idOrName);
    await this.store.deleteFunction(fn.id);
    this.invokeCache.clear();
    this.runtime.evictFunction(fn.id);
    return fn;
  }

  async list(): Promise<FunctionView[]> {
    const fns = await this.store.listFunctions();
    return Promise.all(fns.map((fn) => this.view(fn)));
  }

  async get(idOrName: string): Promise<FunctionView> {
    return this.view(await this.resolve(idOrName));
  }

  async versions(idOrName: string): Promise<VersionRecord[]> {
    const fn = await this.resolve(idOrName);
    return this.store.listVersions(fn.id);
  }

  async currentVersion(fn: FunctionRecord): Promise<VersionRecord> {
    const version = await this.store.getVersion(fn.id, fn.currentVersion);
    if (!version) throw new SpillwayError('INTERNAL', `Function ${fn.id} points at version ${fn.currentVersion}, which is not stored.`);
    return version;
  }

  private async build(files: Record<string, string>, entry: string | undefined, config: FunctionConfig): Promise<BundleResult> {
    const built = await bundle({ files, entry }, { npm: this.npm });
    await this.runtime.validate(built.code, built.plainParams, config.memoryLimitMb);
    return built;
  }

  private async storeVersion(functionId: string, built: BundleResult): Promise<VersionRecord> {
    const [codeDigest, sourceDigest] = await Promise.all([this.blobs.put(built.code), this.blobs.put(built.sourceJson)]);
    const version: VersionRecord = {
      id: codeDigest,
      functionId,
      entry: built.entry,
      sourceDigest,
      codeLength: built.codeLength,
      bundleBytes: Buffer.byteLength(built.code),
      plainParams: built.plainParams,
      createdAt: new Date().toISOString(),
    };
    await this.store.putVersion(version);
    return version;
  }

  private async view(fn: FunctionRecord): Promise<FunctionView> {
    const version = await this.store.getVersion(fn.id, fn.currentVersion);
    const source = version ? await this.blobs.get(version.sourceDigest) : null;
    const parsed = source ? (JSON.parse(source.toString('utf8')) as { entry: string; files: Record<string, string> }) : { entry: '', files: {} };
    return { ...fn, code: parsed.files[parsed.entry] ?? '', entry: parsed.entry, files: Object.keys(parsed.files) };
  }
}

function nameTaken(name: string): SpillwayError {
  return new SpillwayError('FUNCTION_NAME_TAKEN', `A function named "${name}" already exists; choose another name or update that function.`, { name });
}
