/** The first source file changed after `built` (a path under root) was written, or undefined when dist/ is current. */
export function newerSource(root: string, built: string): string | undefined;
