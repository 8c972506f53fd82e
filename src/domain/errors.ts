/**
 * Tagged domain errors. Stores fail with the storage ones (NotFound, *Taken, Conflict); services add the
 * authentication ones. The HTTP layer maps every tag to the error envelope in one place (`src/http/errors.ts`);
 * plugins declare their own errors the same way.
 */
import { Data } from "effect"

/** A row that does not exist, is soft-deleted, or belongs to another tenant. */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly entity: string }> {}
export class EmailTaken extends Data.TaggedError("EmailTaken")<{}> {}
export class UsernameTaken extends Data.TaggedError("UsernameTaken")<{}> {}
export class SlugTaken extends Data.TaggedError("SlugTaken")<{}> {}
/** Any other uniqueness or state conflict (a duplicate key, a cycle, the last owner leaving, ...). */
export class Conflict extends Data.TaggedError("Conflict")<{ readonly message: string }> {}

/**
 * The database could not be reached. Raised as a defect by stores (it is not something callers can handle) and
 * turned into 503 `unavailable` at the HTTP edge.
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{ readonly cause: unknown }> {}

export type StoreError = NotFound | EmailTaken | UsernameTaken | SlugTaken | Conflict

export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly message: string
  readonly details?: ReadonlyArray<{ readonly path: string; readonly message: string }>
}> {}
export class WeakPassword extends Data.TaggedError("WeakPassword")<{ readonly message: string }> {}
export class InvalidCode extends Data.TaggedError("InvalidCode")<{ readonly message: string }> {}
export class Unauthorized extends Data.TaggedError("Unauthorized")<{ readonly message: string }> {}
export class InvalidCredentials extends Data.TaggedError("InvalidCredentials")<{}> {}
export class SessionExpired extends Data.TaggedError("SessionExpired")<{}> {}
export class Forbidden extends Data.TaggedError("Forbidden")<{ readonly message: string }> {}
export class CsrfRejected extends Data.TaggedError("CsrfRejected")<{}> {}
export class EmailNotVerified extends Data.TaggedError("EmailNotVerified")<{}> {}
export class UserBanned extends Data.TaggedError("UserBanned")<{ readonly banExpires: Date | null }> {}
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly limit: number
  readonly resetAt: Date
}> {}
export class AccountLocked extends Data.TaggedError("AccountLocked")<{ readonly until: Date }> {}
export class TooManyAttempts extends Data.TaggedError("TooManyAttempts")<{ readonly message: string }> {}
export class PayloadTooLarge extends Data.TaggedError("PayloadTooLarge")<{}> {}
export class UnsupportedMediaType extends Data.TaggedError("UnsupportedMediaType")<{}> {}
/** Temporarily unable to serve (a full queue, an unreachable dependency); the client may retry after the delay. */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly message: string
  readonly retryAfterSeconds: number
}> {}
