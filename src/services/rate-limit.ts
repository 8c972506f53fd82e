/**
 * Rate limits and sign-in lockout, on counters in the database so every instance shares them. Counter keys hold
 * keyed hashes of their subjects (addresses, emails, identifiers), never the subjects themselves.
 */
import { createHmac } from "node:crypto"
import { Clock, Duration, Effect, Option } from "effect"
import { AccountLocked, RateLimited } from "../domain/errors.js"
import type { AppId, UserId } from "../domain/ids.js"
import { AuthConfig } from "./config.js"
import { SecretBox } from "./secrets.js"
import { RateLimitStore } from "./store/index.js"

/**
 * A named fixed-window limit with its default; `rateLimit.rules[name]` in the configuration replaces it or turns it
 * off. The core and each plugin declare their own.
 */
export interface RateLimitPolicy {
  readonly name: string
  readonly limit: number
  readonly window: Duration.DurationInput
}

export const rateLimitPolicy = (name: string, limit: number, window: Duration.DurationInput): RateLimitPolicy => ({
  name,
  limit,
  window,
})

/**
 * Who a lockout counts: an account, whichever of its identifiers (email, username) named it, or an identifier that
 * names no account (counted all the same, so a lock reveals nothing).
 */
export type LockoutSubject = { readonly userId: UserId } | { readonly identifier: string }

/** What the `RateLimit-*` headers report after a counted request. */
export interface RateLimitState {
  readonly limit: number
  readonly remaining: number
  readonly resetAt: Date
}

export class RateLimiter extends Effect.Service<RateLimiter>()("authsome/RateLimiter", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const counters = yield* RateLimitStore
    const hashKey = (yield* SecretBox).keyFor("rate-limit-key")
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** A dump of the counters names no address or identifier, and guessing one needs the secret. */
    const keyed = (subject: string) => createHmac("sha256", hashKey).update(subject).digest("base64url")

    /**
     * Counts one request against `policy` for `subject` (an IP, an app's email hash, ...). Fails with `RateLimited`
     * once the window's limit is exceeded; `None` when the rule (or rate limiting) is off.
     */
    const consume = (
      policy: RateLimitPolicy,
      subject: string,
    ): Effect.Effect<Option.Option<RateLimitState>, RateLimited> =>
      Effect.gen(function* () {
        const override = config.rateLimit.rules[policy.name]
        if (!config.rateLimit.enabled || override === false) return Option.none()
        const rule = override ?? policy
        const counter = yield* counters.hit(
          `rl:${policy.name}:${keyed(subject)}`,
          Duration.toMillis(Duration.decode(rule.window)),
          yield* now,
        )
        if (counter.count > rule.limit) return yield* new RateLimited({ limit: rule.limit, resetAt: counter.resetAt })
        return Option.some({ limit: rule.limit, remaining: rule.limit - counter.count, resetAt: counter.resetAt })
      })

    const subjectKey = (appId: AppId, subject: LockoutSubject) =>
      keyed("userId" in subject ? `${appId}:user:${subject.userId}` : `${appId}:id:${subject.identifier}`)
    const lockKey = (appId: AppId, subject: LockoutSubject) => `lock:${subjectKey(appId, subject)}`
    const failuresKey = (appId: AppId, subject: LockoutSubject) => `fail:${subjectKey(appId, subject)}`

    /** Fails with `AccountLocked` while the subject is locked. */
    const ensureNotLocked = (appId: AppId, subject: LockoutSubject) =>
      Effect.gen(function* () {
        if (!config.lockout.enabled) return
        const lock = yield* counters.peek(lockKey(appId, subject), yield* now)
        if (Option.isSome(lock)) return yield* new AccountLocked({ until: lock.value.resetAt })
      })

    /** Counts a failed sign-in (or password check); returns true when this failure locked the subject. */
    const recordFailure = (appId: AppId, subject: LockoutSubject) =>
      Effect.gen(function* () {
        if (!config.lockout.enabled) return false
        const at = yield* now
        const failures = yield* counters.hit(failuresKey(appId, subject), Duration.toMillis(config.lockout.window), at)
        if (failures.count < config.lockout.maxAttempts) return false
        yield* counters.set(
          lockKey(appId, subject),
          1,
          new Date(at.getTime() + Duration.toMillis(config.lockout.duration)),
        )
        yield* counters.reset(failuresKey(appId, subject))
        return true
      })

    const clearFailures = (appId: AppId, subject: LockoutSubject) =>
      config.lockout.enabled ? counters.reset(failuresKey(appId, subject)) : Effect.void

    /** Lifts a lock and forgets the failures (a password reset or change proved control of the account). */
    const unlock = (appId: AppId, subject: LockoutSubject) =>
      config.lockout.enabled
        ? Effect.zipRight(counters.reset(lockKey(appId, subject)), counters.reset(failuresKey(appId, subject)))
        : Effect.void

    const guessesKey = (subject: string) => `guess:${keyed(subject)}`

    /**
     * Counts a guess at a code for `subject` when there is no code to compare it with (an address with no pending
     * verification), over `window`, and returns the count: the answers then run as those of a real code would
     * (http-api.md §3 "Codes"). Counted whatever the rate-limit settings.
     */
    const countGuess = (subject: string, window: Duration.Duration) =>
      Effect.flatMap(now, (at) =>
        Effect.map(counters.hit(guessesKey(subject), Duration.toMillis(window), at), (counter) => counter.count),
      )

    /** Forgets the guesses of `subject` (a new code would have been mailed). */
    const forgetGuesses = (subject: string) => counters.reset(guessesKey(subject))

    return { consume, ensureNotLocked, recordFailure, clearFailures, unlock, countGuess, forgetGuesses } as const
  }),
}) {}

/** The core's limits (http-api.md §3); plugins reuse the shared ones (mail, codes) and declare their own. */
export const coreRateLimits = {
  /** Verification codes, reset tokens and other short secrets, per IP. */
  codeIp: rateLimitPolicy("codeIp", 10, "1 minute"),
  /** Mail-sending routes (resend, forgot password, magic links), per IP... */
  mailIp: rateLimitPolicy("mailIp", 3, "1 minute"),
  /** ...and per address. */
  mailEmail: rateLimitPolicy("mailEmail", 3, "1 minute"),
  refreshIp: rateLimitPolicy("refreshIp", 30, "1 minute"),
  introspectIp: rateLimitPolicy("introspectIp", 600, "1 minute"),
} as const
