/**
 * Apps and environments over real HTTP on PostgreSQL (http-api.md §5): apps with publishable keys, per-app session
 * lifetimes applied to new sessions, the sign-up form validated on sign-up (400 `details` per field), environments
 * with clone, organization branding, and an app's deletion leaving no row of it in any table.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { type ApiResponse, startServer, strongPassword, type TestServer, uniqueEmail } from "../support/http.js"
import { CheckedClient, expectError, expectInvalidRequest } from "../support/security.js"

interface Person {
  readonly id: string
  readonly email: string
  readonly token: string
}

interface AppBody {
  readonly id: string
  readonly slug: string
  readonly publishable_key: string
}

describe("apps and environments over HTTP", () => {
  let server: TestServer
  let owner: Person

  beforeAll(async () => {
    server = await startServer({
      config: {
        emailVerification: { required: false },
        plugins: [Password.plugin(), Organization.plugin(), Mfa.plugin()],
      },
    })
    owner = await signUp()
  })
  afterAll(async () => {
    await server?.close()
  })

  const request = (method: string, path: string, options: { token?: string; key?: string; body?: unknown } = {}) =>
    new CheckedClient(server.base).request(method, path, {
      cookies: false,
      ...(options.token ? { token: options.token } : {}),
      ...(options.key ? { headers: { "x-publishable-key": options.key } } : {}),
      ...(options.body === undefined ? {} : { body: options.body }),
    })
  const asOwner = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    request(method, path, { token: owner.token, body })
  const signUp = async (key?: string, extra: Record<string, unknown> = {}): Promise<Person> => {
    const email = uniqueEmail("apps")
    const response = await request("POST", "/signup", {
      ...(key ? { key } : {}),
      body: { email, password: strongPassword, ...extra },
    })
    expect(response.status).toBe(201)
    return { id: response.body.user.id, email, token: response.body.session_token }
  }
  const slug = (label: string) => `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
  const createApp = async (label = "app"): Promise<AppBody> => {
    const response = await asOwner("POST", "/admin/apps", { name: `The ${label}`, slug: slug(label) })
    expect(response.status).toBe(201)
    return response.body
  }

  it("creates apps with a publishable key that selects them; lists, reads, renames; slugs are unique", async () => {
    const app = await createApp()
    expect(app.publishable_key).toMatch(/^pk_live_[0-9a-f]{64}$/)
    expect((await asOwner("GET", "/admin/apps")).body.apps.map((a: AppBody) => a.id)).toContain(app.id)
    expect((await asOwner("GET", `/admin/apps/${app.id}`)).body).toEqual(app)
    const renamed = await asOwner("PATCH", `/admin/apps/${app.id}`, { name: "Renamed" })
    expect(renamed.body).toMatchObject({ id: app.id, name: "Renamed", publishable_key: app.publishable_key })
    expectError(await asOwner("POST", "/admin/apps", { name: "Again", slug: app.slug }), 409, "slug_taken")
    expectInvalidRequest(await asOwner("POST", "/admin/apps", { name: "Bad", slug: "Not A Slug" }), ["slug"])
    expectError(await asOwner("GET", "/admin/apps/aapp_nope"), 404, "not_found")
    expectError(await asOwner("DELETE", `/admin/apps/${server.handlers.authsome.defaultApp.id}`), 409, "conflict")

    // The key selects the app: its users are its own, and a session of one app is nothing in another.
    const user = await signUp(app.publishable_key)
    const session = await request("GET", "/session", { token: user.token, key: app.publishable_key })
    expect(session.body.user.app_id).toBe(app.id)
    expectError(await request("GET", "/session", { token: user.token }), 401, "unauthorized")
    const envs = await asOwner("GET", `/environments?app_id=${app.id}`)
    expect(envs.body.environments.map((e: { slug: string }) => e.slug)).toEqual([
      "development",
      "staging",
      "production",
    ])
    expect(session.body.user.env_id).toBe(envs.body.environments[0].id)
  })

  it("the app's session config applies to sessions started afterwards; deleting it restores the defaults", async () => {
    const app = await createApp("ttl")
    expect((await asOwner("GET", `/admin/apps/${app.id}/session-config`)).body).toEqual({
      token_ttl_seconds: null,
      refresh_token_ttl_seconds: null,
    })
    const put = await asOwner("PUT", `/admin/apps/${app.id}/session-config`, {
      token_ttl_seconds: 120,
      refresh_token_ttl_seconds: 3600,
    })
    expect(put.body).toEqual({ token_ttl_seconds: 120, refresh_token_ttl_seconds: 3600 })
    const before = Date.now()
    const signup = await request("POST", "/signup", {
      key: app.publishable_key,
      body: { email: uniqueEmail("ttl"), password: strongPassword },
    })
    const expiresIn = Date.parse(signup.body.expires_at) - before
    expect(expiresIn).toBeGreaterThan(115_000)
    expect(expiresIn).toBeLessThan(125_000)
    const refreshIn = Date.parse(signup.body.refresh_token_expires_at) - before
    expect(refreshIn).toBeGreaterThan(3_595_000)
    expect(refreshIn).toBeLessThan(3_605_000)
    // Other apps keep the server's lifetimes (1 hour).
    const other = await request("POST", "/signup", { body: { email: uniqueEmail("ttl"), password: strongPassword } })
    expect(Date.parse(other.body.expires_at) - before).toBeGreaterThan(3_590_000)

    expectInvalidRequest(await asOwner("PUT", `/admin/apps/${app.id}/session-config`, { token_ttl_seconds: 5 }), [
      "token_ttl_seconds",
    ])
    expect((await asOwner("DELETE", `/admin/apps/${app.id}/session-config`)).body).toEqual({ status: "deleted" })
    const after = await request("POST", "/signup", {
      key: app.publishable_key,
      body: { email: uniqueEmail("ttl"), password: strongPassword },
    })
    expect(Date.parse(after.body.expires_at) - Date.now()).toBeGreaterThan(3_590_000)
  })

  it("the sign-up form: typed fields checked on sign-up, one 400 detail per field, values kept in metadata", async () => {
    const app = await createApp("form")
    expect((await asOwner("GET", `/admin/apps/${app.id}/forms/signup`)).body).toEqual({ fields: [] })
    const form = {
      fields: [
        { key: "company", label: "Company", type: "text", validation: { required: true, min_len: 2, max_len: 40 } },
        { key: "age", label: "Age", type: "number", validation: { required: true, min: 18, max: 130 } },
        { key: "plan", label: "Plan", type: "select", options: ["free", "pro"], validation: { required: true } },
        { key: "terms", label: "Terms", type: "boolean", validation: { required: true } },
        { key: "website", label: "Website", type: "url" },
        { key: "code", label: "Code", type: "text", validation: { pattern: "^[A-Z]{3}$" } },
        { key: "birthday", label: "Birthday", type: "date" },
      ],
    }
    const put = await asOwner("PUT", `/admin/apps/${app.id}/forms/signup`, form)
    expect(put.status).toBe(200)
    const saved = await asOwner("GET", `/admin/apps/${app.id}/forms/signup`)
    expect(saved.body.fields.map((f: { key: string }) => f.key)).toEqual(form.fields.map((f) => f.key))

    const signUpWith = (metadata: unknown) =>
      request("POST", "/signup", {
        key: app.publishable_key,
        body: { email: uniqueEmail("form"), password: strongPassword, ...(metadata === undefined ? {} : { metadata }) },
      })
    const missing = await signUpWith(undefined)
    expectInvalidRequest(missing, ["metadata.company", "metadata.age", "metadata.plan", "metadata.terms"])
    const wrong = await signUpWith({
      company: "X",
      age: 12,
      plan: "enterprise",
      terms: false,
      website: "javascript:alert(1)",
      code: "abc",
      birthday: "2001-02-30",
    })
    expectInvalidRequest(wrong, [
      "metadata.company",
      "metadata.age",
      "metadata.plan",
      "metadata.terms",
      "metadata.website",
      "metadata.code",
      "metadata.birthday",
    ])
    for (const detail of wrong.body.details) {
      expect(detail.message).not.toContain("enterprise")
      expect(detail.message).not.toContain("javascript")
    }
    const typed = await signUpWith({ company: 42, age: "20", plan: "pro", terms: "yes" })
    expectInvalidRequest(typed, ["metadata.company", "metadata.age", "metadata.terms"])
    const [{ n }] = await server.sql!("SELECT count(*)::int AS n FROM authsome_users WHERE app_id = $1", [app.id])
    expect(n).toBe(0)

    const metadata = { company: "Acme", age: 30, plan: "pro", terms: true, website: "https://acme.test", extra: 1 }
    const ok = await signUpWith(metadata)
    expect(ok.status).toBe(201)
    expect(ok.body.user.metadata).toEqual(metadata)
    // The default app has no form: anything goes there.
    expect((await signUp()).id).toMatch(/^ausr_/)

    expectInvalidRequest(
      await asOwner("PUT", `/admin/apps/${app.id}/forms/signup`, {
        fields: [{ key: "plan", label: "Plan", type: "select" }],
      }),
      ["fields.0.options"],
    )
    expectError(
      await asOwner("PUT", `/admin/apps/${app.id}/forms/signup`, {
        fields: [{ key: "x", label: "X", type: "text", validation: { pattern: "(" } }],
      }),
      400,
      "invalid_request",
      ["details"],
    )
    expectError(
      await asOwner("PUT", `/admin/apps/${app.id}/forms/signup`, {
        fields: [
          { key: "a", label: "A", type: "text" },
          { key: "a", label: "A again", type: "number" },
        ],
      }),
      400,
      "invalid_request",
      ["details"],
    )
    expectError(
      await asOwner("PUT", `/admin/apps/${app.id}/forms/signup`, { fields: [{ key: "a", label: "A", type: "color" }] }),
      400,
      "invalid_request",
      ["details"],
    )
  })

  it("environments: create, read, update, make default, clone, delete (never the default)", async () => {
    const app = await createApp("envs")
    const list = await asOwner("GET", `/environments?app_id=${app.id}`)
    const [development, staging] = list.body.environments
    expect(development).toMatchObject({ app_id: app.id, slug: "development", is_default: true, type: "development" })

    const created = await asOwner("POST", "/environments", {
      app_id: app.id,
      name: "QA",
      slug: "qa",
      type: "staging",
      color: "#123456",
      settings: { feature_x: true },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ app_id: app.id, slug: "qa", type: "staging", is_default: false })
    expectError(await asOwner("POST", "/environments", { app_id: app.id, name: "QA", slug: "qa" }), 409, "slug_taken")
    expect((await asOwner("GET", `/environments/${created.body.id}`)).body).toEqual(created.body)

    const clone = await asOwner("POST", `/environments/${created.body.id}/clone`, { name: "QA 2", slug: "qa-2" })
    expect(clone.status).toBe(201)
    expect(clone.body).toMatchObject({
      app_id: app.id,
      name: "QA 2",
      slug: "qa-2",
      type: "staging",
      color: "#123456",
      settings: { feature_x: true },
      cloned_from: created.body.id,
      is_default: false,
    })
    const typed = await asOwner("POST", `/environments/${created.body.id}/clone`, {
      name: "Prod 2",
      slug: "prod-2",
      type: "production",
    })
    expect(typed.body.type).toBe("production")

    const patched = await asOwner("PATCH", `/environments/${clone.body.id}`, { description: "copy", is_default: true })
    expect(patched.body).toMatchObject({ description: "copy", is_default: true })
    const after = await asOwner("GET", `/environments?app_id=${app.id}`)
    expect(
      after.body.environments.filter((e: { is_default: boolean }) => e.is_default).map((e: { id: string }) => e.id),
    ).toEqual([clone.body.id])
    // The app's requests now land in the new default environment.
    const user = await signUp(app.publishable_key)
    const me = await request("GET", "/me", { token: user.token, key: app.publishable_key })
    expect(me.body.env_id).toBe(clone.body.id)

    expectError(await asOwner("DELETE", `/environments/${clone.body.id}`), 409, "conflict")
    expect((await asOwner("DELETE", `/environments/${staging.id}`)).body).toEqual({ status: "deleted" })
    expectError(await asOwner("GET", `/environments/${staging.id}`), 404, "not_found")
    expectError(await asOwner("GET", "/environments/aenv_x"), 404, "not_found")
    expectError(await asOwner("GET", `/environments/${app.id}`), 404, "not_found")
  })

  it("organization branding: members read it, owners set it, strangers see nothing", async () => {
    const org = await asOwner("POST", "/orgs", { name: "Brand Inc", slug: slug("brand") })
    expect(org.status).toBe(201)
    const path = `/orgs/${org.body.id}/branding`
    expect((await asOwner("GET", path)).body).toEqual({ company_name: null, logo_url: null, primary_color: null })
    const branding = { company_name: "Brand Inc", logo_url: "https://brand.test/logo.png", primary_color: "#ff6600" }
    expect((await asOwner("PUT", path, branding)).body).toEqual(branding)
    expect((await asOwner("GET", path)).body).toEqual(branding)
    expectInvalidRequest(await asOwner("PUT", path, { ...branding, primary_color: "red;}" }), ["primary_color"])
    expectInvalidRequest(await asOwner("PUT", path, { ...branding, logo_url: "javascript:alert(1)" }), ["logo_url"])
    const stranger = await signUp()
    expectError(await request("GET", path, { token: stranger.token }), 404, "not_found")
    expectError(await request("PUT", path, { token: stranger.token, body: branding }), 404, "not_found")
    const [row] = await server.sql!(
      "SELECT company_name, primary_color FROM authsome_branding_configs WHERE org_id = $1",
      [org.body.id],
    )
    expect(row).toEqual({ company_name: "Brand Inc", primary_color: "#ff6600" })
  })

  it("deleting an app removes every row it owns, in every table, and its key stops working", async () => {
    const app = await createApp("doomed")
    const key = app.publishable_key
    const user = await signUp(key)
    const other = await signUp(key)
    const org = await request("POST", "/orgs", { token: user.token, key, body: { name: "Doomed", slug: "doomed" } })
    expect(org.status).toBe(201)
    expect((await request("POST", "/keys", { token: user.token, key, body: { name: "ci" } })).status).toBe(201)
    await request("POST", "/forgot-password", { key, body: { email: other.email } })
    expect((await request("POST", "/mfa/enroll", { token: other.token, key, body: {} })).status).toBe(200)
    await asOwner("PUT", `/admin/apps/${app.id}/session-config`, { token_ttl_seconds: 600 })
    await asOwner("PUT", `/admin/apps/${app.id}/forms/signup`, { fields: [{ key: "a", label: "A", type: "text" }] })
    await asOwner("PUT", `/orgs/${org.body.id}/branding`, { company_name: "x" }).then((r) =>
      // The platform owner is no member of another app's organization.
      expect(r.status).toBe(404),
    )
    await request("PUT", `/orgs/${org.body.id}/branding`, { token: user.token, key, body: { company_name: "Doomed" } })

    // Every table that holds users' data says whose app it is: nothing escapes the count below.
    const withoutApp = await server.sql!(
      `SELECT DISTINCT c.table_name FROM information_schema.columns c
        WHERE c.table_schema = current_schema() AND c.column_name = 'user_id'
          AND NOT EXISTS (SELECT 1 FROM information_schema.columns a WHERE a.table_schema = c.table_schema
                            AND a.table_name = c.table_name AND a.column_name = 'app_id')`,
    )
    expect(withoutApp).toEqual([])
    const tables: ReadonlyArray<{ table_name: string }> = await server.sql!(
      `SELECT table_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND column_name = 'app_id' ORDER BY table_name`,
    )
    const countRows = async () => {
      const counts: Record<string, number> = {}
      for (const { table_name } of tables) {
        const [{ n }] = await server.sql!(`SELECT count(*)::int AS n FROM ${table_name} WHERE app_id = $1`, [app.id])
        if (n > 0) counts[table_name] = n
      }
      return counts
    }
    const before = await countRows()
    for (const table of [
      "authsome_users",
      "authsome_sessions",
      "authsome_environments",
      "authsome_organizations",
      "authsome_members",
      "authsome_api_keys",
      "authsome_roles",
      "authsome_user_roles",
      "authsome_app_session_configs",
      "authsome_form_configs",
      "authsome_branding_configs",
      "authsome_audit_events",
      "authsome_password_hashes",
      "authsome_password_resets",
      "authsome_notifications",
      "authsome_mfa_enrollments",
    ]) {
      expect(before[table], table).toBeGreaterThan(0)
    }

    expect((await asOwner("DELETE", `/admin/apps/${app.id}`)).body).toEqual({ status: "deleted" })
    expect(await countRows()).toEqual({})
    const [{ n }] = await server.sql!("SELECT count(*)::int AS n FROM authsome_apps WHERE id = $1", [app.id])
    expect(n).toBe(0)
    expectError(await request("GET", "/session", { token: user.token, key }), 401, "unauthorized")
    expectError(await asOwner("GET", `/admin/apps/${app.id}`), 404, "not_found")
    // The platform app and its users are untouched.
    expect((await asOwner("GET", "/session")).status).toBe(200)
  })
})
