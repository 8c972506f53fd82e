/**
 * Rate limits and sign-in lockout, on counters in the database so every instance shares them.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { AccountLocked, RateLimited } from "../domain/errors.js"
import type { AppId } from "../domain/ids.js"
import { AuthConfig } from "./config.js"
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
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

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
          `rl:${policy.name}:${subject}`,
          Duration.toMillis(Duration.decode(rule.window)),
          yield* now,
        )
        if (counter.count > rule.limit) return yield* new RateLimited({ limit: rule.limit, resetAt: counter.resetAt })
        return Option.some({ limit: rule.limit, remaining: rule.limit - counter.count, resetAt: counter.resetAt })
      })

    const lockKey = (appId: AppId, identifier: string) => `lock:${appId}:${identifier}`
    const failuresKey = (appId: AppId, identifier: string) => `fail:${appId}:${identifier}`

    /** Fails with `AccountLocked` while the identifier is locked (whether or not the account exists). */
    const ensureNotLocked = (appId: AppId, identifier: string) =>
      Effect.gen(function* () {
        if (!config.lockout.enabled) return
        const lock = yield* counters.peek(lockKey(appId, identifier), yield* now)
        if (Option.isSome(lock)) return yield* new AccountLocked({ until: lock.value.resetAt })
      })

    /** Counts a failed sign-in; returns true when this failure locked the identifier. */
    const recordFailure = (appId: AppId, identifier: string) =>
      Effect.gen(function* () {
        if (!config.lockout.enabled) return false
        const at = yield* now
        const failures = yield* counters.hit(
          failuresKey(appId, identifier),
          Duration.toMillis(config.lockout.window),
          at,
        )
        if (failures.count < config.lockout.maxAttempts) return false
        yield* counters.set(
          lockKey(appId, identifier),
          1,
          new Date(at.getTime() + Duration.toMillis(config.lockout.duration)),
        )
        yield* counters.reset(failuresKey(appId, identifier))
        return true
      })

    const clearFailures = (appId: AppId, identifier: string) =>
      config.lockout.enabled ? counters.reset(failuresKey(appId, identifier)) : Effect.void

    /** Lifts a lock and forgets the failures (after a password reset proved control of the account). */
    const unlock = (appId: AppId, identifier: string) =>
      config.lockout.enabled
        ? Effect.zipRight(counters.reset(lockKey(appId, identifier)), counters.reset(failuresKey(appId, identifier)))
        : Effect.void

    return { consume, ensureNotLocked, recordFailure, clearFailures, unlock } as const
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
