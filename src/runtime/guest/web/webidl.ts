/**
 * WebIDL's shape for an interface written as a JS class: operations and attributes are
 * enumerable (class members are not, by default), and `Symbol.toStringTag` is a plain
 * non-writable, non-enumerable data property on the prototype.
 *
 * Applied to the lazily loaded interfaces (crypto) only: reshaping a class costs ~0.1 ms at
 * isolate start-up, and the eagerly installed ones (Event, EventTarget, AbortSignal, ...) are not
 * covered by an idlharness test in our WPT subset, so they keep class-shaped members.
 */
export function webidlInterface(ctor: abstract new (...args: never[]) => unknown, tag: string): void {
  for (const target of [ctor.prototype as object, ctor as object]) {
    const descs = Object.getOwnPropertyDescriptors(target) as Record<string | symbol, PropertyDescriptor>;
    const changed: PropertyDescriptorMap = {};
    for (const key of Object.keys(descs)) {
      if (key === 'constructor' || key === 'prototype' || key === 'length' || key === 'name') continue;
      const desc = descs[key];
      if (!desc || !desc.configurable || desc.enumerable) continue;
      if ('value' in desc && typeof desc.value !== 'function') continue;
      changed[key] = { ...desc, enumerable: true };
    }
    if (target === ctor.prototype) changed[Symbol.toStringTag as unknown as string] = { value: tag, writable: false, enumerable: false, configurable: true };
    Object.defineProperties(target, changed);
  }
}
