/**
 * A read replica (a streaming standby made by `pg_basebackup -R`): lag-tolerant reads (the user list) go to it while
 * it is within its allowed lag, session validation never does; `/health` shows its lag; a replica too far behind or
 * gone sends the reads back to the primary without errors.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { UserStore } from "../../src/services/store/index.js"
import { type Cluster, startPrimary, startStandby, waitForReplay } from "../support/cluster.js"
import { Client, signUpAndSignIn, startServer, type TestServer } from "../support/http.js"
import { freePort } from "../support/processes.js"

const until = async (what: string, condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe("read replica", () => {
  let primary: Awaited<ReturnType<typeof startPrimary>>
  let standby: Cluster
  let server: TestServer

  beforeAll(async () => {
    primary = await startPrimary()
    standby = await startStandby(primary)
    server = await startServer({
      databaseUrl: primary.url(),
      replica: { url: standby.url(), maxLag: "1500 millis", checkInterval: "100 millis" },
      config: { emailVerification: { required: false } },
      quiet: true,
    })
  })
  afterAll(async () => {
    await server?.close()
    await standby?.remove()
    await primary?.remove()
  })

  const listedEmails = () =>
    server.handlers
      .run(Effect.flatMap(UserStore, (users) => users.list(server.handlers.authsome.defaultApp.id, { limit: 100 })))
      .then((page) => page.items.map((user) => user.email))
  const health = () => new Client(server.base).get("/health")

  it("/health shows the replica's lag", async () => {
    await until("the replica to be streaming", async () => /^lagging \d+\.\d s$/.test((await health()).body.replica))
    const answer = await health()
    expect(answer.status).toBe(200)
    expect(answer.body.status).toBe("healthy")
  })

  it("lists read the replica while it is within its lag; session checks read the primary", async () => {
    // A fresh transaction replayed just before replay stops: the replica's lag counts from it.
    await primary.query(
      "CREATE TABLE IF NOT EXISTS replica_marker (at timestamptz); INSERT INTO replica_marker VALUES (now())",
    )
    await waitForReplay(primary, standby)
    await standby.query("SELECT pg_wal_replay_pause()")
    try {
      const client = new Client(server.base)
      const { email, session_token: token } = await signUpAndSignIn(server, client)
      // Not on the replica yet: the list (lag-tolerant) does not show the user...
      expect(await listedEmails()).not.toContain(email)
      // ...but the session of that sign-up validates: session checks never read the replica.
      expect((await client.get("/session", { token, cookies: false })).status).toBe(200)

      // Past the allowed lag, reads go back to the primary.
      await until("the replica to be too far behind", async () => /too far behind/.test((await health()).body.replica))
      expect(await listedEmails()).toContain(email)
      expect((await health()).status).toBe(200)
    } finally {
      await standby.query("SELECT pg_wal_replay_resume()")
    }
    await until("the replica to catch up", async () => /^lagging/.test((await health()).body.replica))
  })

  it("a replica cut off from its primary ages out: reads go back to the primary", async () => {
    const [{ primary_conninfo: conninfo }] = await standby.query("SHOW primary_conninfo")
    await standby.query("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres'")
    await standby.query("SELECT pg_reload_conf()")
    try {
      const client = new Client(server.base)
      const { email } = await signUpAndSignIn(server, client)
      await until("the replica to be too far behind", async () => /too far behind/.test((await health()).body.replica))
      expect(await listedEmails()).toContain(email)
    } finally {
      await standby.query(`ALTER SYSTEM SET primary_conninfo = '${conninfo.replaceAll("'", "''")}'`)
      await standby.query("SELECT pg_reload_conf()")
    }
    await until("the replica to catch up", async () => /^lagging/.test((await health()).body.replica))
    expect((await health()).body.replica).toMatch(/^lagging 0\.\d s$/)
  })

  it("a replica down at start-up: the server starts, reads go to the primary, /health says so", async () => {
    const closed = await freePort()
    const alone = await startServer({
      databaseUrl: primary.url(),
      replica: { url: `postgres://postgres@127.0.0.1:${closed}/postgres`, checkInterval: "100 millis" },
      config: { emailVerification: { required: false } },
      quiet: true,
    })
    try {
      const client = new Client(alone.base)
      const { email } = await signUpAndSignIn(alone, client)
      const page = await alone.handlers.run(
        Effect.flatMap(UserStore, (users) => users.list(alone.handlers.authsome.defaultApp.id, { limit: 100 })),
      )
      expect(page.items.map((user) => user.email)).toContain(email)
      await until("the first check", async () => /unreachable/.test((await client.get("/health")).body.replica))
      expect((await client.get("/health")).status).toBe(200)
    } finally {
      await alone.close()
    }
  })

  it("losing the replica degrades to the primary without errors, and it is used again once back", async () => {
    const client = new Client(server.base)
    const { email, session_token: token } = await signUpAndSignIn(server, client)
    await standby.stop("immediate")
    // Whether or not the replica's check has noticed yet, the read answers (a failed replica read runs again on
    // the primary).
    expect(await listedEmails()).toContain(email)
    expect((await client.get("/session", { token, cookies: false })).status).toBe(200)
    const down = await health()
    expect(down.status).toBe(200)
    expect(down.body).toEqual({ status: "healthy", replica: expect.stringMatching(/^unavailable/) })

    await standby.start()
    await until("the replica to be back", async () => /^lagging/.test((await health()).body.replica))
    expect(await listedEmails()).toContain(email)
  })
})
