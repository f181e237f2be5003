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
  /** E.g. `"NOT_SERIALIZABLE"`, `"TOO_LARGE"`, `"SNAPSHOT_NOT_FOUND"`, `"CLOSED"`. */
  code: string;
}
