/**
 * The admin reads on a large app (http-api.md §5, issue "fast on 100,000 users"): 100,000 users, 100,000 sessions
 * (a fifth of them expired) and 2,000 organizations seeded with SQL; `GET /admin/stats` answers exact counts with one
 * single-scan count each (active sessions index-only), and the email-prefix search uses its index.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { Client, startServer, strongPassword, type TestServer, uniqueEmail } from "../support/http.js"

const users = 100_000

describe("admin reads on 100,000 users", () => {
  let server: TestServer
  let token: string
  let appId: string
  let serverVersion: string

  beforeAll(async () => {
    server = await startServer({
      config: { emailVerification: { required: false }, plugins: [Password.plugin(), Organization.plugin()] },
    })
    const owner = await new Client(server.base).post("/signup", {
      email: uniqueEmail("owner"),
      password: strongPassword,
    })
    token = owner.body.session_token
    appId = owner.body.user.app_id
    const envId = owner.body.user.env_id
    const sql = server.sql!
    serverVersion = (await sql("SELECT version()", []))[0].version
    // Ids: the prefix and 26 Crockford base32 characters (digits are), older than any id the server makes.
    await sql(
      `INSERT INTO authsome_users (id, app_id, env_id, email, email_verified, created_at, updated_at, deleted_at)
       SELECT 'ausr_' || lpad(i::text, 26, '0'), $1, $2, 'user' || i || '@example.com', true, now(), now(),
              CASE WHEN i % 50 = 0 THEN now() END
         FROM generate_series(1, ${users}) AS i`,
      [appId, envId],
    )
    await sql(
      `INSERT INTO authsome_sessions (id, app_id, env_id, user_id, family_id, token_hash, refresh_token_hash,
                                      expires_at, refresh_token_expires_at, last_activity_at, created_at, updated_at)
       SELECT 'ases_' || lpad(i::text, 26, '0'), $1, $2, 'ausr_' || lpad(i::text, 26, '0'),
              'asfm_' || lpad(i::text, 26, '0'), md5('t' || i), md5('r' || i), now() + interval '1 hour',
              CASE WHEN i % 5 = 0 THEN now() - interval '1 day' ELSE now() + interval '30 days' END,
              now(), now(), now()
         FROM generate_series(1, ${users}) AS i`,
      [appId, envId],
    )
    await sql(
      `INSERT INTO authsome_organizations (id, app_id, env_id, name, slug, created_by, created_at, updated_at)
       SELECT 'aorg_' || lpad(i::text, 26, '0'), $1, $2, 'Org ' || i, 'org-' || i, 'ausr_' || lpad(i::text, 26, '0'),
              now(), now()
         FROM generate_series(1, 2000) AS i`,
      [appId, envId],
    )
    // What autovacuum does on a live database: statistics, and the visibility map index-only scans rely on.
    await sql("VACUUM ANALYZE authsome_users")
    await sql("VACUUM ANALYZE authsome_sessions")
    await sql("VACUUM ANALYZE authsome_organizations")
  }, 120_000)
  afterAll(async () => {
    await server?.close()
  })

  const get = (path: string) => new Client(server.base).get(path, { token, cookies: false })
  const plan = async (query: string, values: ReadonlyArray<unknown>) =>
    (await server.sql!(`EXPLAIN (ANALYZE, BUFFERS) ${query}`, values))
      .map((row: Record<string, string>) => row["QUERY PLAN"])
      .join("\n")

  it("stats are exact and fast: one count per figure, each a single scan", async () => {
    const first = await get("/admin/stats")
    expect(first.body).toEqual({
      users: users - users / 50 + 1,
      // The owner's own session plus the seeded ones whose refresh token is still valid.
      active_sessions: users - users / 5 + 1,
      organizations: 2000,
    })
    const timings: Array<number> = []
    for (let i = 0; i < 10; i++) {
      const started = performance.now()
      expect((await get("/admin/stats")).status).toBe(200)
      timings.push(performance.now() - started)
    }
    timings.sort((a, b) => a - b)
    const median = timings[5]!
    console.info(`GET /admin/stats on ${users} users: median ${median.toFixed(1)} ms, max ${timings[9]!.toFixed(1)} ms`)
    expect(median).toBeLessThan(250)

    const now = new Date()
    const usersPlan = await plan("SELECT count(*) FROM authsome_users WHERE app_id = $1 AND deleted_at IS NULL", [
      appId,
    ])
    const sessionsPlan = await plan(
      "SELECT count(*) FROM authsome_sessions WHERE app_id = $1 AND refresh_token_expires_at > $2",
      [appId, now],
    )
    const orgsPlan = await plan("SELECT count(*) FROM authsome_organizations WHERE app_id = $1", [appId])
    console.info(`users:\n${usersPlan}\nsessions:\n${sessionsPlan}\norganizations:\n${orgsPlan}`)
    // Each figure is one scan, without sort or join; the planner may read a table whose rows are nearly all of
    // this app sequentially, which is what it does here for the users.
    for (const each of [usersPlan, sessionsPlan, orgsPlan]) {
      expect(each).not.toMatch(/Sort|Join|Nested Loop/)
      expect(Number(/Execution Time: ([\d.]+) ms/.exec(each)?.[1])).toBeLessThan(150)
    }
    // PostgreSQL 15 counts the active sessions from the index alone; PostgreSQL 18 (the embedded fallback of the tests)
    // may prefer one pass over the table, which the time bound above covers.
    if (/^PostgreSQL 1[0-5]\./.test(serverVersion)) {
      expect(sessionsPlan).toMatch(/Index Only Scan using authsome_sessions_app_active_idx/)
    }
  })

  it("the email-prefix search reads only its matches through the prefix index, deep pages included", async () => {
    const started = performance.now()
    const page = await get("/admin/users?email=user9999&limit=5")
    const elapsed = performance.now() - started
    expect(page.body.users.map((user: { email: string }) => user.email)).toEqual([
      "user99999@example.com",
      "user99998@example.com",
      "user99997@example.com",
      "user99996@example.com",
      "user99995@example.com",
    ])
    expect(elapsed).toBeLessThan(250)
    const searchPlan = await plan(
      `SELECT id FROM authsome_users WHERE app_id = $1 AND deleted_at IS NULL AND email LIKE $2 ESCAPE '\\'
        ORDER BY id DESC LIMIT 21`,
      [appId, "user9999%"],
    )
    console.info(`search:\n${searchPlan}`)
    // Through an index on the email: the prefix index, or, under the C collation, the unique index itself.
    expect(searchPlan).toMatch(/Index (Only )?Scan using authsome_users_(email_prefix_idx|email_key)/)
    expect(searchPlan).not.toMatch(/Seq Scan/)

    // Paging through every user without a filter: the last page costs what the first did (keyset pagination).
    const deep = await get(`/admin/users?limit=100&cursor=ausr_${"0".repeat(21)}00200`)
    expect(deep.body.users).toHaveLength(100)
    expect(deep.body.users[0].id).toBe(`ausr_${"0".repeat(23)}199`)
  })
})
