/** Response helpers shared by the core routes and the plugins' routes. */
import { HttpServerResponse } from "@effect/platform"
import { Clock, Effect } from "effect"
import type * as M from "../domain/models.js"
import { AuthConfig } from "../services/config.js"
import type { IssuedTokens } from "../services/sessions.js"
import { clearSessionCookies, cookieNames, setSessionCookies } from "./cookies.js"
import { makeOriginPolicy } from "./origin.js"
import type { RouteRequest } from "./route.js"
import { refreshedJson, tokensJson } from "./schemas.js"

export const json = (status: number, body: unknown) => HttpServerResponse.unsafeJson(body, { status })

export class HttpKit extends Effect.Service<HttpKit>()("authsome/HttpKit", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const origins = makeOriginPolicy(config)

    const cookieTokens = (tokens: IssuedTokens) => ({
      sessionToken: tokens.sessionToken,
      refreshToken: tokens.refreshToken,
      expiresAt: tokens.session.expiresAt,
      refreshTokenExpiresAt: tokens.session.refreshTokenExpiresAt,
    })

    /** `Tokens` with both cookies: the answer of every route that signs a user in. */
    const signedIn = (request: RouteRequest<unknown>, user: M.User, tokens: IssuedTokens, status = 200) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        setSessionCookies(
          json(status, tokensJson(user, tokens)),
          cookieTokens(tokens),
          request.secure,
          config.basePath,
          now,
        ),
      )

    /** The rotated tokens; the cookies are set anew when the refresh token came from a cookie. */
    const refreshed = (request: RouteRequest<unknown>, tokens: IssuedTokens, viaCookie: boolean) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const response = json(200, refreshedJson(tokens))
        return viaCookie
          ? setSessionCookies(response, cookieTokens(tokens), request.secure, config.basePath, now)
          : response
      })

    const withCookiesCleared = (request: RouteRequest<unknown>, response: HttpServerResponse.HttpServerResponse) =>
      clearSessionCookies(response, request.secure, config.basePath)

    /** The refresh cookie of this request (only the prefixed name over HTTPS). */
    const refreshCookie = (request: RouteRequest<unknown>) => request.raw.cookies[cookieNames(request.secure).refresh]

    const ensureSameOrigin = (request: RouteRequest<unknown>) => origins.ensureSameOrigin(request.raw, request.secure)

    return { signedIn, refreshed, withCookiesCleared, refreshCookie, ensureSameOrigin } as const
  }),
}) {}
