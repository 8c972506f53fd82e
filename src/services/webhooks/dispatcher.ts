/**
 * The webhook dispatcher: delivers the outbox rows `Events` queued, at least once. It claims due rows in batches
 * (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances never take the same row) a little ahead of its
 * `concurrency`, and `concurrency` workers deliver the claimed rows, one each at a time: a slow receiver holds a worker
 * per delivery in flight, each for at most the timeout, while the other workers go on delivering (nothing here runs in
 * a request, so no HTTP response ever waits for a receiver). One webhook has at most `concurrencyPerWebhook` (three
 * quarters of `concurrency` by default) deliveries in flight, and a claim takes of it that limit and a few rows more
 * (so a slow receiver stays at its limit between claims) minus its rows still held here, of a webhook whose last
 * attempt failed one row at a time: a slow or dead receiver with a long backlog never holds the workers the other
 * receivers need. Each claim takes every webhook's first due row before any second one. Webhooks take turns for the
 * workers, and an eighth of them is kept for webhooks with nothing under way, so several receivers that are slow
 * together do not hold them all either.
 *
 * The target is checked against the SSRF guard again right before every attempt (once per webhook for a claimed
 * batch), and connections go to the address checked; a non-2xx answer, a timeout or a refused target is
 * retried on `webhooks.retrySchedule` (each wait with up to 20 % jitter), then the delivery is `failed`. A claim
 * leases its row; if this instance dies mid-delivery the row is due again after the lease, so nothing committed is
 * lost.
 */
import { performance } from "node:perf_hooks"
import { Cause, Clock, Duration, Effect, FiberSet, Layer, Queue } from "effect"
import type * as M from "../../domain/models.js"
import type { WebhooksSettings } from "../../config.js"
import { AuthConfig } from "../config.js"
import { RequestActivity } from "../request-activity.js"
import { SecretBox } from "../secrets.js"
import { WebhookDeliveryStore, WebhookStore } from "../store/index.js"
import type { DeliveryAttemptSuccess, DeliveryClaimLimits } from "../store/platform.js"
import { webhookSecretPurpose } from "./service.js"
import { signedHeaders, signingKey } from "./signing.js"
import { type CheckedTarget, checkTarget, parseTargetUrl, TargetRefused } from "./targets.js"
import { type Connections, makeConnections, postSigned } from "./transport.js"
import { WebhookWakeUp } from "./wake-up.js"

/** Rows claimed per statement at most. */
const maxClaim = 500

/** Successes recorded in one statement at most, and the longest a success waits to be recorded. */
const flushBatch = 50
const flushDelay = Duration.millis(20)

/**
 * Deliveries yield to requests: while API requests arrive and the event loop is busier than `busyUtilization`
 * (sampled every `paceEvery`), at most `busyConcurrency` deliveries are in flight, so a backlog does not take the CPU
 * the API needs; otherwise (no requests, or CPU to spare) the dispatcher delivers at its full `concurrency`.
 */
const busyUtilization = 0.7
const busyConcurrency = 2
const paceEvery = Duration.millis(100)

/** Pause after a wake-up signal: `Events` signals inside the caller's transaction, which commits a moment later. */
const wakeUpDelay = Duration.millis(20)

/** The wait before the next try after `attempts` failed ones, or `undefined` when the schedule is exhausted. */
export const nextRetryDelay = (
  attempts: number,
  schedule: ReadonlyArray<Duration.Duration>,
  random: number,
): number | undefined => {
  const base = schedule[attempts - 1]
  return base === undefined ? undefined : Math.round(Duration.toMillis(base) * (1 + 0.2 * random))
}

type Prepared = { readonly target: CheckedTarget; readonly key: Buffer } | { readonly refused: string }

interface AttemptResult {
  readonly statusCode: number | null
  readonly durationMs: number | null
  readonly error: string | null
}

interface ClaimedRow {
  readonly delivery: M.WebhookDelivery
  readonly prepared: Prepared
}

