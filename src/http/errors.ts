/**
 * The one place where failures become HTTP responses: every error, whatever raised it, gets the envelope
 * `{ error, code, type }` (plus the documented extra fields). The core's errors are declared here; plugins declare
 * theirs (`Plugin.errors`) and the pipeline merges both. A failure nobody declared, and every defect, is 500
 * `internal_error` and is logged; nothing internal (stack, SQL) reaches the client.
 */
import { Cause, Effect } from "effect"
import type * as E from "../domain/errors.js"
import { StoreUnavailable } from "../domain/errors.js"
import { declareError, type ErrorDeclaration, secondsUntil, type TaggedFailure } from "../plugin/errors.js"
import { type ApiResponse, json } from "./message.js"

export const envelope = (
  status: number,
  type: string,
  message: string,
  extra: Readonly<Record<string, unknown>> = {},
  headers: Readonly<Record<string, string>> = {},
) => json(status, { error: message, code: status, type, ...extra }, headers)

const ownMessage = (error: { readonly message: string }) => error.message

/** The core's errors (http-api.md §1, "Error envelope"). */
export const coreErrors: ReadonlyArray<ErrorDeclaration> = [
  declareError<E.InvalidRequest>("InvalidRequest", {
    status: 400,
    type: "invalid_request",
    description: "malformed JSON, a missing or wrong-typed field; `details` lists each problem",
    message: ownMessage,
    extra: (error) => ({ details: error.details ?? [] }),
  }),
  declareError<E.WeakPassword>("WeakPassword", {
    status: 400,
    type: "weak_password",
    description: "the password policy failed; the message names the unmet rule",
    message: ownMessage,
  }),
  declareError<E.InvalidCode>("InvalidCode", {
    status: 400,
    type: "invalid_code",
    description: "a wrong or expired code or token",
    message: ownMessage,
  }),
  declareError<E.Unauthorized>("Unauthorized", {
    status: 401,
    type: "unauthorized",
    description: "no or unknown credentials",
    message: ownMessage,
  }),
  declareError<E.InvalidCredentials>("InvalidCredentials", {
    status: 401,
    type: "invalid_credentials",
    description: "invalid credentials",
  }),
  declareError<E.SessionExpired>("SessionExpired", {
    status: 401,
    type: "session_expired",
    description: "session expired",
  }),
  declareError<E.Forbidden>("Forbidden", {
    status: 403,
    type: "forbidden",
    description: "authenticated but lacking a permission",
    message: ownMessage,
  }),
  declareError<E.CsrfRejected>("CsrfRejected", {
    status: 403,
    type: "csrf_rejected",
    description: "cross-site request rejected",
  }),
  declareError<E.EmailNotVerified>("EmailNotVerified", {
    status: 403,
    type: "email_not_verified",
    description: "email address not verified",
  }),
  declareError<E.UserBanned>("UserBanned", {
    status: 403,
    type: "user_banned",
    description: "user is banned",
    extra: (error) => ({ ban_expires: error.banExpires?.toISOString() ?? null }),
  }),
  declareError<E.NotFound>("NotFound", {
    status: 404,
    type: "not_found",
    description: "unknown route or resource",
    message: (error) => `${error.entity} not found`,
  }),
  declareError<E.EmailTaken>("EmailTaken", {
    status: 409,
    type: "email_taken",
    description: "email already registered",
  }),
  declareError<E.UsernameTaken>("UsernameTaken", {
    status: 409,
    type: "username_taken",
    description: "username already taken",
  }),
  declareError<E.SlugTaken>("SlugTaken", { status: 409, type: "slug_taken", description: "slug already taken" }),
  declareError<E.Conflict>("Conflict", {
    status: 409,
    type: "conflict",
    description: "a conflicting state",
    message: ownMessage,
  }),
  declareError<E.PayloadTooLarge>("PayloadTooLarge", {
    status: 413,
    type: "payload_too_large",
    description: "request body exceeds 64 KiB",
  }),
  declareError<E.UnsupportedMediaType>("UnsupportedMediaType", {
    status: 415,
    type: "unsupported_media_type",
    description: "request body must be application/json",
  }),
  declareError<E.RateLimited>("RateLimited", {
    status: 429,
    type: "rate_limited",
    description: "rate limit exceeded",
    message: (error, now) => `rate limit exceeded, try again in ${secondsUntil(error.resetAt, now)} seconds`,
    headers: (error, now) => {
      const retryAfter = String(secondsUntil(error.resetAt, now))
      return {
        "retry-after": retryAfter,
        "ratelimit-limit": String(error.limit),
        "ratelimit-remaining": "0",
        "ratelimit-reset": retryAfter,
      }
    },
  }),
  declareError<E.AccountLocked>("AccountLocked", {
    status: 429,
    type: "account_locked",
    description: "too many failed sign-ins; try again later",
    headers: (error, now) => ({ "retry-after": String(secondsUntil(error.until, now)) }),
  }),
  declareError<E.TooManyAttempts>("TooManyAttempts", {
    status: 429,
    type: "too_many_attempts",
    description: "a code or ticket was tried too often and is now void",
    message: ownMessage,
  }),
  declareError<E.Unavailable>("Unavailable", {
    status: 503,
    type: "unavailable",
    description: "temporarily unavailable; retry after the given delay",
    message: ownMessage,
    headers: (error) => ({ "retry-after": String(error.retryAfterSeconds) }),
  }),
]

/** Errors the pipeline answers itself (no declaration can fail to exist for them). */
export const internalErrorDescriptions: Readonly<Record<number, string>> = {
  500: "internal_error: an unexpected failure (logged)",
  503: "unavailable: the database is unreachable",
}

export const notFoundResponse = () => envelope(404, "not_found", "not found")

const internalError = () => envelope(500, "internal_error", "internal error")

/** Maps failures through the declarations (core first, then plugins; a duplicate tag is a start-up error). */
export const makeErrorResponder = (declarations: ReadonlyArray<ErrorDeclaration>) => {
  const byTag = new Map<string, ErrorDeclaration>()
  for (const declaration of declarations) {
    if (byTag.has(declaration.tag)) throw new Error(`error ${declaration.tag} is declared twice`)
    byTag.set(declaration.tag, declaration)
  }

  /** The envelope of a declared failure; an undeclared one is 500 and logged. */
  const failure = (error: TaggedFailure, now: number): Effect.Effect<ApiResponse> => {
    const declaration = byTag.get(error._tag)
    if (declaration === undefined) {
      return Effect.as(Effect.logError(`undeclared error ${error._tag}`), internalError())
    }
    return Effect.succeed(
      envelope(
        declaration.status,
        declaration.type,
        declaration.message?.(error, now) || declaration.description,
        declaration.extra?.(error) ?? {},
        declaration.headers?.(error, now) ?? {},
      ),
    )
  }

  /** Defects: 503 when the database is unreachable, otherwise 500; logged with their cause, never sent. */
  const defect = (cause: Cause.Cause<unknown>) => {
    const unavailable = [...Cause.defects(cause)].some((defect) => defect instanceof StoreUnavailable)
    return Effect.as(
      Effect.logError(unavailable ? "database unavailable" : "unexpected failure", cause),
      unavailable
        ? envelope(503, "unavailable", "service temporarily unavailable", {}, { "retry-after": "5" })
        : internalError(),
    )
  }

  return { failure, defect, declarations: [...byTag.values()] } as const
}
