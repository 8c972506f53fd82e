import { Cause, Clock, Duration, Effect, Layer, Option, Schedule } from "effect"
import { StoreUnavailable } from "../../domain/errors.js"
import type * as M from "../../domain/models.js"
import { NotificationStore } from "../store/platform.js"
import { MailDeliveryError } from "./errors.js"
import { Mailer } from "./mailer.js"
import { MailWakeUp } from "./queue.js"

export interface MailDispatcherSettings {
  /** How often to look for due mail when nobody signals (default 1 s). */
  readonly pollInterval: Duration.DurationInput
  /** Mails claimed per round (default 20). */
  readonly batchSize: number
  /** Mails of one round sent in parallel (default 5, the SMTP pool's size). */
  readonly concurrency: number
  /**
   * How long a claimed mail stays invisible to other dispatchers (default 5 min). If this instance dies mid-send,
   * the mail is due again after the lease, so it is sent at least once; the lease must exceed `sendTimeout`.
   */
  readonly lease: Duration.DurationInput
  /** Longest wait for one send before it counts as a failed attempt (default 2 min). */
  readonly sendTimeout: Duration.DurationInput
  /** Delay after the first failure, doubled after each further one (default 5 s)... */
  readonly retryBase: Duration.DurationInput
  /** ...up to this (default 15 min). */
  readonly retryMax: Duration.DurationInput
  /** Attempts before a mail is `failed` for good (default 10). */
  readonly maxAttempts: number
  /**
   * Pause between a wake-up signal and the claim (default 25 ms): `MailQueue.enqueue` signals from inside the
   * caller's transaction, which usually commits a moment later. Polling covers the slower cases.
   */
  readonly wakeUpDelay: Duration.DurationInput
}

export const defaultMailDispatcherSettings: MailDispatcherSettings = {
  pollInterval: Duration.seconds(1),
  batchSize: 20,
  concurrency: 5,
  lease: Duration.minutes(5),
  sendTimeout: Duration.minutes(2),
  retryBase: Duration.seconds(5),
  retryMax: Duration.minutes(15),
  maxAttempts: 10,
  wakeUpDelay: Duration.millis(25),
}

/** The wait before the next attempt after `attempts` failed ones: `retryBase * 2^(attempts-1)`, capped at `retryMax`. */
export const retryDelay = (attempts: number, settings: MailDispatcherSettings): Duration.Duration => {
  const base = Duration.toMillis(Duration.decode(settings.retryBase))
  const max = Duration.toMillis(Duration.decode(settings.retryMax))
  const exponent = Math.min(Math.max(attempts - 1, 0), 40) // 2^40 * base is far past any cap
  return Duration.millis(Math.min(base * 2 ** exponent, max))
}

const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

const plus = (date: Date, d: Duration.DurationInput) => new Date(date.getTime() + Duration.toMillis(Duration.decode(d)))

/** Logs a failure and carries on; interruption (the layer closing) still stops the caller. */
const logAndContinue = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  fallback: A,
  message: string,
  annotations: Record<string, unknown> = {},
): Effect.Effect<A, never, R> =>
  Effect.catchAllCause(self, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.logError(message, cause).pipe(Effect.annotateLogs(annotations), Effect.as(fallback)),
  )

