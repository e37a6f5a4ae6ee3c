/** One field of a parsed form (csrf.ts parses it), cut to `max` characters; '' when absent. */
export const field = (form: Record<string, string>, name: string, max = 1024) => (form[name] ?? '').slice(0, max);
