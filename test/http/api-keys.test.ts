/**
 * API keys over real HTTP on PostgreSQL (http-api.md §5): made once and shown once, stored as SHA-256, both
 * `Authorization: Bearer sk_...` and `X-API-Key` authenticate as the key's user, scopes limit a key (and never
 * exceed its user), revoked and expired keys are refused at once on every instance, `last_used_at` is written at
 * most once a minute, keys are rate limited per key, introspection knows them, and CSRF does not apply to them.
 *
 * Server A has a second instance B on the same database (rate limits on, 3 requests per key and minute), and an
 * engine "other" on that database whose default app is another app.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { AuthsomeOptions } from "../../src/authsome.js"
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
import { CheckedClient, expectError, query } from "../support/security.js"

const config: AuthsomeOptions = {
  emailVerification: { required: false },
  trustedOrigins: ["https://app.example.com"],
  plugins: [Password.plugin(), Organization.plugin()],
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")

interface Person {
  readonly id: string
  readonly email: string
  readonly token: string
  readonly client: Client
}

interface CreatedKey {
  readonly id: string
  readonly key: string
  readonly key_prefix: string
  readonly scopes: ReadonlyArray<string>
}

describe("API keys over HTTP", () => {
  let a: TestServer
  let b: TestServer
  let other: TestServer
  let owner: Person

  beforeAll(async () => {
    a = await startServer({ config })
    owner = await person("owner")
    ;[b, other] = await Promise.all([
      startServer({
        config: { ...config, rateLimit: { enabled: true, rules: { apiKey: { limit: 3, window: "1 minute" } } } },
        databaseUrl: a.databaseUrl,
        smtp: a.smtp,
      }),
      startServer({ config: { ...config, appId: "other" }, databaseUrl: a.databaseUrl, smtp: a.smtp }),
    ])
  })
  afterAll(async () => {
    await Promise.all([b?.close(), other?.close()])
    await a?.close()
  })

  const person = async (label: string, server = a): Promise<Person> => {
    const client = new CheckedClient(server.base)
    const email = uniqueEmail(label)
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    return { id: signup.body.user.id, email, token: signup.body.session_token, client }
  }
  const call = (who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    who.client.request(method, path, { token: who.token, cookies: false, ...(body === undefined ? {} : { body }) })
  const makeKey = async (who: Person, body: Record<string, unknown> = {}): Promise<CreatedKey> => {
    const response = await call(who, "POST", "/keys", { name: "ci", ...body })
    expect(response.status).toBe(201)
    return response.body
  }
  const withKey = (
    server: TestServer,
    key: string,
    method: string,
    path: string,
    options: Record<string, unknown> = {},
  ) => new CheckedClient(server.base).request(method, path, { token: key, cookies: false, ...options })
  const withHeader = (server: TestServer, key: string, method: string, path: string, body?: unknown) =>
    new CheckedClient(server.base).request(method, path, {
      headers: { "x-api-key": key },
      ...(body === undefined ? {} : { body }),
    })

  it("a key is sk_live_ + 256 bits, shown once; listed without secrets; the database holds only its hash", async () => {
    const alice = await person("alice")
    const created = await call(alice, "POST", "/keys", { name: "deploy bot" })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.stringMatching(/^akey_[0-9a-z]{26}$/),
      name: "deploy bot",
      key: expect.stringMatching(/^sk_live_[A-Za-z0-9_-]{43}$/),
      key_prefix: expect.stringMatching(/^sk_live_[A-Za-z0-9_-]{8}$/),
      scopes: [],
      expires_at: null,
      last_used_at: null,
      created_at: expect.any(String),
    })
    const { key, key_prefix: prefix } = created.body
    expect(key.startsWith(prefix)).toBe(true)
    const listed = await call(alice, "GET", "/keys")
    expect(listed.body.keys).toEqual([{ ...created.body, key: undefined }].map(({ key: _, ...rest }) => rest))
    expect(JSON.stringify(listed.body)).not.toContain(key)

    const rows = await query(a.databaseUrl, "SELECT key_hash, key_prefix FROM authsome_api_keys WHERE id = $1", [
      created.body.id,
    ])
    expect(rows).toEqual([{ key_hash: sha256(key), key_prefix: prefix }])
    // Used once, so the use is recorded too; then no table holds the key (or its secret part).
    expect((await withKey(a, key, "GET", "/me")).status).toBe(200)
    const secretPart = key.slice("sk_live_".length)
    const tables = await query(
      a.databaseUrl,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    expect(tables.length).toBeGreaterThan(10)
    for (const { table_name: table } of tables) {
      const dump = JSON.stringify(await query(a.databaseUrl, `SELECT * FROM "${table}"`))
      expect(dump.includes(secretPart), `key in ${table}`).toBe(false)
    }
  })

  it("Bearer sk_... and X-API-Key authenticate as the key's user; CSRF does not apply to keys", async () => {
    const bob = await person("bob")
    const { key } = await makeKey(bob)
    for (const response of [await withKey(a, key, "GET", "/me"), await withHeader(a, key, "GET", "/me")]) {
      expect(response.status).toBe(200)
      expect(response.body.id).toBe(bob.id)
    }
    const sessions = await withHeader(a, key, "GET", "/sessions")
    expect(sessions.body.sessions.map((s: { current: boolean }) => s.current)).toEqual([false])
    // An unsafe request from a foreign origin with a key is no CSRF: keys are never sent by browsers on their own.
    const created = await new CheckedClient(a.base).request("POST", "/orgs", {
      headers: { "x-api-key": key, origin: "https://evil.example" },
      body: { name: "Via key", slug: `via-key-${Date.now()}` },
    })
    expect(created.status).toBe(201)
    expect(created.body.created_by).toBe(bob.id)
  })

  it("routes that act on a session or manage credentials refuse keys (403); bad keys are 401", async () => {
    const carol = await person("carol")
    const { key } = await makeKey(carol)
    for (const [method, path, body] of [
      ["GET", "/session"],
      ["POST", "/signout"],
      ["POST", "/sessions/revoke-others"],
      ["POST", "/keys", { name: "minted by a key" }],
      ["POST", "/change-password", { current_password: strongPassword, new_password: "another long passphrase" }],
    ] as Array<[string, string, unknown?]>) {
      expectError(await withKey(a, key, method, path, body === undefined ? {} : { body }), 403, "forbidden")
    }
    expect((await call(carol, "GET", "/keys")).body.keys.length).toBe(1)
    for (const bad of [`${key}x`, "sk_live_nope", "sk_live_"]) {
      expectError(await withKey(a, bad, "GET", "/me"), 401, "unauthorized")
      expectError(await withHeader(a, bad, "GET", "/me"), 401, "unauthorized")
    }
    // A key of this app presented to another app is no credential there.
    expectError(await withKey(other, key, "GET", "/me"), 401, "unauthorized")
  })

  it("a key never has more than its user: unheld scopes are 403; a narrower key is refused on wider routes", async () => {
    const dave = await person("dave")
    expectError(await call(dave, "POST", "/keys", { name: "x", scopes: ["role:read"] }), 403, "forbidden")
    expectError(await call(owner, "POST", "/keys", { name: "x", scopes: ["not a scope"] }), 400, "invalid_request", [
      "details",
    ])
    const narrow = await makeKey(owner, { scopes: ["role:read"] })
    expect(narrow.scopes).toEqual(["role:read"])
    expect((await withKey(a, narrow.key, "GET", "/roles")).status).toBe(200)
    expectError(
      await withKey(a, narrow.key, "POST", "/roles", { body: { name: "x", slug: "by-key" } }),
      403,
      "forbidden",
    )
    // A route without a required permission needs an unrestricted key.
    expectError(await withKey(a, narrow.key, "GET", "/me"), 403, "forbidden")
    const wide = await makeKey(owner, { scopes: ["*:*"] })
    expect((await withKey(a, wide.key, "GET", "/me")).status).toBe(200)
    expect(
      (await withKey(a, wide.key, "POST", "/roles", { body: { name: "k", slug: `by-key-${Date.now()}` } })).status,
    ).toBe(201)

    // Scopes limit the user, never extend them: a key's user losing a permission loses it through the key too.
    const auditor = await person("auditor")
    const role = (await call(owner, "POST", "/roles", { name: "reader", slug: `reader-${Date.now()}` })).body
    await call(owner, "POST", `/roles/${role.id}/permissions`, { permission: "role:read" })
    await call(owner, "POST", `/roles/${role.id}/assign`, { user_id: auditor.id })
    const scoped = await makeKey(auditor, { scopes: ["role:read"] })
    const unscoped = await makeKey(auditor)
    expect((await withKey(a, scoped.key, "GET", "/roles")).status).toBe(200)
    expectError(
      await withKey(a, unscoped.key, "POST", "/roles", { body: { name: "n", slug: "nope" } }),
      403,
      "forbidden",
    )
    await call(owner, "POST", `/roles/${role.id}/unassign`, { user_id: auditor.id })
    expectError(await withKey(a, scoped.key, "GET", "/roles"), 403, "forbidden")
    expectError(await withKey(a, unscoped.key, "GET", "/roles"), 403, "forbidden")
  })

  it("a revoked key is refused at once on another instance; introspection follows; events are recorded", async () => {
    const erin = await person("erin")
    const created = await makeKey(erin, { name: "revoke me" })
    const introspect = (token: string) => new CheckedClient(a.base).post("/introspect", { token })
    expect((await withKey(b, created.key, "GET", "/me")).status).toBe(200)
    expect((await introspect(created.key)).body).toEqual({
      active: true,
      token_type: "api_key",
      user_id: erin.id,
      app_id: expect.stringMatching(/^aapp_/),
      env_id: expect.stringMatching(/^aenv_/),
      scopes: [],
      expires_at: null,
    })
    const revoked = await call(erin, "DELETE", `/keys/${created.id}`)
    expect(revoked.status).toBe(204)
    expect(revoked.body).toBeUndefined()
    expectError(await withKey(b, created.key, "GET", "/me"), 401, "unauthorized")
    expectError(await withHeader(a, created.key, "GET", "/me"), 401, "unauthorized")
    expect((await introspect(created.key)).body).toEqual({ active: false })
    expect((await call(erin, "GET", "/keys")).body.keys).toEqual([])
    expectError(await call(erin, "DELETE", `/keys/${created.id}`), 404, "not_found")
    // Another user's key cannot be revoked (or even seen).
    const other = await makeKey(owner)
    expectError(await call(erin, "DELETE", `/keys/${other.id}`), 404, "not_found")
    expect((await withKey(a, other.key, "GET", "/me")).status).toBe(200)

    const events = await query(
      a.databaseUrl,
      "SELECT type, metadata FROM authsome_audit_events WHERE user_id = $1 AND type LIKE 'apikey.%' ORDER BY id",
      [erin.id],
    )
    expect(events.map((e) => e["type"])).toEqual(["apikey.created", "apikey.revoked"])
    expect(events[0]!["metadata"]).toMatchObject({ key_id: created.id, key_prefix: created.key_prefix })
    expect(JSON.stringify(events)).not.toContain(created.key)
  })

  it("expired keys and keys of banned users are 401", async () => {
    const frank = await person("frank")
    const soon = await makeKey(frank, { expires_at: new Date(Date.now() + 1500).toISOString() })
    expect((await withKey(a, soon.key, "GET", "/me")).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1600))
    expectError(await withKey(a, soon.key, "GET", "/me"), 401, "unauthorized")
    expect((await new CheckedClient(a.base).post("/introspect", { token: soon.key })).body).toEqual({ active: false })
    expectError(
      await call(frank, "POST", "/keys", { name: "past", expires_at: new Date(Date.now() - 1000).toISOString() }),
      400,
      "invalid_request",
      ["details"],
    )
    const live = await makeKey(frank)
    await query(a.databaseUrl, "UPDATE authsome_users SET banned = true WHERE id = $1", [frank.id])
    expectError(await withKey(a, live.key, "GET", "/me"), 401, "unauthorized")
  })

  it("last_used_at is written at most once a minute; keys are rate limited per key on every instance", async () => {
    const grace = await person("grace")
    const { id, key } = await makeKey(grace)
    const lastUsed = async () =>
      (await query(a.databaseUrl, "SELECT last_used_at FROM authsome_api_keys WHERE id = $1", [id]))[0]![
        "last_used_at"
      ] as Date | null
    expect(await lastUsed()).toBeNull()
    expect((await withKey(a, key, "GET", "/me")).status).toBe(200)
    const first = await lastUsed()
    expect(first).toBeInstanceOf(Date)
    expect((await withKey(a, key, "GET", "/me")).status).toBe(200)
    expect((await lastUsed())?.getTime()).toBe(first!.getTime())
    // Pretend the last use was two minutes ago: the next use records itself again.
    await query(
      a.databaseUrl,
      "UPDATE authsome_api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1",
      [id],
    )
    const stale = await lastUsed()
    expect((await withKey(a, key, "GET", "/me")).status).toBe(200)
    expect((await lastUsed())!.getTime()).toBeGreaterThan(stale!.getTime())
    expect((await call(grace, "GET", "/keys")).body.keys[0].last_used_at).not.toBeNull()

    // B limits each key to 3 requests a minute; another key has its own budget.
    const limited = await makeKey(grace)
    for (let i = 0; i < 3; i++) expect((await withKey(b, limited.key, "GET", "/me")).status).toBe(200)
    const refused = await withKey(b, limited.key, "GET", "/me")
    expectError(refused, 429, "rate_limited")
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/)
    const fresh = await makeKey(grace)
    expect((await withKey(b, fresh.key, "GET", "/me")).status).toBe(200)
  })
})
