// Public types of session-persist (the contract is shared/API.md).

/** Names of the events a session raises; see `Session.on`. */
export type SessionEvent =
  | "saved"
  | "restored"
  | "recovered"
  | "degraded"
  | "remote-change"
  | "error";

/** Options of `openSession`. Every field is optional. */
export interface SessionOptions {
  /** Namespace: one IndexedDB database / key prefix / channel per name. Default `"default"`. */
  name?: string;
  /** Where to persist. `"auto"` (default): IndexedDB, else localStorage, else memory. */
  storage?: "auto" | "indexeddb" | "localstorage" | "memory";
  /** Periodic save, in ms. Default 30000; 0 turns the timer off. */
  autoSaveInterval?: number;
  /** Ms of quiet after a change before it is written. */
  saveDebounce?: number;
  /** Share changes with the other tabs of this origin and name. Default true. */
  crossTab?: boolean;
  /** Schema version of the context. Default 0. */
  version?: number;
  /** Upgrades a context stored with an older `version`. */
  migrate?: (old: object, fromVersion: number) => object | Promise<object>;
  /** Which top-level keys are persisted (all by default). */
  persist?: { include?: string[]; exclude?: string[] };
  /** Snapshot retention. Defaults: 10 snapshots, 30 days. */
  snapshots?: { maxCount?: number; maxAgeDays?: number };
  /** Earlier saved versions kept for recovery. Default 5. */
  backups?: number;
  /** Largest serialized context accepted, in bytes. Default 1 MiB. */
  maxContextBytes?: number;
  /** Load the stored context when opening. Default true. */
  restoreOnOpen?: boolean;
  /** Restore this snapshot when opening. */
  initialSnapshotId?: string;
  /** Called for every event, including those raised while opening. */
  onEvent?: (event: SessionEvent, detail: unknown) => void;
}

/** What changed, passed to `subscribe` listeners. */
export interface Change {
  /** Where the change came from. */
  source: "local" | "tab" | "restore" | "snapshot" | "server";
  /** Top-level keys that changed. */
  keys: string[];
}

/** One entry of `Session.listSnapshots()`. */
export interface SnapshotInfo {
  id: string;
  name: string;
  /** Epoch ms. */
  createdAt: number;
  /** `"pre-restore"` snapshots are taken automatically before a restore. */
  source: "manual" | "auto" | "pre-restore";
  /** Stored size. */
  bytes: number;
}

/** Health of a session, from `Session.info()`. */
export interface SessionInfo {
  sessionId: string;
  tabId: string;
  /** Storage actually in use. */
  backend: "indexeddb" | "localstorage" | "memory";
  /** Bumped on every change of the context. */
  revision: number;
  /** True while changes wait to be saved. */
  dirty: boolean;
  /** Epoch ms of the last successful save. */
  lastSavedAt: number | null;
  /** How many times a stored context was restored. */
  restoreCount: number;
  /** Epoch ms of the last restore. */
  lastRestoredAt: number | null;
  /** True if the latest record was damaged and a backup was used. */
  recoveredFromBackup: boolean;
  /** Why storage is not the one asked for, or null. */
  degraded: string | null;
  /** Stored size of the context in bytes (an addition to API.md). */
  bytes: number;
}

/** A persisted context, shared by the tabs of one origin and name. */
export interface Session {
  /** Same in every tab of this origin and name; equals `getOrCreateSessionId(name)`. */
  readonly sessionId: string;
  /** This tab; kept across its reloads. */
  readonly tabId: string;
  /** The whole context: a new object after each change (treat it as read-only). */
  get(): Readonly<Record<string, unknown>>;
  /** One top-level key. */
  get<T = unknown>(key: string): T | undefined;
  /** Shallow merge; a key set to `undefined` is removed. Throws on bad values. */
  update(patch: Record<string, unknown>): void;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /** Set, save now, and tell every other tab now. */
  share(key: string, value: unknown): Promise<void>;
  /** Write what is pending, now. */
  save(): Promise<void>;
  /** Called after each change; returns the unsubscribe function. */
  subscribe(fn: (ctx: Readonly<Record<string, unknown>>, change: Change) => void): () => void;
  /** Listen to one event; returns the unsubscribe function. */
  on(event: SessionEvent, fn: (detail: unknown) => void): () => void;
  /** Returns the new snapshot's id. */
  createSnapshot(name?: string): Promise<string>;
  /** Newest first. */
  listSnapshots(limit?: number): Promise<SnapshotInfo[]>;
  restoreSnapshot(id: string): Promise<void>;
  deleteSnapshot(id: string): Promise<void>;
  info(): SessionInfo;
  /** Remove the context, snapshots and backups of this name. */
  clear(): Promise<void>;
  /** Save, then release timers and channels. Later calls fail with code `CLOSED`. */
  close(): Promise<void>;
}

