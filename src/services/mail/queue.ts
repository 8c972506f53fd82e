import { Clock, Effect, Queue } from "effect"
import type * as Id from "../../domain/ids.js"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { NotificationStore } from "../store/platform.js"

/**
 * The in-process nudge from `MailQueue` to `MailDispatcher` ("there may be mail now"). It only shortens the wait:
 * the dispatcher polls anyway, because a signal can arrive before the enqueuing transaction commits (or come from
 * another instance that shares no memory with this one).
 * Both `MailQueue.Default` and `MailDispatcher.layer` depend on `MailWakeUp.Default`; built in one layer graph they
 * share this one instance.
 */
export class MailWakeUp extends Effect.Service<MailWakeUp>()("authsome/MailWakeUp", {
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

export interface EnqueueMailInput {
  readonly appId: Id.AppId
  readonly envId?: Id.EnvironmentId | null | undefined
  readonly userId?: Id.UserId | null | undefined
  /** What the mail is for, e.g. `email_verification`, `password_reset`. */
  readonly type: string
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html?: string | null | undefined
}

/**
 * Queues mail in the notifications outbox. Call `enqueue` inside the `Store.transaction` of the change that causes
 * the mail, so the mail exists exactly when that change committed; `MailDispatcher` sends it afterwards, so no
 * request ever waits for the mail server.
 */
export class MailQueue extends Effect.Service<MailQueue>()("authsome/MailQueue", {
  effect: Effect.gen(function* () {
    const notifications = yield* NotificationStore
    const wakeUp = yield* MailWakeUp

    const enqueue = (input: EnqueueMailInput): Effect.Effect<M.Notification> =>
      Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis)
        const notification = yield* notifications.enqueue({
          id: newId.notification(),
          appId: input.appId,
          envId: input.envId ?? null,
          userId: input.userId ?? null,
          type: input.type,
          channel: "email",
          recipient: input.to,
          subject: input.subject,
          body: input.text,
          html: input.html ?? null,
          status: "pending",
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          sentAt: null,
          createdAt: now,
        })
        yield* wakeUp.signal
        return notification
      }).pipe(Effect.withSpan("MailQueue.enqueue", { attributes: { "mail.type": input.type } }))

    return { enqueue } as const
  }),
  dependencies: [MailWakeUp.Default],
}) {}