/**
 * Which receivers are failing (their last attempt here failed), and so how many rows a claim may take of each: its
 * in-flight limit `perWebhook` plus `ahead` (rows that wait here for the deliveries under way to end, so a slow
 * receiver stays at its limit between claims), a failing one one, minus the rows held here already. (Rows a receiver
 * had claimed before it began failing still go out at up to `perWebhook` at once: held back one at a time, they
 * could wait here past their lease.)
 */
const makeReceiverLoad = (perWebhook: number, ahead: number) => {
  const failing = new Set<string>()
  return {
    /** Whether a claim left a webhook out or gave one all `limits` allowed it (then more of its rows may be due). */
    limitReached: (due: ReadonlyArray<M.WebhookDelivery>, limits: DeliveryClaimLimits): boolean => {
      const claimedOf = new Map<string, number>()
      for (const { webhookId } of due) claimedOf.set(webhookId, (claimedOf.get(webhookId) ?? 0) + 1)
      const allowed = (id: string) => limits.webhooks.get(id as M.Webhook["id"]) ?? limits.perWebhook
      return (
        Array.from(limits.webhooks.values()).includes(0) ||
        Array.from(claimedOf).some(([id, count]) => count >= allowed(id))
      )
    },
    finished: (webhookId: string, succeeded: boolean) => {
      if (succeeded) failing.delete(webhookId)
      else failing.add(webhookId)
    },
    limits: (rows: ReturnType<typeof makeClaimedRows>): DeliveryClaimLimits => {
      const webhooks = new Map<M.Webhook["id"], number>()
      for (const id of new Set([...rows.webhooks(), ...failing])) {
        const allowed = (failing.has(id) ? 1 : perWebhook + ahead) - rows.heldOf(id)
        webhooks.set(id as M.Webhook["id"], Math.max(0, allowed))
      }
      return { perWebhook: perWebhook + ahead, webhooks }
    },
  }
}

/**
 * The rows this instance has claimed and not finished, per webhook: waiting for one of `workers` workers, or under
 * way. Webhooks take turns (the one served longest ago first), each up to `perWebhook` in flight, and a webhook that
 * already has one under way gets a worker only while more than `reserve` are free: receivers that are slow together
 * (each within its limit) never hold the workers a quiet receiver's delivery needs.
 */
const makeClaimedRows = (workers: number, reserve: number, perWebhook: number) => {
  const queues = new Map<string, Array<ClaimedRow>>()
  const underWayOf = new Map<string, number>()
  let waiting = 0
  let underWay = 0
  const mayStart = (webhookId: string, reserved: boolean) => {
    const count = underWayOf.get(webhookId) ?? 0
    return (count === 0 || !reserved) && count < perWebhook
  }
  return {
    /** Rows waiting, and deliveries under way. */
    counts: () => ({ waiting, underWay }),
    /** The webhooks with rows held here (waiting or under way). */
    webhooks: (): ReadonlySet<string> => new Set([...queues.keys(), ...underWayOf.keys()]),
    /** The rows of one webhook held here. */
    heldOf: (webhookId: string): number => (queues.get(webhookId)?.length ?? 0) + (underWayOf.get(webhookId) ?? 0),
    add: (row: ClaimedRow) => {
      const queue = queues.get(row.delivery.webhookId)
      if (queue === undefined) queues.set(row.delivery.webhookId, [row])
      else queue.push(row)
      waiting++
    },
    /**
     * Rows waiting that workers could start now: of each webhook, as many as its limit leaves (one while the reserve
     * applies). Counting a webhook's whole queue would keep the claims waiting for a delivery to end, and a quiet
     * receiver's new row unclaimed for as long, while its limit holds those rows back.
     */
    startable: (): number => {
      const reserved = underWay >= workers - reserve
      let count = 0
      for (const [id, queue] of queues) {
        if (!mayStart(id, reserved)) continue
        count += Math.min(queue.length, reserved ? 1 : perWebhook - (underWayOf.get(id) ?? 0))
      }
      return count
    },
    /** The next row to deliver, counted as under way; `undefined` when none may start now. */
    take: (): ClaimedRow | undefined => {
      const reserved = underWay >= workers - reserve
      // The map's order is the turn order.
      for (const [id, queue] of queues) {
        if (!mayStart(id, reserved)) continue
        const count = underWayOf.get(id) ?? 0
        const row = queue.shift()!
        // to the back of the map (or out of it)
        queues.delete(id)
        if (queue.length > 0) queues.set(id, queue)
        waiting--
        underWay++
        underWayOf.set(id, count + 1)
        return row
      }
      return undefined
    },
    finished: (webhookId: string) => {
      underWay--
      const left = (underWayOf.get(webhookId) ?? 1) - 1
      if (left === 0) underWayOf.delete(webhookId)
      else underWayOf.set(webhookId, left)
    },
  }
}

