/**
 * Housekeeping (http-api.md §3 "Personal data and housekeeping"): prunes what has outlived its use — rate-limit and
 * lockout counters whose window ended, verifications and reset tokens past their expiry (they hold addresses and
 * pending sign-ups), and sessions past their refresh expiry. `Housekeeping.layer(interval)` runs it in the
 * background; several instances may prune at once (every delete is idempotent).
 */
import { Clock, type Duration, Effect, Layer } from "effect"
import { PasswordResetStore, RateLimitStore, SessionStore, VerificationStore } from "./store/index.js"

/** What one round removed. */
export interface Pruned {
  readonly rateLimits: number
  readonly verifications: number
  readonly passwordResets: number
  readonly sessions: number
}

export class Housekeeping extends Effect.Service<Housekeeping>()("authsome/Housekeeping", {
  effect: Effect.gen(function* () {
    const counters = yield* RateLimitStore
    const verifications = yield* VerificationStore
    const resets = yield* PasswordResetStore
    const sessions = yield* SessionStore

    /** One round: everything that expired before now. */
    const prune: Effect.Effect<Pruned> = Effect.flatMap(Clock.currentTimeMillis, (ms) => {
      const now = new Date(ms)
      return Effect.all({
        rateLimits: counters.deleteExpired(now),
        verifications: verifications.deleteExpired(now),
        passwordResets: resets.deleteExpired(now),
        sessions: sessions.deleteExpired(now),
      })
    }).pipe(Effect.withSpan("Housekeeping.prune"))

    return { prune } as const
  }),
}) {
  /**
   * Prunes at start and then every `interval`, in a background fiber for as long as the layer lives. A failed round
   * (the database away) is logged and the next one runs as usual.
   */
  static readonly layer = (interval: Duration.DurationInput): Layer.Layer<never, never, Housekeeping> =>
    Layer.scopedDiscard(
      Effect.flatMap(Housekeeping, (housekeeping) =>
        Effect.forkScoped(
          housekeeping.prune.pipe(
            Effect.tap((pruned) => Effect.logDebug("housekeeping").pipe(Effect.annotateLogs({ ...pruned }))),
            Effect.catchAllCause((cause) => Effect.logWarning("housekeeping round failed", cause)),
            Effect.zipRight(Effect.sleep(interval)),
            Effect.forever,
            Effect.annotateLogs({ service: "Housekeeping" }),
            Effect.interruptible,
          ),
        ),
      ),
    )
}
