import type { Metadata } from "next";
import { SessionShell } from "@/components/SessionShell";
import { Health } from "@/components/Health";
import { AuthHealth } from "@/components/AuthHealth";
import { sessionName, type SearchParams } from "@/lib/session-name";

export const metadata: Metadata = { title: "Session health · session-persist demo" };

export default async function HealthPage({ searchParams }: { searchParams: SearchParams }) {
  const name = sessionName((await searchParams).name);
  return (
    <SessionShell name={name}>
      <Health />
      <AuthHealth name={name} />
    </SessionShell>
  );
}