const makeDeliverer = (
  settings: WebhooksSettings,
  connections: Connections,
  recordSuccess: (success: DeliveryAttemptSuccess) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    const deliveries = yield* WebhookDeliveryStore
    const box = yield* SecretBox
    const timeoutMs = Duration.toMillis(settings.timeout)

    /**
     * Where a batch's deliveries to one webhook go, checked once for the batch right after its claim: the webhook's
     * current URL through the SSRF guard (resolved now; the deliveries connect to the address checked here) and its
     * secret, or why nothing can be sent.
     */
    const prepare = (webhook: M.Webhook | undefined): Effect.Effect<Prepared> =>
      Effect.gen(function* () {
        if (webhook === undefined) return { refused: "the webhook no longer exists" }
        if (!webhook.active) return { refused: "the webhook is disabled" }
        const url = parseTargetUrl(webhook.url)
        if (typeof url === "string") return { refused: `target URL ${url}` }
        const target = yield* Effect.either(
          checkTarget(url, settings.allowPrivateTargets).pipe(
            Effect.timeoutFail({
              duration: settings.timeout,
              onTimeout: () => new TargetRefused({ message: `${url.hostname} did not resolve in time` }),
            }),
          ),
        )
        if (target._tag === "Left") return { refused: `target refused: ${target.left.message}` }
        return { target: target.right, key: signingKey(box.open(webhookSecretPurpose, webhook.secret)) }
      })

    /** Records a failed attempt: due again after the schedule's next wait, or `failed` when it is exhausted. */
    const recordFailure = (delivery: M.WebhookDelivery, result: AttemptResult) =>
      Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis)
        const error = result.error ?? "no answer"
        const delay = nextRetryDelay(delivery.attempts, settings.retrySchedule, Math.random())
        const nextAttemptAt = delay === undefined ? null : new Date(now.getTime() + delay)
        yield* deliveries.markAttemptFailed(
          delivery.id,
          { statusCode: result.statusCode, durationMs: result.durationMs, error, nextAttemptAt },
          now,
        )
        yield* (
          nextAttemptAt === null
            ? Effect.logError("webhook delivery failed for good")
            : Effect.logWarning("webhook delivery failed, will retry")
        ).pipe(
          Effect.annotateLogs({
            deliveryId: delivery.id,
            webhookId: delivery.webhookId,
            attempts: delivery.attempts,
            error,
            nextAttemptAt: nextAttemptAt?.toISOString(),
          }),
        )
        return false
      })

    /**
     * Delivers one claimed row to its prepared target, and records the outcome (`claimDue` already counted the
     * attempt); succeeds with whether the receiver took it. The common case, a 2xx, is a handful of steps: this runs
     * once per delivery, thousands of times a second in a burst.
     */
    const deliver = (delivery: M.WebhookDelivery, prepared: Prepared): Effect.Effect<boolean> => {
      const outcome: Effect.Effect<boolean> =
        "refused" in prepared
          ? recordFailure(delivery, { statusCode: null, durationMs: null, error: prepared.refused })
          : Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const body = JSON.stringify(delivery.payload)
              const headers = signedHeaders(prepared.key, delivery.id, delivery.eventType, Math.floor(now / 1000), body)
              return Effect.flatMap(postSigned(prepared.target, headers, body, timeoutMs, connections), (result) =>
                result.error === null && result.statusCode !== null
                  ? Effect.as(
                      recordSuccess({ id: delivery.id, statusCode: result.statusCode, durationMs: result.durationMs }),
                      true,
                    )
                  : recordFailure(delivery, result),
              )
            })
      return Effect.catchAllCause(outcome, (cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.logError("webhook dispatch failed", cause).pipe(
              Effect.annotateLogs({ deliveryId: delivery.id }),
              Effect.as(false),
            ),
      )
    }

    return { prepare, deliver } as const
  })

