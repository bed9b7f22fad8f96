/**
 * How deep a parsed JSON body nests. Translators walk requests recursively (schemas, tool inputs,
 * content blocks), so a hostile body nested thousands of levels deep would overflow the stack and
 * surface as a 500; such bodies are refused up front instead. Iterative, so it cannot overflow itself.
 */

/** Deeper than any real request (the deepest are JSON schemas in tool definitions, a few dozen). */
export const MAX_JSON_DEPTH = 256;

/** Whether `value` has objects or arrays nested more than `max` levels deep. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
