"use client";
// session-persist/react: React bindings, thin over the core entry.
//
// One store per session name, shared by every provider and hook of the page
// and reference-counted: React StrictMode's mount/unmount/mount opens one
// session, and the last unmount closes it. Components read the store with
// useSyncExternalStore, whose server snapshot is the empty context, so the
// server render and the first (hydrating) client render agree.

import { createContext, createElement, useContext, useEffect, useMemo, useSyncExternalStore } from "react";
import type { ReactNode } from "react";
import { openSession } from "./index.js";
import type { Session, SessionOptions, SnapshotInfo } from "./types.js";

/** Lifecycle of a session as the hooks see it. */
export type SessionStatus = "idle" | "restoring" | "ready" | "degraded" | "error" | "closed";

/** What `useSessionRecovery` returns. */
export interface SessionRecovery {
  /** The context; `{}` on the server, while hydrating and until restored. */
  contextData: Record<string, unknown>;
  updateContext(patch: Record<string, unknown>): void;
  shareContext(key: string, value: unknown): Promise<void>;
  createSnapshot(name?: string): Promise<string>;
  restoreSnapshot(id: string): Promise<void>;
  listSnapshots(limit?: number): Promise<SnapshotInfo[]>;
  /** False until the stored context is loaded. */
  isRestored: boolean;
  status: SessionStatus;
  error: Error | null;
  /** The open session, or null (server, opening, failed, closed). */
  session: Session | null;
}

/** Options of `useSessionRecovery`. */
export type RecoveryOptions = SessionOptions & {
  /** Load the stored context when mounting. Default true (`restoreOnOpen`). */
  restoreOnMount?: boolean;
  /** Restore this snapshot when mounting. */
  initialSnapshotId?: string;
};

interface State {
  ctx: Record<string, unknown>;
  status: SessionStatus;
  error: Error | null;
  session: Session | null;
}

const EMPTY: Record<string, unknown> = Object.freeze({});
const SERVER: State = Object.freeze({ ctx: EMPTY, status: "idle", error: null, session: null });
const notOpen = () => Object.assign(new Error("the session is not open yet (status is not \"ready\")"), { code: "CLOSED" });

type RemoteListener = (ctx: Record<string, unknown>) => void;
const remoteListeners = new Set<RemoteListener>();

/** One session name's store: its state, listeners and users. */
class Store {
  state: State = SERVER;
  private listeners = new Set<() => void>();
  private users = 0;
  private closing: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly name: string, private options: RecoveryOptions) {}

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  get = () => this.state;

  private set(patch: Partial<State>) {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  /** A component starts using the store: open the session if needed. */
  acquire() {
    this.users++;
    clearTimeout(this.closing);
    if (this.state.status !== "idle" && this.state.status !== "closed") return;
    const { restoreOnMount, ...options } = this.options;
    this.set({ status: "restoring", error: null });
    openSession({ ...options, restoreOnOpen: restoreOnMount ?? options.restoreOnOpen }).then(
      (session) => {
        session.subscribe((ctx, change) => {
          this.set({ ctx });
          if (change.source === "tab") for (const fn of remoteListeners) fn(ctx);
        });
        this.set({ session, ctx: session.get(), status: session.info().degraded ? "degraded" : "ready" });
        // Unmounted while opening: close now.
        if (this.users === 0) this.release();
      },
      (error: Error) => this.set({ status: "error", error }),
    );
  }

  /** A component stops using the store: close the session after the last one
   *  goes, a task later, so StrictMode's unmount-then-mount keeps it open. */
  release() {
    this.users = Math.max(0, this.users - 1);
    clearTimeout(this.closing);
    this.closing = setTimeout(() => {
      const { session } = this.state;
      if (this.users > 0 || !session) return;
      stores.delete(this.name);
      this.set({ status: "closed", session: null });
      session.close().catch(() => {});
    });
  }
}

const stores = new Map<string, Store>();

function storeFor(options: RecoveryOptions): Store {
  const name = options.name ?? "default";
  let store = stores.get(name);
  if (!store) stores.set(name, (store = new Store(name, options)));
  return store;
}

const ProviderStore = createContext<Store | null>(null);

function useStore(options: RecoveryOptions | undefined, inherit: boolean): Store {
  const provided = useContext(ProviderStore);
  const own = useMemo(() => (inherit && provided ? null : storeFor(options ?? {})), [inherit && provided, options?.name]);
  const store = (inherit && provided) || own!;
  useEffect(() => {
    if (store === provided) return; // the provider holds it
    store.acquire();
    return () => store.release();
  }, [store, provided]);
  return store;
}

function useStoreState(store: Store): State {
  return useSyncExternalStore(store.subscribe, store.get, () => SERVER);
}

/** Opens one session for its subtree; hooks inside share it. */
export function SessionProvider(props: { options?: SessionOptions; children?: ReactNode }) {
  const store = useStore(props.options, false);
  return createElement(ProviderStore.Provider, { value: store }, props.children);
}

/**
 * The session's context and actions. Inside a `SessionProvider` it uses the
 * provider's session; outside one it opens (and on unmount closes) its own,
 * shared with other hooks of the same `name`.
 *
 * Server-side rendering: returns `{}` with status `"idle"`; nothing is opened
 * until the component mounts in the browser.
 */
export function useSessionRecovery(options?: RecoveryOptions): SessionRecovery {
  const store = useStore(options, true);
  const state = useStoreState(store);
  return useMemo(() => {
    const s = state.session;
    const need = () => {
      if (!s) throw notOpen();
      return s;
    };
    return {
      contextData: state.ctx,
      updateContext: (patch) => need().update(patch),
      shareContext: async (key, value) => need().share(key, value),
      createSnapshot: async (name) => need().createSnapshot(name),
      restoreSnapshot: async (id) => need().restoreSnapshot(id),
      listSnapshots: async (limit) => need().listSnapshots(limit),
      isRestored: state.status === "ready" || state.status === "degraded",
      status: state.status,
      error: state.error,
      session: s,
    };
  }, [state]);
}

/**
 * The context (or one key of it), re-rendering on every change. Uses the
 * nearest `SessionProvider`, else the session named "default".
 *
 * Server-side rendering: `{}` (or `undefined` for a key).
 */
export function useSessionContext(): Record<string, unknown>;
export function useSessionContext<T>(key: string): T | undefined;
export function useSessionContext<T>(key?: string): Record<string, unknown> | T | undefined {
  const ctx = useStoreState(useStore(undefined, true)).ctx;
  return key === undefined ? ctx : (ctx[key] as T | undefined);
}

/** Calls `fn(ctx)` when another tab changes a session opened through these bindings. */
export function onSessionStorageChange(fn: RemoteListener): () => void {
  remoteListeners.add(fn);
  return () => remoteListeners.delete(fn);
}
