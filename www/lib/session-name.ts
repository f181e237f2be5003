/** The session name from `?name=`: letters, digits, `.`, `_`, `-` (at most 64); else "demo". */
export function sessionName(value: string | string[] | undefined): string {
  const name = Array.isArray(value) ? value[0] : value;
  return name && /^[\w.-]{1,64}$/.test(name) ? name : "demo";
}

/** Search params as a Next.js page receives them. */
export type SearchParams = Promise<Record<string, string | string[] | undefined>>;
