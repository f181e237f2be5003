"use client";
import { useEffect, useMemo, type ReactNode } from "react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { SessionProvider, useSessionContext, useSessionRecovery } from "session-persist/react";

/**
 * Opens the session `name` for the page (SessionProvider) and frames it:
 * title, navigation, the session status, and the theme applied to <html>.
 */
export function SessionShell({ name, children }: { name: string; children: ReactNode }) {
  // A stable options object: the provider opens the session once per name.
  const options = useMemo(() => ({ name }), [name]);
  return (
    <SessionProvider options={options}>
      <ApplyTheme />
      <header className="top">
        <h1>session-persist</h1>
        <Nav name={name} />
        <Status name={name} />
      </header>
      <main>{children}</main>
    </SessionProvider>
  );
}

function Nav({ name }: { name: string }) {
  const pathname = usePathname();
  const query = name === "demo" ? undefined : { name };
  const link = (href: string, label: string, id: string) => (
    <Link id={id} href={{ pathname: href, query }} aria-current={pathname === href ? "page" : undefined}>
      {label}
    </Link>
  );
  return (
    <nav>
      {link("/", "Editor", "nav-home")}
      {link("/health", "Health", "nav-health")}
    </nav>
  );
}

/** `status` and `isRestored` from the hook: "idle" / false on the server and while hydrating. */
function Status({ name }: { name: string }) {
  const { status, isRestored, error } = useSessionRecovery();
  return (
    <p className="status" id="status" data-testid="status" data-status={status} data-restored={String(isRestored)}>
      session <code>{name}</code> · status <b className={`badge badge-${status}`}>{status}</b> · restored{" "}
      <b>{isRestored ? "yes" : "no"}</b>
      {error ? (
        <span className="error" role="alert">
          {" "}
          · {error.message}
        </span>
      ) : null}
    </p>
  );
}

/** The theme lives in the context; it is applied to <html> after mount, never during render. */
function ApplyTheme() {
  const theme = useSessionContext<string>("theme") === "dark" ? "dark" : "light";
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return null;
}
