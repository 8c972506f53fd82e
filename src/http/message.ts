/**
 * The request and response the pipeline works on, independent of the server that received them. Adapters
 * (`adapters.ts`) convert from and to node:http, web-standard `Request`/`Response` and `@effect/platform`, so the
 * hot path pays for no framework object it does not use.
 */
import type { Effect } from "effect"
import type { InvalidRequest, PayloadTooLarge } from "../domain/errors.js"

export interface ApiRequest {
  readonly method: string
  /** Path and query, e.g. `/v1/auth/session?x=1`. */
  readonly url: string
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly cookies: Readonly<Record<string, string>>
  /** The socket peer's address; undefined where the host does not tell (web handlers). */
  readonly remoteAddress: string | undefined
  /** The connection itself is TLS. */
  readonly directlySecure: boolean
  /**
   * Where the host mounted the handler (Express `app.use("/auth", ...)`, Effect `HttpRouter.mountApp`), when it did:
   * then `url` is relative to it and it is the base path of this request (routes and cookie paths); otherwise the
   * configured `basePath` is.
   */
  readonly mountPath?: string | undefined
  /** The body as text, failing with `PayloadTooLarge` past `limit` bytes. */
  readonly text: (limit: number) => Effect.Effect<string, PayloadTooLarge | InvalidRequest>
}

export interface CookieOptions {
  readonly maxAge: number
  readonly path: string
  readonly secure: boolean
  readonly httpOnly: boolean
  readonly sameSite: "lax" | "strict"
}

export interface Cookie {
  readonly name: string
  readonly value: string
  readonly options: CookieOptions
}

export interface ApiResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly cookies: ReadonlyArray<Cookie>
  readonly body: string | undefined
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  cookies: [],
  body: JSON.stringify(body),
})

/** A text body of any media type (HTML, CSS, JavaScript). */
export const text = (status: number, body: string, contentType: string, headers: Record<string, string> = {}) => ({
  status,
  headers: { "content-type": contentType, ...headers },
  cookies: [],
  body,
})

export const empty = (status: number, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers,
  cookies: [],
  body: undefined,
})

export const withHeaders = (response: ApiResponse, headers: Record<string, string>): ApiResponse => ({
  ...response,
  headers: { ...response.headers, ...headers },
})

export const withCookies = (response: ApiResponse, cookies: ReadonlyArray<Cookie>): ApiResponse => ({
  ...response,
  cookies: [...response.cookies, ...cookies],
})

export const serializeCookie = ({ name, value, options }: Cookie): string =>
  `${name}=${encodeURIComponent(value)}; Max-Age=${options.maxAge}; Path=${options.path}` +
  `${options.httpOnly ? "; HttpOnly" : ""}${options.secure ? "; Secure" : ""}` +
  `; SameSite=${options.sameSite === "lax" ? "Lax" : "Strict"}`

export const parseCookies = (header: string | undefined): Record<string, string> => {
  const cookies: Record<string, string> = {}
  if (!header) return cookies
  for (const part of header.split(";")) {
    const at = part.indexOf("=")
    if (at <= 0) continue
    const name = part.slice(0, at).trim()
    if (name in cookies) continue
    const raw = part.slice(at + 1).trim()
    try {
      cookies[name] = decodeURIComponent(raw)
    } catch {
      cookies[name] = raw
    }
  }
  return cookies
}
