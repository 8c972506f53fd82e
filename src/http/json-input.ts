/**
 * Rules on a parsed JSON body that no field schema expresses (http-api.md §3 "Input"): no string (value or key)
 * holding U+0000 or a lone surrogate — PostgreSQL refuses the first in text and jsonb, and neither survives a
 * round trip through UTF-8 — and no nesting deeper than 32 levels, so nothing downstream recurses without bound.
 */
export const maxJsonDepth = 32

export interface InputProblem {
  readonly path: string
  readonly message: string
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const stringProblem = (value: string): string | undefined => {
  if (value.includes("\u0000")) return "must not contain U+0000"
  if (loneSurrogate.test(value)) return "must be well-formed Unicode (no lone surrogates)"
  return undefined
}

const at = (path: ReadonlyArray<string | number>) => path.map(String).join(".")

/** The first violation in `value` (depth 1 is the top-level object or array), or undefined. */
export const inspectJson = (value: unknown): InputProblem | undefined => {
  const visit = (node: unknown, path: Array<string | number>, depth: number): InputProblem | undefined => {
    if (typeof node === "string") {
      const message = stringProblem(node)
      return message === undefined ? undefined : { path: at(path), message }
    }
    if (typeof node !== "object" || node === null) return undefined
    if (depth > maxJsonDepth)
      return { path: at(path), message: `must not be nested deeper than ${maxJsonDepth} levels` }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const problem = visit(node[i], [...path, i], depth + 1)
        if (problem) return problem
      }
      return undefined
    }
    for (const [key, child] of Object.entries(node)) {
      const keyMessage = stringProblem(key)
      // The key itself is the problem: name its parent, never the offending text.
      if (keyMessage !== undefined) return { path: at(path), message: `a key ${keyMessage}` }
      const problem = visit(child, [...path, key], depth + 1)
      if (problem) return problem
    }
    return undefined
  }
  return visit(value, [], 1)
}
