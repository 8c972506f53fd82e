/**
 * Response and request helpers shared by the core routes and the plugins' routes: signing a user in (tokens and
 * cookies), refreshed tokens, clearing cookies, the CSRF origin check, and rate limits reported in the
 * `RateLimit-*` headers.
 */
import { Clock, Effect, Option } from "effect"
import type * as M from "../domain/models.js"
import { clearedSessionCookies, cookieNames, sessionCookies } from "../http/cookies.js"
import { type ApiResponse, empty, json, withCookies } from "../http/message.js"
import { makeOriginPolicy } from "../http/origin.js"
import { refreshedJson, tokensJson } from "../http/schemas.js"
import { AuthConfig } from "../services/config.js"
import { sha256Hex } from "../services/crypto.js"
import { coreRateLimits, RateLimiter, type RateLimitPolicy } from "../services/rate-limit.js"
import type { IssuedTokens } from "../services/sessions.js"
import type { RouteRequest } from "./route.js"

export { type Cookie, json, withCookies } from "../http/message.js"

/** `{ "status": value }` with 200. */
export const status = (value: string) => json(200, { status: value })

/** `302 Found` to `location` (which the caller has checked: no open redirects). */
export const redirect = (location: string) => empty(302, { location })

/**
 * The rate-limit subject of a client address: the address itself, or the /64 network of an IPv6 address (one
 * subscriber usually holds a whole /64). Shared by every app: a publishable key is public.
 */
export const ipSubject = (ip: string | null) => {
  if (ip === null) return "ip:unknown"
  if (!ip.includes(":")) return `ip:${ip}`
  const [head = "", tail = ""] = ip.toLowerCase().split("::")
  const left = head === "" ? [] : head.split(":")
  const right = tail === "" ? [] : tail.split(":")
  const groups = ip.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left
  return `ip6:${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`
}

export class HttpKit extends Effect.Service<HttpKit>()("authsome/HttpKit", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const limiter = yield* RateLimiter
    const origins = makeOriginPolicy(config)

    const cookiesFor = (request: RouteRequest<unknown>, tokens: IssuedTokens, now: number) =>
      sessionCookies(
        {
          sessionToken: tokens.sessionToken,
          refreshToken: tokens.refreshToken,
          expiresAt: tokens.session.expiresAt,
          refreshTokenExpiresAt: tokens.session.refreshTokenExpiresAt,
        },
        request.secure,
        request.basePath,
        now,
      )

    /**
     * `Tokens` with both cookies: the answer of every route that signs a user in (`extra` adds the route's own
     * fields, e.g. `is_new_user`).
     */
    const signedIn = (
      request: RouteRequest<unknown>,
      user: M.User,
      tokens: IssuedTokens,
      status = 200,
      extra: Readonly<Record<string, unknown>> = {},
    ) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        withCookies(json(status, { ...tokensJson(user, tokens), ...extra }), cookiesFor(request, tokens, now)),
      )

    /** A browser sign-in that ends on a page: `302` to `location` (already checked), setting both cookies. */
    const redirectSignedIn = (request: RouteRequest<unknown>, tokens: IssuedTokens, location: string) =>
      Effect.map(Clock.currentTimeMillis, (now) => withCookies(redirect(location), cookiesFor(request, tokens, now)))

    /** The rotated tokens; the cookies are set anew when the refresh token came from a cookie. */
    const refreshed = (request: RouteRequest<unknown>, tokens: IssuedTokens, viaCookie: boolean) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const response = json(200, refreshedJson(tokens))
        return viaCookie ? withCookies(response, cookiesFor(request, tokens, now)) : response
      })

    const withCookiesCleared = (request: RouteRequest<unknown>, response: ApiResponse) =>
      withCookies(response, clearedSessionCookies(request.secure, request.basePath))

    /** The refresh cookie of this request (only the prefixed name over HTTPS). */
    const refreshCookie = (request: RouteRequest<unknown>) => request.raw.cookies[cookieNames(request.secure).refresh]

    /** The CSRF rule for a request that uses a cookie outside the pipeline's authentication (the refresh cookie). */
    const ensureSameOrigin = (request: RouteRequest<unknown>) => origins.ensureSameOrigin(request.raw)

    /**
     * Counts the request against `policy` for `subject` and reports the tightest rule's state in the response's
     * `RateLimit-*` headers. Fails with `RateLimited` past the limit.
     */
    const limit = (request: RouteRequest<unknown>, policy: RateLimitPolicy, subject: string) =>
      Effect.flatMap(limiter.consume(policy, subject), (state) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          if (Option.isNone(state)) return
          const resetSeconds = Math.max(0, Math.ceil((state.value.resetAt.getTime() - now) / 1000))
          const remaining = Number(request.headers["ratelimit-remaining"] ?? Number.POSITIVE_INFINITY)
          if (state.value.remaining <= remaining) {
            request.headers["ratelimit-limit"] = String(state.value.limit)
            request.headers["ratelimit-remaining"] = String(state.value.remaining)
            request.headers["ratelimit-reset"] = String(resetSeconds)
          }
        }),
      )

    /** `limit` by the client's address (its /64 for IPv6), shared by every app. */
    const limitByIp = (request: RouteRequest<unknown>, policy: RateLimitPolicy) =>
      limit(request, policy, ipSubject(request.client.ip))

    /** `limit` by a subject of the request's app (an email or identifier hash, a user id, ...). */
    const limitByAppSubject = (request: RouteRequest<unknown>, policy: RateLimitPolicy, subject: string) =>
      limit(request, policy, `${request.client.app.id}:${subject}`)

    /** The limits of a route that mails `email`: per client address, and per address mailed (kept hashed). */
    const limitMailTo = (request: RouteRequest<unknown>, email: string) =>
      Effect.zipRight(
        limitByIp(request, coreRateLimits.mailIp),
        limitByAppSubject(request, coreRateLimits.mailEmail, `email:${sha256Hex(email)}`),
      )

    return {
      signedIn,
      redirectSignedIn,
      refreshed,
      withCookiesCleared,
      refreshCookie,
      ensureSameOrigin,
      limitByIp,
      limitByAppSubject,
      limitMailTo,
    } as const
  }),
}) {}