export const WebhookDispatcher = {
  /**
   * Runs the dispatcher in a background fiber for as long as the layer lives. It claims due rows at start, on every
   * `WebhookWakeUp` signal, whenever deliveries finish while rows may be waiting, and every `webhooks.pollInterval`;
   * `webhooks.concurrency` deliveries run at once.
   */
  layer: Layer.scopedDiscard(
    Effect.gen(function* () {
      const settings = (yield* AuthConfig).webhooks
      const deliveries = yield* WebhookDeliveryStore
      const webhooks = yield* WebhookStore
      const wakeUp = yield* WebhookWakeUp
      const activity = yield* RequestActivity

      // Successes are recorded in batches (one UPDATE for many rows): when `flushBatch` have gathered, or
      // `flushDelay` after the first. A crash before the write only means those are delivered again.
      const succeeded: Array<DeliveryAttemptSuccess> = []
      let flushScheduled = false
      const flush = Effect.suspend(() => {
        flushScheduled = false
        const batch = succeeded.splice(0)
        return batch.length === 0
          ? Effect.void
          : Effect.flatMap(Clock.currentTimeMillis, (now) => deliveries.markDelivered(batch, new Date(now)))
      }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : Effect.logError("recording webhook deliveries failed", cause),
        ),
      )
      const flushes = yield* FiberSet.make<void, never>()
      yield* Effect.addFinalizer(() => flush)
      const recordSuccess = (success: DeliveryAttemptSuccess) =>
        Effect.suspend(() => {
          succeeded.push(success)
          if (succeeded.length >= flushBatch) return flush
          if (flushScheduled) return Effect.void
          flushScheduled = true
          return Effect.asVoid(FiberSet.run(flushes, Effect.delay(flush, flushDelay)))
        })
      const connections = yield* Effect.acquireRelease(
        Effect.sync(() => makeConnections(settings.concurrency)),
        (open) => Effect.promise(() => open.close()),
      )
      const { prepare, deliver } = yield* makeDeliverer(settings, connections, recordSuccess)
      // Claimed rows wait in `rows` for one of `concurrency` workers, so claims run ahead of the deliveries (up to
      // twice `concurrency` rows owned) and come in large batches. The lease covers the wait for a worker (at most one
      // attempt's worth) and the attempt itself (resolution and the POST have a deadline each). Long-lived workers
      // rather than a fiber per delivery: a burst runs thousands of deliveries a second, and each fiber costs.
      const workAvailable = yield* Effect.makeLatch(false)
      const owned = 2 * settings.concurrency
      const lease = 4 * Duration.toMillis(settings.timeout) + 5_000
      const slotFreed = yield* Queue.dropping<void>(1)
      const perWebhook = Math.min(
        settings.concurrencyPerWebhook ?? Math.max(1, Math.floor(0.75 * settings.concurrency)),
        settings.concurrency,
      )
      // Set when the last claim left a webhook out or gave one all it was allowed: more of its rows may be due, so the
      // next claim comes once deliveries end rather than at the next poll; after a quarter of a webhook's share has
      // ended, so claims stay batches rather than one row per finished delivery. As many rows of a webhook as end
      // between two such claims may wait here beyond its in-flight limit.
      let limitReached = false
      let endedSinceClaim = 0
      const claimAfterEnded = Math.max(1, Math.floor(perWebhook / 4))
      const receivers = makeReceiverLoad(perWebhook, claimAfterEnded)
      // An eighth of the workers (one at least) is kept for webhooks with nothing under way.
      const rows = makeClaimedRows(settings.concurrency, Math.max(1, Math.floor(settings.concurrency / 8)), perWebhook)

      let busy = false
      let lastSample = performance.eventLoopUtilization()
      let lastRequests = activity.count()
      // A plain timer, not Effect's clock: it measures the real event loop (and a TestClock does not drive it).
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const timer = setInterval(() => {
            const sample = performance.eventLoopUtilization()
            const requests = activity.count()
            busy =
              requests !== lastRequests &&
              performance.eventLoopUtilization(sample, lastSample).utilization > busyUtilization
            lastSample = sample
            lastRequests = requests
          }, Duration.toMillis(paceEvery))
          timer.unref()
          return timer
        }),
        (timer) => Effect.sync(() => clearInterval(timer)),
      )

      /**
       * One worker's next step: wait (paced, or for work), or deliver the next row. A worker that finds no row it may
       * start waits for the next claim; rows held back by the reserve are taken by the workers whose deliveries end.
       */
      const workerStep: Effect.Effect<void> = Effect.suspend(() => {
        if (busy && rows.counts().underWay >= busyConcurrency) return Effect.sleep(paceEvery)
        const next = rows.take()
        if (next === undefined) {
          workAvailable.unsafeClose()
          return workAvailable.await
        }
        return Effect.flatMap(deliver(next.delivery, next.prepared), (succeeded) => {
          rows.finished(next.delivery.webhookId)
          receivers.finished(next.delivery.webhookId, succeeded)
          return ++endedSinceClaim >= claimAfterEnded ? Queue.offer(slotFreed, undefined) : Effect.void
        })
      })
      // Not `Effect.forever`, which yields to the scheduler after every step: each step waits on I/O anyway.
      const worker: Effect.Effect<never> = Effect.flatMap(workerStep, () => worker)

      const afterWakeUp = Effect.zipRight(wakeUp.await, Effect.sleep(wakeUpDelay))
      const waitForWork = Effect.suspend(() =>
        (limitReached ? Effect.race(afterWakeUp, Queue.take(slotFreed)) : afterWakeUp).pipe(
          Effect.timeoutOption(settings.pollInterval),
        ),
      )

      /**
       * Claims rows once at most half of `concurrency` wait for a worker (rows held back by their webhook's limit or the
       * reserve do not count), up to `owned` held (delivering or waiting); reads
       * each webhook of the batch once, and hands the rows to the workers; returns whether the claim was full.
       */
      const claimRound = Effect.gen(function* () {
        const { waiting, underWay } = rows.counts()
        const held = waiting + underWay
        if (held >= owned || rows.startable() > settings.concurrency / 2) {
          yield* Queue.take(slotFreed)
          return true
        }
        const want = Math.min(owned - held, maxClaim)
        endedSinceClaim = 0
        const now = yield* Clock.currentTimeMillis
        const limits = receivers.limits(rows)
        const due = yield* deliveries.claimDue(new Date(now), want, new Date(now + lease), limits)
        limitReached = receivers.limitReached(due, limits)
        const targets = new Map<string, Prepared>()
        const ids = Array.from(new Set(due.map((delivery) => delivery.webhookId)))
        const found = new Map((yield* webhooks.getMany(ids)).map((webhook) => [webhook.id, webhook]))
        yield* Effect.forEach(
          ids,
          (id) =>
            Effect.map(prepare(found.get(id)), (prepared) => {
              targets.set(id, prepared)
            }),
          { concurrency: 4, discard: true },
        )
        for (const delivery of due) rows.add({ delivery, prepared: targets.get(delivery.webhookId)! })
        if (due.length > 0) workAvailable.unsafeOpen()
        return due.length === want
      }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : Effect.logError("webhook dispatch round failed", cause).pipe(Effect.as(false)),
        ),
      )

      // Started last, so stopped first: deliveries in flight stop, then the connections close, then successes are
      // written.
      yield* Effect.forkScoped(
        Effect.all(
          [
            Effect.forever(Effect.flatMap(claimRound, (full) => (full ? Effect.void : waitForWork))),
            ...Array.from({ length: settings.concurrency }, () => worker),
          ],
          { concurrency: "unbounded", discard: true },
        ).pipe(Effect.annotateLogs({ service: "WebhookDispatcher" }), Effect.interruptible),
      )
    }),
  ),
} as const
