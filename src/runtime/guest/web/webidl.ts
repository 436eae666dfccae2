/**
 * WebIDL's shape for an interface written as a JS class: operations and attributes are
 * enumerable (class members are not, by default), and `Symbol.toStringTag` is a plain
 * non-writable, non-enumerable data property on the prototype.
 */
export function webidlInterface(ctor: abstract new (...args: never[]) => unknown, tag: string = ctor.name): void {
  for (const target of [ctor.prototype as object, ctor as object]) {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (key === 'constructor' || key === 'prototype' || key === 'length' || key === 'name') continue;
      const desc = Object.getOwnPropertyDescriptor(target, key)!;
      if (!desc.configurable || desc.enumerable) continue;
      if ('value' in desc && typeof desc.value !== 'function') continue;
      Object.defineProperty(target, key, { ...desc, enumerable: true });
    }
  }
  Object.defineProperty(ctor.prototype, Symbol.toStringTag, { value: tag, writable: false, enumerable: false, configurable: true });
}
