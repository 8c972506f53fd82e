/**
 * The session and refresh cookies. Over HTTPS they take the `__Host-` / `__Secure-` prefixes and only the prefixed
 * names are accepted, so a cookie planted over plain HTTP (or by a sibling subdomain) cannot pose as ours.
 */
import type { Cookie } from "./message.js"

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

const secondsUntil = (until: Date, now: number) => Math.max(0, Math.floor((until.getTime() - now) / 1000))

const cookie = (name: string, value: string, path: string, secure: boolean, maxAge: number): Cookie => ({
  name,
  value,
  options: { path, secure, maxAge, httpOnly: true, sameSite: "lax" },
})

export const sessionCookies = (
  tokens: CookieTokens,
  secure: boolean,
  basePath: string,
  now: number,
): ReadonlyArray<Cookie> => {
  const names = cookieNames(secure)
  return [
    cookie(names.session, tokens.sessionToken, "/", secure, secondsUntil(tokens.expiresAt, now)),
    cookie(
      names.refresh,
      tokens.refreshToken,
      `${basePath}/refresh`,
      secure,
      secondsUntil(tokens.refreshTokenExpiresAt, now),
    ),
  ]
}

export const clearedSessionCookies = (secure: boolean, basePath: string): ReadonlyArray<Cookie> => {
  const names = cookieNames(secure)
  return [cookie(names.session, "", "/", secure, 0), cookie(names.refresh, "", `${basePath}/refresh`, secure, 0)]
}
