/**
 * Error declarations: how a tagged error becomes an HTTP response. The core declares its errors (`src/http/errors.ts`)
 * and every plugin declares its own (`Plugin.errors`) the same way; the pipeline's error mapping and the OpenAPI
 * document both read these declarations, so a route can fail with any declared error and the document lists it.
 */

/** Any failure a route handler may return: a tagged error whose tag some plugin (or the core) declared. */
export interface TaggedFailure {
  readonly _tag: string
}

export interface ErrorDeclaration<E extends TaggedFailure = any> {
  readonly tag: E["_tag"]
  readonly status: number
  /** The envelope's stable, machine-readable `type`. */
  readonly type: string
  /** What the OpenAPI document says of it, and the `error` message when `message` gives none. */
  readonly description: string
  /** The envelope's human-readable `error`; must not echo secrets or submitted values. */
  readonly message?: (error: E, now: number) => string
  /** Documented extra fields of the envelope (e.g. `mfa_ticket`). */
  readonly extra?: (error: E) => Readonly<Record<string, unknown>>
  /** Response headers (e.g. `Retry-After`); `now` is the current time in milliseconds. */
  readonly headers?: (error: E, now: number) => Readonly<Record<string, string>>
}

/** Declares how the error tagged `tag` is answered: `declareError<MyError>("MyError", { status: 409, ... })`. */
export const declareError = <E extends TaggedFailure>(
  tag: E["_tag"],
  declaration: Omit<ErrorDeclaration<E>, "tag">,
): ErrorDeclaration<E> => ({ tag, ...declaration })

/** Seconds from `now` until `date`, at least 1 (for `Retry-After`). */
export const secondsUntil = (date: Date, now: number) => Math.max(1, Math.ceil((date.getTime() - now) / 1000))
