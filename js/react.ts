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

type Ctx = Record<string, unknown>;

/** Lifecycle of a session as the hooks see it. */
export type SessionStatus = "idle" | "restoring" | "ready" | "degraded" | "error" | "closed";

/** What `useSessionRecovery` returns. The action functions keep their identity. */
export interface SessionRecovery<T extends Ctx = Ctx> {
  /** The context; `{}` on the server, while hydrating and until restored. */
  contextData: Partial<T>;
  updateContext(patch: Partial<T>): void;
  shareContext<K extends keyof T & string>(key: K, value: T[K]): Promise<void>;
  createSnapshot(name?: string): Promise<string>;
  restoreSnapshot(id: string): Promise<void>;
  listSnapshots(limit?: number): Promise<SnapshotInfo[]>;
  /** False until the stored context is loaded. */
  isRestored: boolean;
  status: SessionStatus;
  /** Why opening failed, or the last background failure (`error` event). */
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
  ctx: Ctx;
  status: SessionStatus;
  error: Error | null;
  session: Session | null;
}

type Actions = Pick<SessionRecovery, "updateContext" | "shareContext" | "createSnapshot" | "restoreSnapshot" | "listSnapshots">;

const SERVER: State = Object.freeze({ ctx: Object.freeze({}), status: "idle", error: null, session: null });
const serverState = () => SERVER;

type RemoteListener = (ctx: Ctx, name: string) => void;
const remoteListeners = new Set<RemoteListener>();

/** One session name's store: its state, listeners and users. */
class Store {
  state: State = SERVER;
  readonly actions: Actions;
  private listeners = new Set<() => void>();
  private users = 0;
  private closing: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly name: string, private options: RecoveryOptions) {
    const need = () => {
      const s = this.state.session;
      if (s) return s;
      throw Object.assign(new Error(`session "${name}" is not open yet (status "${this.state.status}"); wait for isRestored`), {
        code: "NOT_READY",
      });
    };
    this.actions = {
      updateContext: (patch) => need().update(patch),
      shareContext: async (key, value) => need().share(key, value),
      createSnapshot: async (n) => need().createSnapshot(n),
      restoreSnapshot: async (id) => need().restoreSnapshot(id),
      listSnapshots: async (limit) => need().listSnapshots(limit),
    };
  }

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
    // Opening, or open: nothing to do. Idle, closed or failed: (re)open.
    if (this.state.status === "restoring" || this.state.session) return;
    const { restoreOnMount, ...options } = this.options;
    this.set({ status: "restoring", error: null });
    openSession({ ...options, restoreOnOpen: restoreOnMount ?? options.restoreOnOpen }).then(
      (session) => {
        session.subscribe((ctx, change) => {
          this.set({ ctx });
          if (change.source === "tab") for (const fn of remoteListeners) fn(ctx, this.name);
        });
        session.on("degraded", () => this.set({ status: "degraded" }));
        session.on("error", (d) => this.set({ error: (d as { error?: Error }).error ?? null }));
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

/** The provider's store when it serves `options` (no name, or the same
 *  name); else the shared store of that name, held while mounted. */
function useStore(options: RecoveryOptions | undefined, inherit: boolean): Store {
  const provided = useContext(ProviderStore);
  const name = options?.name;
  const useProvided = inherit && provided && (name === undefined || name === provided.name) ? provided : null;
  const own = useMemo(() => (useProvided ? null : storeFor(options ?? {})), [useProvided, name]);
  const store = useProvided ?? own!;
  useEffect(() => {
    if (store === useProvided) return; // the provider holds it
    store.acquire();
    return () => store.release();
  }, [store, useProvided]);
  return store;
}

/** Opens one session for its subtree; hooks inside share it. */
export function SessionProvider(props: { options?: SessionOptions; children?: ReactNode }) {
  const store = useStore(props.options, false);
  return createElement(ProviderStore.Provider, { value: store }, props.children);
}

/**
 * The session's context and actions. Inside a `SessionProvider` (with no
 * `name`, or the provider's) it uses the provider's session; otherwise it
 * opens (and on unmount closes) one shared with other hooks of that `name`.
 * The action functions are stable: safe as effect dependencies.
 *
 * Server-side rendering: returns `{}` with status `"idle"`; nothing is opened
 * until the component mounts in the browser.
 */
export function useSessionRecovery<T extends Ctx = Ctx>(options?: RecoveryOptions): SessionRecovery<T> {
  const store = useStore(options, true);
  const state = useSyncExternalStore(store.subscribe, store.get, serverState);
  return useMemo(
    () => ({
      ...(store.actions as unknown as SessionRecovery<T>),
      contextData: state.ctx as Partial<T>,
      isRestored: state.status === "ready" || state.status === "degraded",
      status: state.status,
      error: state.error,
      session: state.session,
    }),
    [store, state],
  );
}

/**
 * The context (or one key of it) of the nearest `SessionProvider`, else of
 * the session named "default". With a key, re-renders only when that key's
 * value changes.
 *
 * Server-side rendering: `{}` (or `undefined` for a key).
 */
export function useSessionContext(): Ctx;
export function useSessionContext<T>(key: string): T | undefined;
export function useSessionContext<T>(key?: string): Ctx | T | undefined {
  const store = useStore(undefined, true);
  const select = (): Ctx | T | undefined => (key === undefined ? store.state.ctx : (store.state.ctx[key] as T | undefined));
  const server = (): Ctx | undefined => (key === undefined ? SERVER.ctx : undefined);
  return useSyncExternalStore<Ctx | T | undefined>(store.subscribe, select, server);
}

/** Calls `fn(ctx, name)` when another tab changes a session opened through
 *  these bindings; returns an unsubscribe function. */
export function onSessionStorageChange(fn: RemoteListener): () => void {
  remoteListeners.add(fn);
  return () => remoteListeners.delete(fn);
}
