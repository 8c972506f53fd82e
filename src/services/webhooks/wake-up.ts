import { Effect, Queue } from "effect"

/**
 * The in-process nudge from `Events` to the webhook dispatcher ("deliveries were queued"). It only shortens the
 * wait: the dispatcher polls anyway, because the signal comes before the enqueuing transaction commits, and other
 * instances share no memory with this one. `Events.Default` and the dispatcher depend on `WebhookWakeUp.Default`,
 * so one layer graph shares one instance.
 */
export class WebhookWakeUp extends Effect.Service<WebhookWakeUp>()("authsome/WebhookWakeUp", {
  effect: Effect.gen(function* () {
    // Capacity 1 and dropping: any number of signals before the dispatcher looks collapse into one wake-up.
    const signals = yield* Queue.dropping<void>(1)
    return {
      signal: Queue.offer(signals, undefined).pipe(Effect.asVoid),
      /** Waits for a signal (consuming any others already pending). */
      await: Queue.take(signals).pipe(Effect.zipRight(Queue.takeAll(signals)), Effect.asVoid),
    }
  }),
}) {}
