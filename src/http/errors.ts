/**
 * The one place where failures become HTTP responses: every error, whatever raised it, gets the envelope
 * `{ error, code, type }` (plus the documented extra fields). Unexpected defects are 500 `internal_error` and are
 * logged; nothing internal (stack, SQL) reaches the client.
 */
import { Cause, Effect } from "effect"
import type * as E from "../domain/errors.js"
import { StoreUnavailable } from "../domain/errors.js"
import { type ApiResponse, json } from "./message.js"

export type RouteError =
  | E.NotFound
  | E.EmailTaken
  | E.UsernameTaken
  | E.SlugTaken
  | E.Conflict
  | E.InvalidRequest
  | E.WeakPassword
  | E.InvalidCode
  | E.Unauthorized
  | E.InvalidCredentials
  | E.SessionExpired
  | E.Forbidden
  | E.CsrfRejected
  | E.EmailNotVerified
  | E.MfaRequired
  | E.UserBanned
  | E.RateLimited
  | E.AccountLocked
  | E.TooManyAttempts
  | E.PayloadTooLarge
  | E.UnsupportedMediaType

const secondsUntil = (date: Date, now: number) => Math.max(1, Math.ceil((date.getTime() - now) / 1000))

export const envelope = (
  status: number,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => json(status, { error: message, code: status, type, ...extra }, headers)

export const errorResponse = (error: RouteError, now: number): ApiResponse => {
  switch (error._tag) {
    case "InvalidRequest":
      return envelope(400, "invalid_request", error.message, { details: error.details ?? [] })
    case "WeakPassword":
      return envelope(400, "weak_password", error.message)
    case "InvalidCode":
      return envelope(400, "invalid_code", error.message)
    case "Unauthorized":
      return envelope(401, "unauthorized", error.message)
    case "InvalidCredentials":
      return envelope(401, "invalid_credentials", "invalid credentials")
    case "SessionExpired":
      return envelope(401, "session_expired", "session expired")
    case "Forbidden":
      return envelope(403, "forbidden", error.message)
    case "CsrfRejected":
      return envelope(403, "csrf_rejected", "cross-site request rejected")
    case "EmailNotVerified":
      return envelope(403, "email_not_verified", "email address not verified")
    case "MfaRequired":
      return envelope(403, "mfa_required", "multi-factor authentication required", {
        mfa_ticket: error.ticket,
        available_methods: error.methods,
      })
    case "UserBanned":
      return envelope(403, "user_banned", "user is banned", {
        ban_expires: error.banExpires?.toISOString() ?? null,
      })
    case "NotFound":
      return envelope(404, "not_found", `${error.entity} not found`)
    case "EmailTaken":
      return envelope(409, "email_taken", "email already registered")
    case "UsernameTaken":
      return envelope(409, "username_taken", "username already taken")
    case "SlugTaken":
      return envelope(409, "slug_taken", "slug already taken")
    case "Conflict":
      return envelope(409, "conflict", error.message)
    case "PayloadTooLarge":
      return envelope(413, "payload_too_large", "request body exceeds 64 KiB")
    case "UnsupportedMediaType":
      return envelope(415, "unsupported_media_type", "request body must be application/json")
    case "RateLimited": {
      const retryAfter = String(secondsUntil(error.resetAt, now))
      return envelope(
        429,
        "rate_limited",
        `rate limit exceeded, try again in ${retryAfter} seconds`,
        {},
        {
          "retry-after": retryAfter,
          "ratelimit-limit": String(error.limit),
          "ratelimit-remaining": "0",
          "ratelimit-reset": retryAfter,
        },
      )
    }
    case "AccountLocked": {
      const retryAfter = String(secondsUntil(error.until, now))
      return envelope(
        429,
        "account_locked",
        "too many failed sign-ins; try again later",
        {},
        {
          "retry-after": retryAfter,
        },
      )
    }
    case "TooManyAttempts":
      return envelope(429, "too_many_attempts", error.message)
  }
}

export const notFoundResponse = () => envelope(404, "not_found", "not found")

/** Defects: 503 when the database is unreachable, otherwise 500; logged with their cause, never sent. */
export const defectResponse = (cause: Cause.Cause<unknown>) => {
  const defects = Cause.defects(cause)
  const unavailable = [...defects].some((defect) => defect instanceof StoreUnavailable)
  return Effect.as(
    Effect.logError(unavailable ? "database unavailable" : "unexpected failure", cause),
    unavailable
      ? envelope(503, "unavailable", "service temporarily unavailable", {}, { "retry-after": "5" })
      : envelope(500, "internal_error", "internal error"),
  )
}
