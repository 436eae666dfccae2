/** Data loading for pages: one request per key, with loading and error states, and a reload. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from './api.ts';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** Fetches again; the current data stays on screen while it loads. */
  reload: () => void;
}

/** GETs `path` (null: nothing to load yet) and re-fetches when it changes. */
export function useApi<T>(path: string | null): Resource<T> {
  const [state, setState] = useState<{ path: string | null; data?: T; error?: ApiError; loading: boolean }>({ path, loading: path !== null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setState((s) => ({ path, data: s.path === path ? s.data : undefined, error: s.path === path ? s.error : undefined, loading: true }));
    api<T>(path, { signal: controller.signal }).then(
      (data) => setState({ path, data, loading: false }),
      (err: unknown) => {
        if ((err as Error).name === 'AbortError') return;
        const error = err instanceof ApiError ? err : new ApiError(0, 'UNKNOWN', String(err));
        setState((s) => ({ path, data: s.path === path ? s.data : undefined, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.path === path;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: current ? state.loading : path !== null, reload };
}

/** Wraps `fn` so that a burst of calls runs it at most once per `ms` (the last call always runs). */
export function useThrottled(fn: () => void, ms: number): () => void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  return useCallback(() => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      fnRef.current();
    }, wait);
  }, [ms]);
}

/** Remembers a value in the URL-independent local storage (form fields the user tunes). */
export function useStored<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = localStorage.getItem(`spillway:${key}`);
      return raw === null ? initial : (JSON.parse(raw) as T);
    } catch {
      return initial;
    }
  });
  const set = useCallback(
    (v: T) => {
      setValue(v);
      try {
        localStorage.setItem(`spillway:${key}`, JSON.stringify(v));
      } catch {
        /* private mode: keep it in memory */
      }
    },
    [key],
  );
  return [value, set];
}
