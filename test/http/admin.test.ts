/**
 * Administration over real HTTP on PostgreSQL (http-api.md §5 "Admin"): every admin route refused to a plain user,
 * email-prefix search in cursor pages, pre-verified users, bans that revoke at once on a second instance, an admin
 * who cannot act on an owner, impersonation visible in the session object and the audit log, revocation, soft
 * delete, the audit query, and statistics that match the tables.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Password from "../../src/plugins/password/index.js"
import {
  type ApiResponse,
  type Client,
  startServer,
  strongPassword,
  type TestServer,
  uniqueEmail,
} from "../support/http.js"
import { CheckedClient, expectError, expectInvalidRequest } from "../support/security.js"

interface Person {
  readonly id: string
  readonly email: string
  readonly token: string
  readonly refreshToken: string
  readonly client: Client
}

const plugins = [Password.plugin(), Organization.plugin()]

describe("admin over HTTP", () => {
  let server: TestServer
  /** A second instance on the same database, requiring email verification. */
  let second: TestServer
  let owner: Person

  beforeAll(async () => {
    server = await startServer({ config: { emailVerification: { required: false }, plugins } })
    second = await startServer({ databaseUrl: server.databaseUrl, config: { plugins } })
    owner = await person("owner")
  })
  afterAll(async () => {
    await second?.close()
    await server?.close()
  })

  const person = async (label: string, on: TestServer = server): Promise<Person> => {
    const client = new CheckedClient(on.base)
    const email = uniqueEmail(label)
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    return {
      id: signup.body.user.id,
      email,
      token: signup.body.session_token,
      refreshToken: signup.body.refresh_token,
      client,
    }
  }
  const signIn = async (email: string, on: TestServer = server) =>
    new CheckedClient(on.base).post("/signin", { email, password: strongPassword }, { cookies: false })
  const call = (
    who: { token: string; client?: Client },
    method: string,
    path: string,
    body?: unknown,
    on: TestServer = server,
  ): Promise<ApiResponse> =>
    (who.client ?? new CheckedClient(on.base)).request(method, path, {
      token: who.token,
      cookies: false,
      ...(body === undefined ? {} : { body }),
    })
  const onSecond = (token: string, method: string, path: string, body?: unknown) =>
    call({ token, client: new CheckedClient(second.base) }, method, path, body)
  const makeAdmin = async (who: Person) => {
    const roles = await call(owner, "GET", "/roles")
    const admin = roles.body.roles.find((role: { slug: string }) => role.slug === "admin")
    expect((await call(owner, "POST", `/roles/${admin.id}/assign`, { user_id: who.id })).status).toBe(201)
  }

  it("the first user is the owner: the admin routes answer them", async () => {
    expect((await call(owner, "GET", "/admin/stats")).status).toBe(200)
  })

  it("a plain user gets 403 on every admin, app and environment route; no credentials get 401", async () => {
    const plain = await person("plain")
    const target = await person("target")
    const routes = server.handlers.authsome.routes.filter(
      (route: { path: string }) => route.path.startsWith("/admin") || route.path.startsWith("/environments"),
    )
    // Every route of §5 "Admin" and "Apps and environments" is served and checked here.
    expect(routes.length).toBeGreaterThanOrEqual(28)
    const apps = await call(owner, "GET", "/admin/apps")
    const appId = apps.body.apps[0].id
    const envs = await call(owner, "GET", "/environments")
    const envId = envs.body.environments[0].id
    for (const route of routes as ReadonlyArray<{ method: string; path: string }>) {
      const path = route.path
        .replace(":id/forms", `${appId}/forms`)
        .replace(/^\/admin\/apps\/:id/, `/admin/apps/${appId}`)
        .replace(/^\/environments\/:id/, `/environments/${envId}`)
        .replace(":id", target.id)
      const body = route.method === "GET" || route.method === "DELETE" ? undefined : {}
      const response = await call(plain, route.method, path, body)
      expectError(response, 403, "forbidden")
      const anonymous = await new CheckedClient(server.base).request(route.method, path, body ? { body } : {})
      expectError(anonymous, 401, "unauthorized")
    }
    // Nothing happened to the target.
    expect((await call(target, "GET", "/session")).status).toBe(200)
  })

  it("searches users by email prefix, a page at a time with cursors, newest first", async () => {
    const prefix = `pager-${Date.now()}-`
    const created: Array<string> = []
    for (let i = 0; i < 7; i++) {
      const response = await call(owner, "POST", "/admin/users", { email: `${prefix}${i}@example.com` })
      expect(response.status).toBe(201)
      created.push(response.body.id)
    }
    await call(owner, "POST", "/admin/users", { email: `x${prefix}@example.com` })
    const seen: Array<string> = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await call(
        owner,
        "GET",
        `/admin/users?email=${encodeURIComponent(prefix.toUpperCase())}&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      )
      expect(page.status).toBe(200)
      expect(page.body.users.length).toBeLessThanOrEqual(3)
      for (const user of page.body.users) expect(user.email.startsWith(prefix)).toBe(true)
      seen.push(...page.body.users.map((user: { id: string }) => user.id))
      cursor = page.body.next_cursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toEqual([...created].reverse())
    expect((await call(owner, "GET", "/admin/users?email=nobody-at-all")).body).toEqual({ users: [] })
    expectInvalidRequest(await call(owner, "GET", "/admin/users?limit=101"), ["limit"])
    expectInvalidRequest(await call(owner, "GET", "/admin/users?limit=abc"), ["limit"])
    expectInvalidRequest(await call(owner, "GET", "/admin/users?cursor=nope"), ["cursor"])
  })

  it("creates pre-verified users who can sign in where verification is required; update and soft delete", async () => {
    const email = uniqueEmail("made")
    const created = await call(owner, "POST", "/admin/users", {
      email,
      password: strongPassword,
      first_name: "Made",
      metadata: { plan: "pro" },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ email, email_verified: true, first_name: "Made", metadata: { plan: "pro" } })
    // The second instance requires verification: a pre-verified account signs in at once.
    const signedIn = await signIn(email, second)
    expect(signedIn.status).toBe(200)
    expectError(await call(owner, "POST", "/admin/users", { email, password: strongPassword }), 409, "email_taken")
    expectError(
      await call(owner, "POST", "/admin/users", { email: uniqueEmail(), password: "short" }),
      400,
      "weak_password",
    )

    const patched = await call(owner, "PATCH", `/admin/users/${created.body.id}`, {
      last_name: "User",
      email_verified: false,
    })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ first_name: "Made", last_name: "User", email_verified: false })
    expect((await call(owner, "GET", `/admin/users/${created.body.id}`)).body.last_name).toBe("User")

    expect((await call(owner, "DELETE", `/admin/users/${created.body.id}`)).body).toEqual({ status: "deleted" })
    expectError(await call(owner, "GET", `/admin/users/${created.body.id}`), 404, "not_found")
    expectError(await onSecond(signedIn.body.session_token, "GET", "/session"), 401, "unauthorized")
    const [row] = await server.sql!("SELECT deleted_at, email FROM authsome_users WHERE id = $1", [created.body.id])
    expect(row.deleted_at).not.toBeNull()
    expect(row.email).toBe(`deleted+${created.body.id}@deleted.invalid`)
    // The address is free again.
    expect((await call(owner, "POST", "/admin/users", { email })).status).toBe(201)
    // Ids of the wrong shape or of nobody are 404.
    expectError(await call(owner, "GET", "/admin/users/nope"), 404, "not_found")
    expectError(await call(owner, "GET", `/admin/users/${owner.id.replace(/.$/, "0")}x`), 404, "not_found")
  })

  it("a ban revokes every session at once on another instance; sign-in is 403 user_banned with ban_expires", async () => {
    const user = await person("banned")
    // Tokens work on every instance: a second session, used on the second instance.
    const otherSession = (await signIn(user.email)).body
    expect((await onSecond(otherSession.session_token, "GET", "/session")).status).toBe(200)
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString()
    const banned = await call(owner, "POST", `/admin/users/${user.id}/ban`, { reason: "spam", expires_at: expiresAt })
    expect(banned.status).toBe(200)
    expect(banned.body).toMatchObject({ banned: true, ban_reason: "spam", ban_expires: expiresAt })
    // The very next request on the other instance, with either session, is refused; refreshing too.
    expectError(await onSecond(otherSession.session_token, "GET", "/session"), 401, "unauthorized")
    expectError(await onSecond(user.token, "GET", "/session"), 401, "unauthorized")
    expectError(
      await new CheckedClient(second.base).post("/refresh", { refresh_token: otherSession.refresh_token }),
      401,
      "invalid_credentials",
    )
    const refused = await signIn(user.email)
    expectError(refused, 403, "user_banned", ["ban_expires"])
    expect(refused.body.ban_expires).toBe(expiresAt)
    const [{ n }] = await server.sql!("SELECT count(*)::int AS n FROM authsome_sessions WHERE user_id = $1", [user.id])
    expect(n).toBe(0)

    expectError(await call(owner, "POST", `/admin/users/${user.id}/impersonate`), 403, "user_banned", ["ban_expires"])
    // A session that slipped in beside the ban (a sign-in racing it) is refused too: the check reads the user.
    const racer = await person("racer")
    await server.sql!("UPDATE authsome_users SET banned = true WHERE id = $1", [racer.id])
    expectError(await onSecond(racer.token, "GET", "/session"), 401, "unauthorized")
    await server.sql!(
      "UPDATE authsome_users SET banned = true, ban_expires = now() - interval '1 second' WHERE id = $1",
      [racer.id],
    )
    expect((await onSecond(racer.token, "GET", "/session")).status).toBe(200)
    expectInvalidRequest(
      await call(owner, "POST", `/admin/users/${user.id}/ban`, {
        expires_at: new Date(Date.now() - 1000).toISOString(),
      }),
      ["expires_at"],
    )
    expect((await call(owner, "POST", `/admin/users/${user.id}/unban`)).body).toMatchObject({
      banned: false,
      ban_reason: null,
      ban_expires: null,
    })
    expect((await signIn(user.email)).status).toBe(200)
    const events = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=user.banned`)
    expect(events.body.events).toHaveLength(1)
    expect(events.body.events[0]).toMatchObject({ actor_id: owner.id, reason: "spam" })
  })

  it("an admin acts on plain users but not on the owner, and nobody on themselves", async () => {
    const admin = await person("admin")
    await makeAdmin(admin)
    const plain = await person("subject")
    expect((await call(admin, "DELETE", `/admin/users/${plain.id}/sessions`)).body).toEqual({ revoked: 1 })
    expectError(await call(plain, "GET", "/session"), 401, "unauthorized")
    expectError(await call(admin, "POST", `/admin/users/${owner.id}/ban`, {}), 403, "forbidden")
    expectError(await call(admin, "POST", `/admin/users/${owner.id}/impersonate`), 403, "forbidden")
    expectError(await call(admin, "DELETE", `/admin/users/${owner.id}`), 403, "forbidden")
    expectError(await call(admin, "PATCH", `/admin/users/${owner.id}`, { first_name: "Mallory" }), 403, "forbidden")
    expectError(await call(admin, "POST", `/admin/users/${admin.id}/ban`, {}), 409, "conflict")
    // An admin manages users, not apps (the platform administrator's).
    expectError(await call(admin, "GET", "/admin/apps"), 403, "forbidden")
    expect((await call(owner, "GET", "/session")).status).toBe(200)
  })

  it("impersonation: a 1-hour session naming the administrator, in the audit log, ended by stop", async () => {
    const user = await person("impersonated")
    const started = Date.now()
    const response = await call(owner, "POST", `/admin/users/${user.id}/impersonate`)
    expect(response.status).toBe(200)
    expect(response.setCookies).toEqual([])
    expect(response.body.user.id).toBe(user.id)
    const token = response.body.session_token
    for (const field of ["expires_at", "refresh_token_expires_at"]) {
      const at = Date.parse(response.body[field])
      expect(at).toBeGreaterThan(started + 3_590_000)
      expect(at).toBeLessThanOrEqual(Date.now() + 3_600_000)
    }
    const session = await call({ token }, "GET", "/session")
    expect(session.status).toBe(200)
    expect(session.body.user.id).toBe(user.id)
    expect(session.body.session.impersonated_by).toBe(owner.id)
    const listed = await call({ token }, "GET", "/sessions")
    expect(listed.body.sessions.find((s: { current: boolean }) => s.current).impersonated_by).toBe(owner.id)
    // Refreshing does not extend it past the hour.
    const refreshed = await new CheckedClient(server.base).post("/refresh", {
      refresh_token: response.body.refresh_token,
    })
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.refresh_token_expires_at).toBe(response.body.refresh_token_expires_at)
    const impersonation = refreshed.body.session_token

    const audit = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=auth.impersonation.started`)
    expect(audit.body.events).toHaveLength(1)
    expect(audit.body.events[0]).toMatchObject({ user_id: user.id, actor_id: owner.id })
    expect(audit.body.events[0].metadata.session_id).toBe(session.body.session.id)

    // Not with an API key (it would mint sessions without a person behind them).
    const key = await call(owner, "POST", "/keys", { name: "automation" })
    expect(key.status).toBe(201)
    const withKey = await new CheckedClient(server.base).request("POST", `/admin/users/${user.id}/impersonate`, {
      headers: { "x-api-key": key.body.key },
    })
    expectError(withKey, 403, "forbidden")
    // Impersonation cannot chain, and only an impersonation session can be stopped.
    expectError(await call({ token: impersonation }, "POST", `/admin/users/${owner.id}/impersonate`), 403, "forbidden")
    expectError(await call(owner, "POST", "/admin/impersonate/stop"), 403, "forbidden")
    expect((await call({ token: impersonation }, "POST", "/admin/impersonate/stop")).body).toEqual({
      status: "stopped",
    })
    expectError(await call({ token: impersonation }, "GET", "/session"), 401, "unauthorized")
    expect((await call(user, "GET", "/session")).status).toBe(200)
    expect((await call(owner, "GET", "/session")).status).toBe(200)
    const stopped = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=auth.impersonation.stopped`)
    expect(stopped.body.events[0]).toMatchObject({ actor_id: owner.id })
  })

  it("the audit log filters by user, type and time, in cursor pages", async () => {
    const user = await person("audited")
    for (let i = 0; i < 4; i++) expect((await signIn(user.email)).status).toBe(200)
    const all = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=auth.signin&limit=100`)
    // The sign-up signed in too.
    expect(all.body.events).toHaveLength(5)
    const first = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=auth.signin&limit=3`)
    expect(first.body.events).toHaveLength(3)
    const rest = await call(
      owner,
      "GET",
      `/admin/audit-events?user_id=${user.id}&type=auth.signin&limit=3&cursor=${first.body.next_cursor}`,
    )
    expect(rest.body.events).toHaveLength(2)
    expect(rest.body.next_cursor).toBeUndefined()
    expect([...first.body.events, ...rest.body.events]).toEqual(all.body.events)
    const newest = all.body.events[0].created_at
    const since = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=auth.signin&since=${newest}`)
    expect(since.body.events.map((e: { id: string }) => e.id)).toEqual([all.body.events[0].id])
    const until = await call(owner, "GET", `/admin/audit-events?user_id=${user.id}&type=auth.signin&until=${newest}`)
    expect(until.body.events).toHaveLength(4)
    expectInvalidRequest(await call(owner, "GET", "/admin/audit-events?since=yesterday"), ["since"])
    expectInvalidRequest(await call(owner, "GET", "/admin/audit-events?user_id=aorg_x"), ["user_id"])
  })

  it("stats match the tables, counted with SQL", async () => {
    await call(owner, "POST", "/orgs", { name: "Stats Inc", slug: `stats-${Date.now()}` })
    const expired = await person("expired")
    await server.sql!(
      "UPDATE authsome_sessions SET refresh_token_expires_at = now() - interval '1 minute' WHERE user_id = $1",
      [expired.id],
    )
    const gone = await person("gone")
    await call(owner, "DELETE", `/admin/users/${gone.id}`)
    const stats = await call(owner, "GET", "/admin/stats")
    const app = server.handlers.authsome.defaultApp.id
    const [counts] = await server.sql!(
      `SELECT (SELECT count(*)::int FROM authsome_users WHERE app_id = $1 AND deleted_at IS NULL) AS users,
              (SELECT count(*)::int FROM authsome_sessions WHERE app_id = $1 AND refresh_token_expires_at > now())
                AS active_sessions,
              (SELECT count(*)::int FROM authsome_organizations WHERE app_id = $1) AS organizations`,
      [app],
    )
    expect(stats.body).toEqual(counts)
    expect(counts.users).toBeGreaterThan(5)
    expect(counts.organizations).toBeGreaterThan(0)
    const [{ n }] = await server.sql!("SELECT count(*)::int AS n FROM authsome_sessions WHERE app_id = $1", [app])
    expect(n).toBeGreaterThan(counts.active_sessions)
  })
})
