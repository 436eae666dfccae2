/**
 * Content-addressed blob storage: bytes are stored under the SHA-256 of their content, so a
 * digest names exactly one content forever and the same content is stored once.
 */
export interface BlobStore {
  /** Stores the bytes; returns their SHA-256 (hex). Idempotent. */
  put(data: Uint8Array | string): Promise<string>;
  /** The bytes stored under `digest`, or null. */
  get(digest: string): Promise<Buffer | null>;
  has(digest: string): Promise<boolean>;
  close(): Promise<void>;
}
