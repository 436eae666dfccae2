/**
 * Globals installed the way a browser or Workers runtime has them (writable, configurable, not
 * enumerable), some of them lazily: the property starts as an accessor that evaluates the module
 * behind it on first access and then replaces itself with a plain data property, so an isolate
 * that never touches `URL` never evaluates whatwg-url and tr46's mapping table.
 *
 * Lazy modules are pulled in with `require()`: esbuild bundles a required ES module behind an
 * init function that runs on the first `require` call (the rest of the guest is evaluated when
 * the isolate starts), and the whole bundle still compiles from one V8 code cache.
 */

/**
 * Defines `name` on `target` as a standard global: writable, configurable, not enumerable. A
 * function (an interface object, `atob`, ...) also gets its `name`, which minification of the
 * guest bundle would otherwise have shortened (`URL.name` must be "URL").
 */
export function defineGlobal(target: object, name: string, value: unknown): void {
  if (typeof value === 'function' && value.name !== name) Object.defineProperty(value, 'name', { value: name, configurable: true });
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
}

/** Defines many globals at once. */
export function defineGlobals(target: object, values: Record<string, unknown>): void {
  for (const name of Object.keys(values)) defineGlobal(target, name, values[name]);
}

/**
 * Defines `name` on `target` so that the first read calls `load` and turns the property into a
 * plain data property holding its result; a write before that simply replaces it. While `load`
 * runs, the property reads as undefined, so a module that feature-tests the global it is about
 * to define sees it absent instead of recursing.
 */
export function defineLazyGlobal(target: object, name: string, load: () => unknown): void {
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: false,
    get() {
      defineGlobal(target, name, undefined);
      const value = load();
      defineGlobal(target, name, value);
      return value;
    },
    set(value: unknown) {
      defineGlobal(target, name, value);
    },
  });
}

/**
 * Defines several lazy globals that come from one module: the first read of any of them loads
 * it, and while it loads all of them read as undefined (a module may feature-test its siblings).
 * A read that comes while the library behind them is itself still being evaluated (whatwg-url
 * evaluating the Encoding library, which feature-tests TextEncoder) gets undefined, and the
 * globals stay lazy until a later read finds the library complete.
 */
export function defineLazyGlobals(target: object, names: string[], load: () => Record<string, unknown>): void {
  let loaded: Record<string, unknown> | null = null;
  let loading = false;
  const install = () => {
    for (const name of names) {
      Object.defineProperty(target, name, {
        configurable: true,
        enumerable: false,
        get: () => once()[name],
        set: (value: unknown) => defineGlobal(target, name, value),
      });
    }
  };
  const once = (): Record<string, unknown> => {
    if (loaded) return loaded;
    if (loading) return {};
    loading = true;
    for (const name of names) if (isLazy(target, name)) defineGlobal(target, name, undefined);
    let value: Record<string, unknown>;
    try {
      value = load();
    } finally {
      loading = false;
    }
    if (!names.every((name) => value[name] !== undefined)) {
      install();
      return {};
    }
    loaded = value;
    for (const name of names) if ((target as Record<string, unknown>)[name] === undefined) defineGlobal(target, name, value[name]);
    return loaded;
  };
  install();
}

function isLazy(target: object, name: string): boolean {
  return typeof Object.getOwnPropertyDescriptor(target, name)?.get === 'function';
}
