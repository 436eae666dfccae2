/**
 * Blobs on the local disk, under `<root>/<first two hex chars>/<digest>`. Writes go to a temp file
 * that is fsynced and renamed into place, so a crash never leaves a partial blob under a digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../types.js';

const DIGEST = /^[0-9a-f]{64}$/;

export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(digest: string): string {
    if (!DIGEST.test(digest)) throw new TypeError(`not a SHA-256 hex digest: ${digest}`);
    return join(this.root, digest.slice(0, 2), digest);
  }

  async put(data: Uint8Array | string): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = createHash('sha256').update(bytes).digest('hex');
    const target = this.pathOf(digest);
    if (await this.has(digest)) return digest;
    await mkdir(join(this.root, digest.slice(0, 2)), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
    return digest;
  }

  async get(digest: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.pathOf(digest));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}
}
