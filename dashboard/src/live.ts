/**
 * One WebSocket to `/api/events` for the whole dashboard, shared by every page. Messages are seed
 * 001's envelope `{ type, data, timestamp }`. The socket asks for no `types`, so it receives every
 * type the server publishes (execution_*, scaling_event and, with the load tester, load_test_*).
 * When the connection drops it reconnects with exponential backoff (0.5 s doubling to 15 s, with
 * jitter), and pages that care refetch on reconnect so nothing missed while offline stays missing.
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';

export interface LiveMessage<T = Record<string, unknown>> {
  type: string;
  data: T;
  timestamp: string;
  missed?: number;
  /** Set by the client: a running number, unique per page load (a stable React key). */
  seq?: number;
}

export type LiveStatus = 'connecting' | 'open' | 'reconnecting';

const RECENT = 40;

type Listener = (message: LiveMessage) => void;

class LiveEvents {
  private socket: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private statusListeners = new Set<() => void>();
  private reconnectListeners = new Set<() => void>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private everOpened = false;
  private seq = 0;
  status: LiveStatus = 'connecting';
  /** The latest messages, newest first, for the activity feed (kept across page changes). */
  recent: LiveMessage[] = [];
  /** When the next reconnect attempt happens (ms since epoch), while reconnecting. */
  retryAt: number | null = null;

  start(): void {
    if (this.socket || this.timer) return;
    this.connect();
  }

  private setStatus(status: LiveStatus): void {
    this.status = status;
    this.statusListeners.forEach((l) => l());
  }

  private connect(): void {
    this.timer = null;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.retryAt = null;
      this.setStatus('open');
      if (this.everOpened) this.reconnectListeners.forEach((l) => l());
      this.everOpened = true;
    };
    socket.onmessage = (event) => {
      let message: LiveMessage;
      try {
        message = JSON.parse(String(event.data)) as LiveMessage;
      } catch {
        return;
      }
      message.seq = ++this.seq;
      this.recent = [message, ...this.recent].slice(0, RECENT);
      this.listeners.forEach((l) => l(message));
    };
    socket.onclose = () => {
      this.socket = null;
      const delay = Math.min(15_000, 500 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
      this.attempt++;
      this.retryAt = Date.now() + delay;
      this.setStatus('reconnecting');
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onStatus(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }
}

export const live = new LiveEvents();

/** The connection state, for the "Live" indicator. */
export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (cb) => live.onStatus(cb),
    () => live.status,
  );
}

/**
 * Calls `handler` for every live message whose type is in `types` (the latest handler: it may
 * close over fresh state without resubscribing), and `onReconnect` after the socket comes back.
 */
export function useLive(types: readonly string[], handler: (message: LiveMessage) => void, onReconnect?: () => void): void {
  const handlerRef = useRef(handler);
  handlerRef.current = handler;
  const reconnectRef = useRef(onReconnect);
  reconnectRef.current = onReconnect;
  const key = types.join(',');
  useEffect(() => {
    const wanted = new Set(key.split(','));
    const off = live.subscribe((m) => {
      if (wanted.has(m.type)) handlerRef.current(m);
    });
    const offReconnect = live.onReconnect(() => reconnectRef.current?.());
    return () => {
      off();
      offReconnect();
    };
  }, [key]);
}

/** The latest live messages, newest first (re-renders on every message). */
export function useRecentLive(): LiveMessage[] {
  return useSyncExternalStore(
    (cb) => live.subscribe(cb),
    () => live.recent,
  );
}
