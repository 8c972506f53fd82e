/** Response helpers shared by the core routes and the plugins' routes. */
import { Clock, Effect } from "effect"
import type * as M from "../domain/models.js"
import { AuthConfig } from "../services/config.js"
import type { IssuedTokens } from "../services/sessions.js"
import { clearedSessionCookies, cookieNames, sessionCookies } from "./cookies.js"
import { type ApiResponse, json, withCookies } from "./message.js"
import { makeOriginPolicy } from "./origin.js"
import type { RouteRequest } from "./route.js"
import { refreshedJson, tokensJson } from "./schemas.js"

export { json } from "./message.js"

export class HttpKit extends Effect.Service<HttpKit>()("authsome/HttpKit", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
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
        config.basePath,
        now,
      )

    /** `Tokens` with both cookies: the answer of every route that signs a user in. */
    const signedIn = (request: RouteRequest<unknown>, user: M.User, tokens: IssuedTokens, status = 200) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        withCookies(json(status, tokensJson(user, tokens)), cookiesFor(request, tokens, now)),
      )

    /** The rotated tokens; the cookies are set anew when the refresh token came from a cookie. */
    const refreshed = (request: RouteRequest<unknown>, tokens: IssuedTokens, viaCookie: boolean) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const response = json(200, refreshedJson(tokens))
        return viaCookie ? withCookies(response, cookiesFor(request, tokens, now)) : response
      })

    const withCookiesCleared = (request: RouteRequest<unknown>, response: ApiResponse) =>
      withCookies(response, clearedSessionCookies(request.secure, config.basePath))

    /** The refresh cookie of this request (only the prefixed name over HTTPS). */
    const refreshCookie = (request: RouteRequest<unknown>) => request.raw.cookies[cookieNames(request.secure).refresh]

    const ensureSameOrigin = (request: RouteRequest<unknown>) => origins.ensureSameOrigin(request.raw, request.secure)

    return { signedIn, refreshed, withCookiesCleared, refreshCookie, ensureSameOrigin } as const
  }),
}) {}
