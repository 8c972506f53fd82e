/**
 * Webhook delivery by the built server (`node bin/authsome.js serve`) on PostgreSQL, as a deployment runs it: a
 * server killed with SIGKILL in the middle of a delivery loses nothing (the restarted one delivers the event, with
 * the same `webhook-id`), and two instances on one database deliver each event once.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { createDatabase } from "./support/postgres.js"
import { type Receiver, startReceiver } from "./support/webhooks.js"

const bin = join(import.meta.dirname, "..", "bin", "authsome.js")
const password = "correct horse battery staple"
const scratch = mkdtempSync(join(tmpdir(), "authsome-webhooks-"))
const configFile = join(scratch, "config.json")
// A short timeout (so the lease of a delivery cut by a crash ends soon) and a short retry schedule.
writeFileSync(
  configFile,
  JSON.stringify({ webhooks: { timeout: "1 second", pollInterval: "100 millis", retrySchedule: ["200 millis"] } }),
)

const running = new Set<ChildProcess>()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** `serve` on `databaseUrl`, once `/health` answers. */
const serve = async (databaseUrl: string) => {
  const port = await freePort()
  const child = spawn(process.execPath, [bin, "serve"], {
    cwd: scratch,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      AUTHSOME_SECRET: "a test root secret, shared by every instance",
      AUTHSOME_REQUIRE_EMAIL_VERIFICATION: "off",
      AUTHSOME_RATE_LIMIT: "off",
      AUTHSOME_PLUGINS: "password",
      AUTHSOME_WEBHOOKS_ALLOW_PRIVATE_TARGETS: "on",
      AUTHSOME_CONFIG: configFile,
      AUTHSOME_LOG_LEVEL: "error",
    },
    stdio: ["ignore", "ignore", "pipe"],
  })
  running.add(child)
  let stderr = ""
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  child.once("exit", () => running.delete(child))
  const base = `http://127.0.0.1:${port}/v1/auth`
  const deadline = Date.now() + 45_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`)
    const status = await fetch(`${base}/health`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return { child, base }
    await sleep(100)
  }
  throw new Error(`serve not healthy: ${stderr}`)
}

const killHard = async (child: ChildProcess) => {
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGKILL")
  await exited
}

const post = async (base: string, path: string, body: unknown, token?: string) => {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: await response.json().catch(() => undefined) }
}

const signUp = async (base: string, label: string) => {
  const email = `${label}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`
  const response = await post(base, "/signup", { email, password })
  expect(response.status).toBe(201)
  return { email, id: response.body.user.id as string, token: response.body.session_token as string }
}

/** The owner (the app's first user) adds a webhook to `receiver` for `events`. */
const addWebhook = async (base: string, token: string, receiver: Receiver, events: ReadonlyArray<string>) => {
  const created = await post(base, "/webhooks", { url: receiver.url, events }, token)
  expect(created.status).toBe(201)
  receiver.secret = created.body.secret
  return created.body as { id: string }
}

describe("webhooks from the built server", () => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const child of running) child.kill("SIGKILL")
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it("a server killed with SIGKILL mid-delivery loses nothing: the restarted one delivers the event", async () => {
    const database = await createDatabase("webhooks_crash")
    const receiver = await startReceiver()
    cleanups.push(database.drop, receiver.close)
    // The first call is held open, never answered (the server is killed meanwhile); later ones are answered.
    let arrived: (id: string) => void = () => {}
    const firstCall = new Promise<string>((resolve) => {
      arrived = resolve
    })
    receiver.respond = ({ id, count }) => {
      if (count > 1) return 204
      arrived(id)
      return new Promise<number>(() => {})
    }
    const first = await serve(database.url)
    const owner = await signUp(first.base, "owner")
    await addWebhook(first.base, owner.token, receiver, ["user.created"])
    const user = await signUp(first.base, "crash") // committed with its delivery
    const heldId = await firstCall
    await killHard(first.child)
    expect(receiver.calls).toEqual([]) // nothing was answered before the crash

    await serve(database.url)
    await receiver.waitFor((calls) => calls.some((call) => call.answered === 204), 20_000)
    const [delivered] = receiver.calls
    expect(delivered!.id).toBe(heldId)
    expect(delivered!.payload).toMatchObject({ type: "user.created", data: { user_id: user.id } })
    // the outcome is recorded a moment after the receiver's answer
    let rows = await fetchRows(database.url)
    for (let i = 0; i < 50 && rows[0]?.status !== "delivered"; i++) {
      await sleep(20)
      rows = await fetchRows(database.url)
    }
    expect(rows).toEqual([{ id: delivered!.id, status: "delivered", attempts: 2 }])
  }, 90_000)

  it("two instances on one database deliver each event once", async () => {
    const database = await createDatabase("webhooks_two")
    const receiver = await startReceiver()
    cleanups.push(database.drop, receiver.close)
    const [a, b] = [await serve(database.url), await serve(database.url)]
    const owner = await signUp(a.base, "owner")
    const hook = await addWebhook(a.base, owner.token, receiver, ["user.created", "session.created"])
    // events committed on both instances: sign-ups (user.created + session.created each) and test deliveries
    const users = []
    for (let i = 0; i < 6; i++) users.push(await signUp(i % 2 === 0 ? a.base : b.base, `twin${i}`))
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post(i % 2 === 0 ? a.base : b.base, `/webhooks/${hook.id}/test`, {}, owner.token),
      ),
    )
    const expected = users.length * 2 + 30
    await receiver.waitFor((calls) => calls.length >= expected, 20_000)
    await sleep(1_500) // time for any duplicate to show up
    const ids = receiver.calls.map((call) => call.id)
    expect(ids).toHaveLength(expected)
    expect(new Set(ids).size).toBe(expected)
    expect(new Set(receiver.calls.map((call) => call.payload?.id)).size).toBe(expected)
    for (const user of users) {
      expect(receiver.ofType("user.created").filter((call) => call.payload?.data.user_id === user.id)).toHaveLength(1)
    }
  }, 90_000)
})

/** The delivery rows, straight from the database. */
const fetchRows = async (databaseUrl: string) => {
  const { default: pg } = await import("pg")
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query("SELECT id, status, attempts FROM authsome_webhook_deliveries ORDER BY id")
    return result.rows
  } finally {
    await client.end()
  }
}
