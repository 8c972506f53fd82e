/**
 * Work done after the answer. The routes that must answer alike whether or not an account exists (sign-up, resend,
 * forgotten password) look the account up — the same statement either way — and leave what differs (a pending
 * sign-up, a reset token, the mail) to run here, so their response time tells nothing (http-api.md §3).
 *
 * The work runs in the engine's scope: stopping the engine waits a little for it, then interrupts it. Failures are
 * logged (the mail of a failed write is simply not sent; the client may ask again). Past `maxRunning` pieces of work
 * at once, the caller runs the next one itself, so a flood slows down instead of piling up fibers.
 */
import { Cause, Effect, FiberSet } from "effect"

const maxRunning = 512

export class Background extends Effect.Service<Background>()("authsome/Background", {
  scoped: Effect.gen(function* () {
    const fibers = yield* FiberSet.make<void, never>()
    // Added after the set's own finalizer, so it runs first: give the work in flight a moment before it is cut.
    yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(fibers).pipe(Effect.timeout("5 seconds"), Effect.ignore))

    const logged = <E>(work: Effect.Effect<void, E>) =>
      work.pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("background work failed", cause),
        ),
      )

    /** Starts `work` and returns at once (or runs it here when too much is already running). */
    const run = <E>(work: Effect.Effect<void, E>): Effect.Effect<void> =>
      Effect.flatMap(FiberSet.size(fibers), (running) =>
        running >= maxRunning ? logged(work) : Effect.asVoid(FiberSet.run(fibers, logged(work))),
      )

    return { run } as const
  }),
}) {}
