/**
 * The registry structuredClone consults for platform objects (kept apart from the clone code so
 * registering costs nothing at start-up while structuredClone itself loads on first use). Each
 * Web API module says how to recognise its instances and, for serializable ones (Blob, File,
 * DOMException), how to copy them; any other platform object is refused with a DataCloneError.
 */
export interface PlatformType {
  /** Brand check: true for instances of this interface (not for look-alikes). */
  is(value: object): boolean;
  /** Copies a serializable instance; absent for non-serializable interfaces. */
  clone?(value: object): object;
}

export const platformTypes: PlatformType[] = [];

/** Lets a Web API module make its objects cloneable (give `clone`) or refused (omit it). */
export function registerPlatformType(type: PlatformType): void {
  platformTypes.push(type);
}