/** Every error thrown or rejected by session-persist carries a stable `code`. */
export interface SessionError extends Error {
  /** E.g. `"NOT_SERIALIZABLE"`, `"TOO_LARGE"`, `"SNAPSHOT_NOT_FOUND"`, `"CLOSED"`, `"NOT_AUTHENTICATED"`. */
  code: string;
}

/** Tokens of a login, as `signIn` takes them and `refresh` returns them. */
export interface Tokens {
  /** Sent in the `headerName` header of every `auth.fetch`. */
  accessToken: string;
  /** Given to `refresh()`; when a refresh returns none, the old one is kept. */
  refreshToken?: string;
  /** When the access token expires, in epoch milliseconds (not seconds). */
  expiresAt: number;
}

/** Options of `openAuthSession`. Only `refresh` is required. */
export interface AuthOptions {
  /** Namespace: its own storage, channel and lock. Default `"default"`. */
  name?: string;
  /** Checked on open: `GET` with the header; 2xx valid, 401/403 invalid (cleared). */
  statusUrl?: string;
  /** Instead of `statusUrl`: resolves to whether stored tokens are still good. */
  validate?: (tokens: Tokens) => Promise<boolean>;
  /**
   * Asks your server for new tokens. Reject with an error whose `status` is
   * 400, 401 or 403 when the refresh token was refused (final: state
   * `"expired"`); any other error is transient and retried per `retry`.
   */
  refresh: (tokens: Tokens) => Promise<Tokens>;
  /** Ms before `expiresAt` to refresh. Default 5 minutes, never more than half the token's lifetime. */
  refreshMargin?: number;
  /** Header carrying the access token. Default `"X-Session-Token"`. */
  headerName?: string;
  /** Retries of network errors and 5xx (and of transient refresh failures). Defaults: 5 tries, 250 ms, 10 s; full jitter. */
  retry?: { attempts?: number; baseDelay?: number; maxDelay?: number };
}

/**
 * Where an auth session stands. `authenticating`: stored tokens being checked
 * on open, or new ones being stored by `signIn`; `refreshing`: this tab is
 * calling `refresh()`, or the access token has expired and refreshes keep failing.
 */
export type AuthState = "anonymous" | "authenticating" | "authenticated" | "refreshing" | "expired" | "logged_out";

/** Second argument of `AuthSession.subscribe` listeners. */
export interface AuthStateDetail {
  /** The state before. */
  from: AuthState;
  /**
   * What happened: `"signIn"`, `"logout"`, `"check"`, `"refresh"`,
   * `"refresh-failed"`, `"refresh-rejected"`, `"invalid"`, `"expired"`, `"cleared"`.
   */
  reason: string;
  /** `"tab"` when it came from another tab. */
  source: "local" | "tab";
  /** Expiry of the tokens now held, or null. */
  expiresAt: number | null;
  /** Why, when something failed. */
  error?: string;
}

/** `AuthSession.health()`. */
export interface AuthHealth {
  /** 0 to 100; see the README ("Auth session", health). */
  score: number;
  /** Ms until the access token expires (negative once expired), or null without one. */
  expiresInMs: number | null;
  /** Failures (network errors, 5xx, failed refreshes, unanswered checks) in the last minute. */
  recentFailures: number;
  state: AuthState;
}

/** One login, kept alive for every tab of the origin and name. */
export interface AuthSession {
  readonly state: AuthState;
  /** Stores the tokens of a new login and shares them with every tab. */
  signIn(tokens: Tokens): Promise<void>;
  /** Logs out every tab (state `"logged_out"`) and removes the stored tokens. */
  logout(): Promise<void>;
  /** A valid access token (refreshed first if due), or null. */
  token(): Promise<string | null>;
  /**
   * `fetch` with the token header. A 401 refreshes once and retries once;
   * network errors and 5xx are retried per `retry`; other 4xx are returned.
   * Rejects with code `NOT_AUTHENTICATED` without a valid token.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  health(): AuthHealth;
  /** Called on every change of state or tokens; returns the unsubscribe function. */
  subscribe(fn: (state: AuthState, detail: AuthStateDetail) => void): () => void;
  /** Stops timers and listeners; the stored tokens stay. Later calls fail with `CLOSED`. */
  close(): Promise<void>;
}
