import { SessionShell } from "@/components/SessionShell";
import { DraftForm } from "@/components/DraftForm";
import { ThemeToggle } from "@/components/ThemeToggle";
import { Snapshots } from "@/components/Snapshots";
import { sessionName, type SearchParams } from "@/lib/session-name";

// A server component: it only picks the session name (?name=, default "demo");
// everything that reads the session is a client component under SessionShell.
export default async function Home({ searchParams }: { searchParams: SearchParams }) {
  const name = sessionName((await searchParams).name);
  return (
    <SessionShell name={name}>
      <DraftForm />
      <ThemeToggle />
      <Snapshots />
    </SessionShell>
  );
}
