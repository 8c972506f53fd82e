/**
 * Webhooks over real HTTP on PostgreSQL (http-api.md §5), delivered to a real node:http receiver on 127.0.0.1 that
 * verifies each call with the `standardwebhooks` package: the routes and their errors, the secret (shown once,
 * sealed in the database), retries with the same `webhook-id`, a receiver down for the whole schedule ending
 * `failed`, a slow receiver not delaying another, the delivery log's pages, and the SSRF guard at creation and at
 * delivery (its own server with private targets refused).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TLSSocket } from "node:tls"
import { Effect } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { AuthsomeOptions } from "../../src/authsome.js"
import { newId } from "../../src/domain/ids.js"
import { SecretBox } from "../../src/services/secrets.js"
import { EnvironmentStore, WebhookStore } from "../../src/services/store/index.js"
import { resolveConfigSync } from "../../src/config.js"
import { newWebhookSecret, nextRetryDelay, refusalOf, webhookSecretPurpose } from "../../src/services/webhooks/index.js"
import { makeConnections, postSigned } from "../../src/services/webhooks/transport.js"
import { Client, startServer, strongPassword, type TestServer, uniqueEmail } from "../support/http.js"
import { type Receiver, startReceiver } from "../support/webhooks.js"

const fast = {
  allowPrivateTargets: true,
  retrySchedule: ["200 millis", "400 millis"],
  pollInterval: "100 millis",
  timeout: "2 seconds",
} as const

const config: AuthsomeOptions = { emailVerification: { required: false }, webhooks: fast }

const signUp = async (server: TestServer, email = uniqueEmail()) => {
  const client = new Client(server.base)
  const response = await client.post("/signup", { email, password: strongPassword })
  expect(response.status).toBe(201)
  return { client, email, token: response.body.session_token as string, id: response.body.user.id as string }
}

describe("webhooks over HTTP", () => {
  let server: TestServer
  let owner: Awaited<ReturnType<typeof signUp>>
  let receiver: Receiver

  const addWebhook = async (target: Receiver, events: ReadonlyArray<string>) => {
    const created = await owner.client.post("/webhooks", { url: target.url, events }, { token: owner.token })
    expect(created.status).toBe(201)
    target.secret = created.body.secret
    return created.body as { id: string; secret: string }
  }

  beforeAll(async () => {
    server = await startServer({ config })
    owner = await signUp(server) // the first user of the app: owner
    receiver = await startReceiver()
  })
  afterAll(async () => {
    await receiver?.close()
    await server?.close()
  })
  // Each test's webhooks go with it, so no later event is delivered to a receiver that has closed.
  afterEach(async () => {
    const { webhooks } = (await owner.client.get("/webhooks", { token: owner.token })).body
    for (const { id } of webhooks) await owner.client.delete(`/webhooks/${id}`, { token: owner.token })
  })

  it("makes a webhook whose whsec_ secret is shown once and kept sealed in the database", async () => {
    const created = await owner.client.post(
      "/webhooks",
      { url: "https://1.1.1.1/hooks", events: ["user.created", "auth.signin"] },
      { token: owner.token },
    )
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^awhk_/),
      url: "https://1.1.1.1/hooks",
      events: ["user.created", "auth.signin"],
      active: true,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    })
    const { id, secret } = created.body
    const read = await owner.client.get(`/webhooks/${id}`, { token: owner.token })
    expect(read.status).toBe(200)
    expect(read.body).not.toHaveProperty("secret")
    const listed = await owner.client.get("/webhooks", { token: owner.token })
    expect(listed.body.webhooks.map((w: { id: string }) => w.id)).toContain(id)
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(6))
    // sealed at rest: the stored value (the database column on PostgreSQL) is not the secret, and opens to it
    const stored = server.sql
      ? (await server.sql("SELECT secret FROM authsome_webhooks WHERE id = $1", [id]))[0].secret
      : (await server.handlers.run(Effect.flatMap(WebhookStore, (store) => store.get(id)))).secret
    expect(stored).toMatch(/^v1\./)
    expect(stored).not.toContain(secret.slice(6, 20))
    expect(stored).not.toContain("whsec_")
    const opened = await server.handlers.run(Effect.map(SecretBox, (box) => box.open(webhookSecretPurpose, stored)))
    expect(opened).toBe(secret)

    const patched = await owner.client.patch(
      `/webhooks/${id}`,
      { events: ["*"], active: false },
      { token: owner.token },
    )
    expect(patched.body).toMatchObject({ events: ["*"], active: false })
    expect((await owner.client.delete(`/webhooks/${id}`, { token: owner.token })).status).toBe(204)
    expect((await owner.client.get(`/webhooks/${id}`, { token: owner.token })).status).toBe(404)
  })

  it("answers 400 with details for a bad URL or an unknown event, 404 for unknown ids, 403 without webhook:*", async () => {
    for (const url of ["ftp://1.1.1.1/x", "not a url", "https://user:pw@1.1.1.1/"]) {
      const response = await owner.client.post("/webhooks", { url, events: ["user.created"] }, { token: owner.token })
      expect(response.status).toBe(400)
      expect(response.body).toMatchObject({ type: "invalid_request", details: [{ path: "url" }] })
    }
    const unknown = await owner.client.post(
      "/webhooks",
      { url: "https://1.1.1.1/", events: ["user.created", "user.exploded"] },
      { token: owner.token },
    )
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ type: "invalid_request", details: [{ path: "events.1" }] })
    const none = await owner.client.post("/webhooks", { url: "https://1.1.1.1/", events: [] }, { token: owner.token })
    expect(none.status).toBe(400)
    for (const path of ["/webhooks/awhk_nope", "/webhooks/ausr_01jd0000000000000000000000/deliveries"]) {
      expect((await owner.client.get(path, { token: owner.token })).status).toBe(404)
    }
    const plain = await signUp(server)
    const forbidden = await plain.client.get("/webhooks", { token: plain.token })
    expect(forbidden.status).toBe(403)
    expect(forbidden.body.type).toBe("forbidden")
  })

  it("signs per Standard Webhooks: the receiver's standardwebhooks check passes, X-Authsome-Event names the type", async () => {
    const hook = await addWebhook(receiver, ["user.created"])
    const email = uniqueEmail("signed")
    const user = await signUp(server, email)
    await receiver.waitFor(() => receiver.ofType("user.created").some((call) => call.payload?.data.user_id === user.id))
    const call = receiver.ofType("user.created").find((c) => c.payload?.data.user_id === user.id)!
    expect(call.eventHeader).toBe("user.created")
    expect(call.payload).toMatchObject({
      id: expect.stringMatching(/^aevt_/),
      type: "user.created",
      app_id: expect.stringMatching(/^aapp_/),
      env_id: expect.stringMatching(/^aenv_/),
      data: { user_id: user.id, email },
    })
    expect(Math.abs(Number(call.timestamp) - Date.now() / 1000)).toBeLessThan(30)
    // a wrong secret does not verify
    const forged = receiver.secret
    receiver.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    const other = await signUp(server)
    await receiver.waitFor((calls) => calls.some((c) => c.body.includes(other.id)))
    expect(receiver.calls.find((c) => c.body.includes(other.id))?.payload).toBeUndefined()
    receiver.secret = forged
    await owner.client.delete(`/webhooks/${hook.id}`, { token: owner.token })
  })

  it("retries a 500 with the same webhook-id; the delivery log shows attempts, code, duration", async () => {
    const flaky = await startReceiver()
    try {
      flaky.respond = ({ count }) => (count === 1 ? 500 : 200)
      const hook = await addWebhook(flaky, ["user.created"])
      await signUp(server)
      await flaky.waitFor((calls) => calls.length >= 2)
      const [first, second] = flaky.calls
      expect(first!.answered).toBe(500)
      expect(second!.answered).toBe(200)
      expect(second!.id).toBe(first!.id)
      expect(second!.payload).toEqual(first!.payload)
      expect(first!.payload?.type).toBe("user.created")
      // the outcome is recorded a moment after the receiver's answer
      let log = await owner.client.get(`/webhooks/${hook.id}/deliveries`, { token: owner.token })
      for (let i = 0; i < 50 && log.body.deliveries[0]?.status !== "delivered"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        log = await owner.client.get(`/webhooks/${hook.id}/deliveries`, { token: owner.token })
      }
      expect(log.status).toBe(200)
      const [delivery] = log.body.deliveries
      expect(delivery).toMatchObject({
        id: first!.id,
        event_type: "user.created",
        status: "delivered",
        attempts: 2,
        last_status_code: 200,
        last_duration_ms: expect.any(Number),
        next_attempt_at: null,
        delivered_at: expect.any(String),
      })
    } finally {
      await flaky.close()
    }
  })

  it("gives up after the whole schedule on a receiver that is down: failed, with the error in the log", async () => {
    const gone = await startReceiver()
    const hook = await addWebhook(gone, ["user.created"])
    await gone.close() // nothing listens on its port any more
    await signUp(server)
    const deadline = Date.now() + 10_000
    let delivery: any
    while (Date.now() < deadline) {
      delivery = (await owner.client.get(`/webhooks/${hook.id}/deliveries`, { token: owner.token })).body.deliveries[0]
      if (delivery?.status === "failed") break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(delivery).toMatchObject({
      status: "failed",
      attempts: 3, // the first try and the two retries of the schedule
      last_status_code: null,
      last_error: expect.stringContaining("connection failed"),
      next_attempt_at: null,
    })
  })

  it("retries a failed delivery on request: pending again with the same webhook-id; 409 unless failed", async () => {
    const target = await startReceiver()
    try {
      target.respond = () => 500
      const hook = await addWebhook(target, ["user.created"])
      await signUp(server)
      const log = (path = "") => owner.client.get(`/webhooks/${hook.id}/deliveries${path}`, { token: owner.token })
      const deadline = Date.now() + 10_000
      while ((await log()).body.deliveries[0]?.status !== "failed") {
        expect(Date.now()).toBeLessThan(deadline)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const failed = (await log()).body.deliveries[0]
      expect(failed).toMatchObject({ attempts: 3, last_status_code: 500, last_error: "HTTP 500" })
      target.respond = () => 204
      const retried = await owner.client.post(`/webhooks/${hook.id}/deliveries/${failed.id}/retry`, undefined, {
        token: owner.token,
      })
      expect(retried.status).toBe(202)
      expect(retried.body).toMatchObject({ id: failed.id, status: "pending", attempts: 0 })
      await target.waitFor((calls) => calls.some((call) => call.answered === 204))
      expect(new Set(target.calls.map((call) => call.id))).toEqual(new Set([failed.id]))
      let after = (await log()).body.deliveries[0]
      for (let i = 0; i < 50 && after.status !== "delivered"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        after = (await log()).body.deliveries[0]
      }
      expect(after).toMatchObject({ status: "delivered", attempts: 1, last_status_code: 204 })
      const again = await owner.client.post(`/webhooks/${hook.id}/deliveries/${failed.id}/retry`, undefined, {
        token: owner.token,
      })
      expect(again.status).toBe(409)
      const unknown = await owner.client.post(`/webhooks/${hook.id}/deliveries/awhd_nope/retry`, undefined, {
        token: owner.token,
      })
      expect(unknown.status).toBe(404)
    } finally {
      await target.close()
    }
  })

  it("a slow receiver does not delay another one, nor the request that caused the event", async () => {
    const slow = await startReceiver()
    const quick = await startReceiver()
    try {
      slow.respond = () => new Promise((resolve) => setTimeout(() => resolve(204), 1500))
      await addWebhook(slow, ["user.created"])
      await addWebhook(quick, ["user.created"])
      const started = Date.now()
      const user = await signUp(server)
      expect(Date.now() - started).toBeLessThan(1000)
      await quick.waitFor((calls) => calls.some((c) => c.payload?.data.user_id === user.id), 1000)
      expect(slow.calls.some((c) => c.body.includes(user.id))).toBe(false) // still waiting for the slow one
      await slow.waitFor((calls) => calls.some((c) => c.payload?.data.user_id === user.id), 5000)
    } finally {
      await Promise.all([slow.close(), quick.close()])
    }
  })

  it("queues a webhook.test delivery; the log pages by cursor, newest first", async () => {
    const target = await startReceiver()
    try {
      const hook = await addWebhook(target, ["org.created"])
      const queued = []
      for (let i = 0; i < 3; i++) {
        const sent = await owner.client.post(`/webhooks/${hook.id}/test`, undefined, { token: owner.token })
        expect(sent.status).toBe(202)
        expect(sent.body).toMatchObject({ event_type: "webhook.test", status: "pending", attempts: 0 })
        queued.push(sent.body.id)
      }
      await target.waitFor((calls) => calls.filter((c) => c.payload?.type === "webhook.test").length === 3)
      expect(target.calls.map((c) => c.payload?.data)).toEqual(Array(3).fill({ webhook_id: hook.id }))
      const first = await owner.client.get(`/webhooks/${hook.id}/deliveries?limit=2`, { token: owner.token })
      expect(first.body.deliveries.map((d: { id: string }) => d.id)).toEqual([queued[2], queued[1]])
      expect(first.body.next_cursor).toBe(queued[1])
      const second = await owner.client.get(
        `/webhooks/${hook.id}/deliveries?limit=2&cursor=${first.body.next_cursor}`,
        {
          token: owner.token,
        },
      )
      expect(second.body.deliveries.map((d: { id: string }) => d.id)).toEqual([queued[0]])
      expect(second.body).not.toHaveProperty("next_cursor")
      const bad = await owner.client.get(`/webhooks/${hook.id}/deliveries?limit=500`, { token: owner.token })
      expect(bad.status).toBe(400)
    } finally {
      await target.close()
    }
  })
})

describe("a receiver's backlog larger than the dispatcher's concurrency", () => {
  // 4 slots, 2 per webhook: without the per-webhook limit one receiver's backlog would take all 4.
  const limited = { ...fast, concurrency: 4, concurrencyPerWebhook: 2, timeout: "1500 millis" } as const
  let server: TestServer
  let owner: Awaited<ReturnType<typeof signUp>>

  beforeAll(async () => {
    server = await startServer({ config: { ...config, webhooks: limited } })
    owner = await signUp(server)
  })
  afterAll(async () => {
    await server?.close()
  })

  const addWebhook = async (url: string, events: ReadonlyArray<string>) => {
    const created = await owner.client.post("/webhooks", { url, events }, { token: owner.token })
    expect(created.status).toBe(201)
    return created.body as { id: string; secret: string }
  }
  const queueTests = async (id: string, count: number) => {
    for (let i = 0; i < count; i++) {
      expect((await owner.client.post(`/webhooks/${id}/test`, undefined, { token: owner.token })).status).toBe(202)
    }
  }
  /** The quick receiver gets the sign-up's `user.created` within `withinMs` of the sign-up's answer. */
  const quickReceiverIsNotDelayed = async (quick: Receiver, withinMs: number) => {
    quick.secret = (await addWebhook(quick.url, ["user.created"])).secret
    const user = await signUp(server)
    const answered = Date.now()
    await quick.waitFor((calls) => calls.some((c) => c.payload?.data.user_id === user.id), 5000)
    return Date.now() - answered < withinMs
  }

  it("a slow receiver's backlog leaves slots for another receiver, and is delivered once each", async () => {
    const slow = await startReceiver()
    const quick = await startReceiver()
    let inFlight = 0
    let peak = 0
    slow.respond = async () => {
      peak = Math.max(peak, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      inFlight--
      return 204
    }
    try {
      const hook = await addWebhook(slow.url, ["org.created"])
      slow.secret = hook.secret
      await queueTests(hook.id, 8)
      await expect.poll(() => inFlight, { timeout: 5000, interval: 20 }).toBeGreaterThan(0)
      expect(await quickReceiverIsNotDelayed(quick, 800)).toBe(true)
      await slow.waitFor((calls) => calls.filter((c) => c.payload?.type === "webhook.test").length === 8, 15_000)
      expect(peak).toBe(2)
      // Successes are recorded in batches, a moment after the answers.
      const outcomes = async () =>
        (
          await owner.client.get(`/webhooks/${hook.id}/deliveries?limit=20`, { token: owner.token })
        ).body.deliveries.map((d: { status: string; attempts: number }) => [d.status, d.attempts])
      await expect.poll(outcomes, { timeout: 2000 }).toEqual(Array(8).fill(["delivered", 1]))
      expect(new Set(slow.calls.map((c) => c.id)).size).toBe(8)
    } finally {
      await Promise.all([slow.close(), quick.close()])
    }
  })

  it("a dead receiver gets one delivery at a time once it has failed, and another receiver is not delayed", async () => {
    // Never answers: each attempt ends at the dispatcher's timeout, which closes the connection.
    let open = 0
    let closed = 0
    let peak = 0
    const dead = createServer((_request, response) => {
      open++
      // Counted a moment after the arrival: the next attempt may come over another kept-alive connection in the
      // same event-loop turn as the close of the one before, and an overlap of attempts here would last 1.5 s.
      setTimeout(() => {
        peak = Math.max(peak, open)
      }, 20)
      response.on("close", () => {
        open--
        closed++
      })
    })
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve))
    const quick = await startReceiver()
    try {
      const hook = await addWebhook(`http://127.0.0.1:${(dead.address() as AddressInfo).port}/hook`, ["org.created"])
      await queueTests(hook.id, 8)
      await expect.poll(() => open, { timeout: 5000, interval: 20 }).toBe(2)
      // The first two attempts time out; from then on the failing receiver is tried one delivery at a time.
      await expect.poll(() => closed, { timeout: 5000, interval: 5 }).toBe(2)
      peak = open
      expect(await quickReceiverIsNotDelayed(quick, 800)).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 3500))
      expect(peak).toBe(1)
      const log = await owner.client.get(`/webhooks/${hook.id}/deliveries?limit=20`, { token: owner.token })
      const attempted = log.body.deliveries.filter((d: { attempts: number }) => d.attempts > 0)
      expect(attempted.length).toBeGreaterThanOrEqual(3)
      expect(log.body.deliveries.every((d: { status: string }) => d.status !== "delivered")).toBe(true)
      await owner.client.delete(`/webhooks/${hook.id}`, { token: owner.token })
    } finally {
      dead.closeAllConnections()
      await Promise.all([new Promise((resolve) => dead.close(resolve)), quick.close()])
    }
  })

  it("receivers that are slow together leave a worker for another receiver", async () => {
    // Each slow receiver is within its limit (2 of the 4 workers): together they could hold all 4.
    const slowOnes = [await startReceiver(), await startReceiver()]
    const quick = await startReceiver()
    let inFlight = 0
    let peak = 0
    // Within the 1.5 s timeout, so every request the receivers count is one a worker waits for.
    const answerIn1200ms = async () => {
      peak = Math.max(peak, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 1200))
      inFlight--
      return 204
    }
    const hooks: Array<string> = []
    try {
      for (const slow of slowOnes) {
        slow.respond = answerIn1200ms
        const hook = await addWebhook(slow.url, ["org.created"])
        slow.secret = hook.secret
        hooks.push(hook.id)
        await queueTests(hook.id, 4)
      }
      // Three workers take their rows; one is kept for a receiver with nothing under way.
      await expect.poll(() => inFlight, { timeout: 5000, interval: 20 }).toBe(3)
      expect(await quickReceiverIsNotDelayed(quick, 800)).toBe(true)
      for (const slow of slowOnes) {
        await slow.waitFor((calls) => calls.filter((c) => c.payload?.type === "webhook.test").length === 4, 15_000)
      }
      expect(peak).toBe(3)
    } finally {
      for (const id of hooks) await owner.client.delete(`/webhooks/${id}`, { token: owner.token })
      await Promise.all([...slowOnes.map((slow) => slow.close()), quick.close()])
    }
  })
})

