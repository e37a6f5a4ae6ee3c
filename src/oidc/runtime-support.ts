/**
 * oidc-provider prints "oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS
 * release." (console.warn, in its lib/index.js) when it is loaded on a Node release whose LTS codename sorts
 * before "Jod" (v22), or on a release that is not LTS. Gatehouse runs there (package.json engines), but adds
 * one line saying which Node to use, by the same test.
 */
export const RECOMMENDED_NODE = 'Node.js 24 or 26 LTS (the container image runs 26)';

/** The line to print under oidc-provider's warning, or undefined when the runtime is one it supports. */
export function runtimeAdvice(release: { lts?: string | undefined } = process.release, version: string = process.version): string | undefined {
  const lts = release.lts;
  if (lts && lts.charCodeAt(0) >= 'Jod'.charCodeAt(0)) return undefined;
  // indented under the library's line, and not a `gatehouse:` line (those are the errors that stop start-up)
  return `  Gatehouse recommends ${RECOMMENDED_NODE}; this is Node.js ${version}${lts ? ` (${lts})` : ''}, which oidc-provider does not support.`;
}
