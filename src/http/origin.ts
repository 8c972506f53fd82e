/**
 * Origin rules: CORS for trusted origins, and the CSRF rule — a cookie-authenticated unsafe request must come from
 * the server's own origin or a trusted one (`Origin`, or failing that the `Referer`). The own origin is that of
 * `publicUrl`, never one derived from the request's `Host` header (which the client chooses).
 */
import { Effect } from "effect"
import type { ResolvedConfig } from "../config.js"
import { CsrfRejected } from "../domain/errors.js"
import type { ApiRequest } from "./message.js"

export const makeOriginPolicy = (config: ResolvedConfig) => {
  const trusted = new Set(config.trustedOrigins)
  const own = config.publicUrl ? new URL(config.publicUrl).origin : undefined

  const requestOrigin = (request: ApiRequest) => {
    const origin = request.headers["origin"]
    if (origin && origin !== "null") return origin
    const referer = request.headers["referer"]
    if (!referer) return undefined
    try {
      return new URL(referer).origin
    } catch {
      return undefined
    }
  }

  const isAllowed = (origin: string) => trusted.has(origin) || origin === own

  const ensureSameOrigin = (request: ApiRequest) => {
    const origin = requestOrigin(request)
    return origin !== undefined && isAllowed(origin) ? Effect.void : Effect.fail(new CsrfRejected())
  }

  const corsHeaders = (request: ApiRequest): Record<string, string> => {
    const origin = request.headers["origin"]
    return origin !== undefined && trusted.has(origin)
      ? { "access-control-allow-origin": origin, "access-control-allow-credentials": "true", vary: "Origin" }
      : {}
  }

  return { ensureSameOrigin, corsHeaders }
}