describe("the retry schedule", () => {
  it("is Svix's by default: 8 tries over about a day, each wait up to 20 % later", () => {
    const { retrySchedule } = resolveConfigSync().webhooks
    const waits = (random: number) => Array.from({ length: 8 }, (_, i) => nextRetryDelay(i + 1, retrySchedule, random))
    const minutes = (ms: number | undefined) => (ms === undefined ? undefined : ms / 60_000)
    expect(waits(0).map(minutes)).toEqual([5 / 60, 5, 30, 120, 300, 600, 600, undefined])
    expect(waits(1).map(minutes)).toEqual([6 / 60, 6, 36, 144, 360, 720, 720, undefined])
    const total = waits(0).reduce((sum: number, ms) => sum + (ms ?? 0), 0)
    expect(total / 3_600_000).toBeCloseTo(27.6, 1)
    expect(resolveConfigSync({ webhooks: { retrySchedule: ["1 second"] } }).webhooks.retrySchedule).toHaveLength(1)
  })
})

describe("the SSRF guard", () => {
  it("connects to the checked address, never resolving the host again (DNS rebinding), and follows no redirect", async () => {
    const receiver = await startReceiver()
    try {
      receiver.respond = () => 302
      // A host name that does not resolve at all: reaching the receiver proves the checked address was used.
      const url = new URL(`http://rebinding.invalid:${receiver.port}/hook`)
      const connections = makeConnections()
      const outcome = await Effect.runPromise(
        postSigned(
          { url, address: "127.0.0.1", family: 4 },
          { "content-type": "application/json" },
          "{}",
          2_000,
          connections,
        ),
      ).finally(() => connections.close())
      expect(outcome).toMatchObject({ statusCode: 302, error: "HTTP 302 (redirects are not followed)" })
      expect(receiver.calls).toHaveLength(1)
      expect(receiver.calls[0]!.host).toBe(`rebinding.invalid:${receiver.port}`)
    } finally {
      await receiver.close()
    }
  })

  it("reads at most 64 KiB of an answer's body: a 2xx with more is still delivered, a 500 with more still failed", async () => {
    const big = "x".repeat(200 * 1024)
    const receiver = createServer((request, response) => {
      request.resume()
      request.on("end", () => response.writeHead(request.url === "/ok" ? 200 : 500).end(big))
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const port = (receiver.address() as AddressInfo).port
    const connections = makeConnections(4)
    const post = (path: string) =>
      Effect.runPromise(
        postSigned(
          { url: new URL(`http://127.0.0.1:${port}${path}`), address: "127.0.0.1", family: 4 },
          {},
          "{}",
          2_000,
          connections,
        ),
      )
    try {
      expect(await post("/ok")).toMatchObject({ statusCode: 200, error: null })
      expect(await post("/fail")).toMatchObject({ statusCode: 500, error: "HTTP 500" })
      expect(await post("/ok")).toMatchObject({ statusCode: 200, error: null })
    } finally {
      await connections.close()
      receiver.closeAllConnections()
      await new Promise((resolve) => receiver.close(resolve))
    }
  })

  it("over HTTPS, connects to the checked address and verifies the certificate against the host name (SNI)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "authsome-hooks-tls-"))
    // A self-signed certificate for hooks.example.test, trusted by the dispatcher's connections in the first two posts.
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"],
        ...["-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=hooks.example.test"],
        ...["-addext", "subjectAltName=DNS:hooks.example.test"],
      ],
      { cwd: dir, stdio: "ignore" },
    )
    const cert = readFileSync(join(dir, "cert.pem"))
    const seen: Array<{ servername: string | false | null; host: string | undefined }> = []
    const receiver = createHttpsServer({ cert, key: readFileSync(join(dir, "key.pem")) }, (request, response) => {
      seen.push({ servername: (request.socket as TLSSocket).servername, host: request.headers.host })
      request.resume()
      request.on("end", () => response.writeHead(204).end())
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const port = (receiver.address() as AddressInfo).port
    const post = async (host: string, trusted: boolean) => {
      const connections = makeConnections(4, trusted ? { ca: cert } : {})
      const target = { url: new URL(`https://${host}:${port}/hook`), address: "127.0.0.1", family: 4 } as const
      return Effect.runPromise(postSigned(target, {}, "{}", 2_000, connections)).finally(() => connections.close())
    }
    try {
      // Neither name resolves: reaching the receiver proves the checked address was used.
      expect(await post("hooks.example.test", true)).toMatchObject({ statusCode: 204, error: null })
      expect(seen).toEqual([{ servername: "hooks.example.test", host: `hooks.example.test:${port}` }])
      expect(await post("other.example.test", true)).toMatchObject({
        statusCode: null,
        error: "connection failed: ERR_TLS_CERT_ALTNAME_INVALID",
      })
      expect(await post("hooks.example.test", false)).toMatchObject({
        statusCode: null,
        error: "connection failed: DEPTH_ZERO_SELF_SIGNED_CERT",
      })
      expect(seen).toHaveLength(1)
    } finally {
      receiver.closeAllConnections()
      await new Promise((resolve) => receiver.close(resolve))
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("classifies addresses: loopback, private, CGNAT, link-local, unique-local, multicast, mapped are refused", () => {
    for (const address of [
      "127.0.0.1",
      "10.0.0.1",
      "172.16.5.4",
      "192.168.1.1",
      "100.64.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fc00::1",
      "fd12:3456::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "64:ff9b::a9fe:a9fe",
    ]) {
      expect(refusalOf(address), address).toBeDefined()
    }
    for (const address of ["1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:1.1.1.1"]) {
      expect(refusalOf(address), address).toBeUndefined()
    }
  })

  describe("on a server that refuses private targets", () => {
    let server: TestServer
    let owner: Awaited<ReturnType<typeof signUp>>
    let receiver: Receiver

    beforeAll(async () => {
      server = await startServer({
        config: { ...config, webhooks: { ...fast, allowPrivateTargets: false } },
        quiet: true,
      })
      owner = await signUp(server)
      receiver = await startReceiver()
    })
    afterAll(async () => {
      await receiver?.close()
      await server?.close()
    })

    it("refuses loopback, private, link-local, mapped and localhost targets at creation (400)", async () => {
      const port = receiver.port
      for (const host of [
        "127.0.0.1",
        "[::1]",
        "10.0.0.1",
        "169.254.169.254",
        "[::ffff:127.0.0.1]",
        "localhost",
        "192.168.0.10",
        "[fd00::1]",
      ]) {
        const response = await owner.client.post(
          "/webhooks",
          { url: `http://${host}:${port}/hook`, events: ["user.created"] },
          { token: owner.token },
        )
        expect(response.status, host).toBe(400)
        expect(response.body).toMatchObject({
          type: "invalid_request",
          details: [{ path: "url", message: expect.stringContaining("not a public address") }],
        })
      }
      const unresolvable = await owner.client.post(
        "/webhooks",
        { url: "https://no-such-host.invalid/hook", events: ["user.created"] },
        { token: owner.token },
      )
      expect(unresolvable.status).toBe(400)
      const listed = await owner.client.get("/webhooks", { token: owner.token })
      expect(listed.body.webhooks).toEqual([])
    })

    it("refuses at delivery a target that has become private: the delivery fails, the receiver gets nothing", async () => {
      // A webhook whose host passed the guard when it was set and resolves to loopback now (as after DNS rebinding).
      const app = server.handlers.authsome.defaultApp
      const id = await server.handlers.run(
        Effect.gen(function* () {
          const env = yield* (yield* EnvironmentStore).getDefault(app.id)
          const box = yield* SecretBox
          const at = new Date()
          const webhook = yield* (yield* WebhookStore).create({
            id: newId.webhook(),
            appId: app.id,
            envId: env.id,
            url: receiver.url,
            events: ["user.created"],
            secret: box.seal(webhookSecretPurpose, newWebhookSecret()),
            active: true,
            createdAt: at,
            updatedAt: at,
          })
          return webhook.id
        }),
      )
      await signUp(server)
      const deadline = Date.now() + 10_000
      let delivery: any
      while (Date.now() < deadline) {
        const log = await owner.client.get(`/webhooks/${id}/deliveries`, { token: owner.token })
        delivery = log.body.deliveries?.[0]
        if (delivery?.status === "failed") break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(delivery).toMatchObject({
        status: "failed",
        attempts: 3,
        last_error: expect.stringMatching(/^target refused: 127\.0\.0\.1 is not a public address/),
      })
      expect(receiver.calls).toEqual([])
    })
  })
})
