/**
 * Assertions shared by the HTTP security tests: the security headers every response carries, the exact error
 * envelope, Set-Cookie parsing, timing statistics and direct reads of the database.
 */
import pg from "pg"
import { expect } from "vitest"
import { type ApiResponse, Client, type RequestOptions } from "./http.js"

export const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
} as const

export const expectSecurityHeaders = (response: { readonly headers: Headers }) => {
  for (const [name, value] of Object.entries(securityHeaders)) expect(response.headers.get(name), name).toBe(value)
}

export const expectNoStore = (response: ApiResponse) => expect(response.headers.get("cache-control")).toBe("no-store")

/** A client that checks the security headers of every response it receives. */
export class CheckedClient extends Client {
  override async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const response = await super.request(method, path, options)
    expectSecurityHeaders(response)
    return response
  }
}

const envelopeKeys = ["code", "error", "type"]

/**
 * The response is exactly the error envelope `{error, code, type}` with `status`, plus only the `extra` fields named
 * (the documented ones for that type).
 */
export const expectError = (response: ApiResponse, status: number, type: string, extra: ReadonlyArray<string> = []) => {
  expect({ status: response.status, type: response.body?.type }).toEqual({ status, type })
  expect(response.headers.get("content-type")).toMatch(/^application\/json/)
  expect(Object.keys(response.body).sort()).toEqual([...envelopeKeys, ...extra].sort())
  expect(response.body.code).toBe(status)
  expect(typeof response.body.error).toBe("string")
  expect(response.body.error.length).toBeGreaterThan(0)
  expectSecurityHeaders(response)
}

/** `invalid_request` with its `details`: a non-empty array of `{path, message}` naming `paths`. */
export const expectInvalidRequest = (response: ApiResponse, paths: ReadonlyArray<string>) => {
  expectError(response, 400, "invalid_request", ["details"])
  const details: Array<Record<string, unknown>> = response.body.details
  expect(Array.isArray(details)).toBe(true)
  for (const detail of details) {
    expect(Object.keys(detail).sort()).toEqual(["message", "path"])
    expect(typeof detail["path"]).toBe("string")
    expect(typeof detail["message"]).toBe("string")
  }
  for (const path of paths) expect(details.map((d) => d["path"])).toContain(path)
}

export interface SetCookie {
  readonly name: string
  readonly value: string
  /** Attribute names lower-cased; flags map to "". */
  readonly attributes: ReadonlyMap<string, string>
}

export const parseSetCookie = (line: string): SetCookie => {
  const [pair, ...rest] = line.split(";")
  const eq = pair!.indexOf("=")
  const attributes = new Map<string, string>()
  for (const attribute of rest) {
    const at = attribute.indexOf("=")
    const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase()
    attributes.set(key, at === -1 ? "" : attribute.slice(at + 1).trim())
  }
  return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), attributes }
}

/** The Set-Cookie lines of a response by cookie name (each name at most once). */
export const setCookiesOf = (response: ApiResponse): Map<string, SetCookie> => {
  const cookies = new Map<string, SetCookie>()
  for (const line of response.setCookies) {
    const cookie = parseSetCookie(line)
    expect(cookies.has(cookie.name), `${cookie.name} set twice`).toBe(false)
    cookies.set(cookie.name, cookie)
  }
  return cookies
}

/** Every header as [name, value] (`Headers` is not iterable under this project's `lib`). */
export const headerEntries = (headers: Headers): Array<[string, string]> => {
  const entries: Array<[string, string]> = []
  headers.forEach((value, name) => {
    entries.push([name, value])
  })
  return entries
}

/** The headers of a response without those that legitimately differ between two requests. */
export const stableHeaders = (response: ApiResponse, ignore: ReadonlyArray<string> = []) =>
  headerEntries(response.headers)
    .filter(
      ([name]) =>
        !["date", "keep-alive", "connection", "x-request-id", ...ignore].includes(name) &&
        !name.startsWith("ratelimit"),
    )
    .sort(([a], [b]) => a.localeCompare(b))

export const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** |a - b| relative to the larger of the two. */
export const relativeGap = (a: number, b: number) => Math.abs(a - b) / Math.max(a, b)

export const timed = async <A>(f: () => Promise<A>): Promise<readonly [number, A]> => {
  const started = performance.now()
  const result = await f()
  return [performance.now() - started, result] as const
}

/**
 * Measures `rounds` of `samples` interleaved calls of `a` and `b` (alternating which goes first) and returns the
 * medians of the first round whose gap is within `tolerance`, or of the last round. A systematic difference larger
 * than the tolerance shows in every round; a round spoiled by a busy machine is measured again.
 */
export const compareTimings = async (
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  options: { readonly samples: number; readonly rounds: number; readonly tolerance: number },
) => {
  let result = { a: 0, b: 0, gap: 1 }
  for (let round = 0; round < options.rounds; round++) {
    const timesA: Array<number> = []
    const timesB: Array<number> = []
    for (let i = 0; i < options.samples; i++) {
      if (i % 2 === 0) {
        timesA.push((await timed(a))[0])
        timesB.push((await timed(b))[0])
      } else {
        timesB.push((await timed(b))[0])
        timesA.push((await timed(a))[0])
      }
    }
    result = { a: median(timesA), b: median(timesB), gap: relativeGap(median(timesA), median(timesB)) }
    if (result.gap <= options.tolerance) return result
  }
  return result
}

/** Runs `f` with a PostgreSQL client on `url`. */
export const withDb = async <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export const query = (url: string, text: string, values: ReadonlyArray<unknown> = []) =>
  withDb(url, async (client) => (await client.query(text, [...values])).rows as Array<Record<string, any>>)

/** Polls `f` until it returns true (or the timeout passes); returns the last answer. */
export const eventually = async (f: () => Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await f()) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
