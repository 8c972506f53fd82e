/**
 * The session and refresh cookies. Over HTTPS they take the `__Host-` / `__Secure-` prefixes and only the prefixed
 * names are accepted, so a cookie planted over plain HTTP (or by a sibling subdomain) cannot pose as ours.
 */
import { HttpServerResponse } from "@effect/platform"
import { Duration } from "effect"

export const cookieNames = (secure: boolean) =>
  secure
    ? { session: "__Host-authsome_session_token", refresh: "__Secure-authsome_refresh_token" }
    : { session: "authsome_session_token", refresh: "authsome_refresh_token" }

export interface CookieTokens {
  readonly sessionToken: string
  readonly refreshToken: string
  readonly expiresAt: Date
  readonly refreshTokenExpiresAt: Date
}

const maxAge = (until: Date, now: number) => Duration.seconds(Math.max(0, Math.floor((until.getTime() - now) / 1000)))

export const setSessionCookies = (
  response: HttpServerResponse.HttpServerResponse,
  tokens: CookieTokens,
  secure: boolean,
  basePath: string,
  now: number,
) => {
  const names = cookieNames(secure)
  return response.pipe(
    HttpServerResponse.unsafeSetCookie(names.session, tokens.sessionToken, {
      httpOnly: true,
      sameSite: "lax",
      path: "/",
      secure,
      maxAge: maxAge(tokens.expiresAt, now),
    }),
    HttpServerResponse.unsafeSetCookie(names.refresh, tokens.refreshToken, {
      httpOnly: true,
      sameSite: "lax",
      path: `${basePath}/refresh`,
      secure,
      maxAge: maxAge(tokens.refreshTokenExpiresAt, now),
    }),
  )
}

export const clearSessionCookies = (
  response: HttpServerResponse.HttpServerResponse,
  secure: boolean,
  basePath: string,
) => {
  const names = cookieNames(secure)
  return response.pipe(
    HttpServerResponse.unsafeSetCookie(names.session, "", {
      httpOnly: true,
      sameSite: "lax",
      path: "/",
      secure,
      maxAge: Duration.zero,
    }),
    HttpServerResponse.unsafeSetCookie(names.refresh, "", {
      httpOnly: true,
      sameSite: "lax",
      path: `${basePath}/refresh`,
      secure,
      maxAge: Duration.zero,
    }),
  )
}