const makeRound = (
  settings: MailDispatcherSettings,
): Effect.Effect<Effect.Effect<number>, never, NotificationStore | Mailer> =>
  Effect.gen(function* () {
    const notifications = yield* NotificationStore
    const mailer = yield* Mailer

    const recordFailure = (notification: M.Notification, error: MailDeliveryError, now: Date) => {
      // `claimDue` already counted this attempt
      const attempts = notification.attempts
      const giveUp = error.permanent || attempts >= settings.maxAttempts
      const nextAttemptAt = giveUp ? null : plus(now, retryDelay(attempts, settings))
      const annotations = { notificationId: notification.id, attempts, error: error.message }
      return notifications
        .markAttemptFailed(notification.id, error.message, nextAttemptAt, now)
        .pipe(
          Effect.zipRight(
            giveUp
              ? Effect.logError("mail delivery failed for good").pipe(Effect.annotateLogs(annotations))
              : Effect.logWarning("mail delivery failed, will retry").pipe(
                  Effect.annotateLogs({ ...annotations, nextAttemptAt: nextAttemptAt?.toISOString() }),
                ),
          ),
        )
    }

    // A mail sent while the database goes away (a failover) is recorded once it is back: otherwise it would be due
    // again after the lease and sent twice. Retried for half the lease, so the record lands before another claim.
    const recordSent = (id: M.Notification["id"], now: Date) =>
      notifications.markSent(id, now).pipe(
        Effect.catchSomeDefect((defect) =>
          defect instanceof StoreUnavailable ? Option.some(Effect.fail(defect)) : Option.none(),
        ),
        Effect.retry(
          Schedule.spaced(Duration.millis(250)).pipe(
            Schedule.upTo(Duration.times(Duration.decode(settings.lease), 0.5)),
          ),
        ),
        Effect.orDie,
      )

    const deliver = (notification: M.Notification) =>
      Effect.gen(function* () {
        if (notification.subject === null || notification.body === null) {
          // a pending mail always has content; without it there is nothing to send, ever
          const error = new MailDeliveryError({ message: "the notification has no subject or body", permanent: true })
          return yield* recordFailure(notification, error, yield* nowDate)
        }
        const sent = yield* mailer
          .send({
            to: notification.recipient,
            subject: notification.subject,
            text: notification.body,
            html: notification.html ?? undefined,
            messageId: `<${notification.id}@authsome.outbox>`,
          })
          .pipe(
            Effect.timeoutFail({
              duration: settings.sendTimeout,
              onTimeout: () => new MailDeliveryError({ message: "SMTP send timed out", permanent: false }),
            }),
            // a defect in a mailer is still just a failed attempt for this mail
            Effect.catchAllDefect((defect) =>
              Effect.logError("mailer defect", Cause.die(defect)).pipe(
                Effect.zipRight(
                  Effect.fail(new MailDeliveryError({ message: "unexpected mailer error", permanent: false })),
                ),
              ),
            ),
            Effect.either,
          )
        const now = yield* nowDate
        if (sent._tag === "Right") {
          yield* recordSent(notification.id, now)
          yield* Effect.logDebug("mail sent").pipe(Effect.annotateLogs({ notificationId: notification.id }))
        } else {
          yield* recordFailure(notification, sent.left, now)
        }
      })
    const deliverSafely = (notification: M.Notification): Effect.Effect<void> =>
      logAndContinue(deliver(notification), undefined, "mail dispatch failed", { notificationId: notification.id })

    /** Claims the due mail and sends it; returns how many were claimed. */
    return Effect.gen(function* () {
      const now = yield* nowDate
      const due = yield* notifications.claimDue(now, settings.batchSize, plus(now, settings.lease))
      yield* Effect.forEach(due, deliverSafely, { concurrency: settings.concurrency, discard: true })
      return due.length
    })
  })

const resolveSettings = (settings: Partial<MailDispatcherSettings>): MailDispatcherSettings => ({
  ...defaultMailDispatcherSettings,
  ...settings,
})

/**
 * Sends the mail due now, once (one round, up to `batchSize`), and returns how many mails it claimed.
 * For tools and tests; servers run `MailDispatcher.layer`.
 */
export const dispatchDueMail = (
  settings: Partial<MailDispatcherSettings> = {},
): Effect.Effect<number, never, NotificationStore | Mailer> => Effect.flatten(makeRound(resolveSettings(settings)))

export const MailDispatcher = {
  /**
   * Runs the outbox dispatcher in a background fiber for as long as the layer lives (interrupted when its scope
   * closes). Each round claims due mail (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances on one
   * database never take the same mail), sends it and records the outcome. It runs at start, on every `MailQueue`
   * signal and every `pollInterval`, and right again after a full batch. No failure stops it.
   */
  layer: (settings: Partial<MailDispatcherSettings> = {}): Layer.Layer<never, never, NotificationStore | Mailer> => {
    const resolved = resolveSettings(settings)
    return Layer.scopedDiscard(
      Effect.gen(function* () {
        const round = logAndContinue(yield* makeRound(resolved), 0, "mail dispatch round failed")
        const wakeUp = yield* MailWakeUp
        const waitForWork = wakeUp.await.pipe(
          Effect.timeoutOption(resolved.pollInterval),
          Effect.flatMap((signalled) => (Option.isSome(signalled) ? Effect.sleep(resolved.wakeUpDelay) : Effect.void)),
        )
        const step = round.pipe(
          Effect.flatMap((claimed) => (claimed >= resolved.batchSize ? Effect.void : waitForWork)),
        )
        yield* Effect.forkScoped(
          Effect.forever(step).pipe(Effect.annotateLogs({ service: "MailDispatcher" }), Effect.interruptible),
        )
      }),
    ).pipe(Layer.provide(MailWakeUp.Default))
  },
  defaultSettings: defaultMailDispatcherSettings,
  dispatchDueMail,
  retryDelay,
} as const
