/**
 * RBAC over real HTTP on PostgreSQL (http-api.md §5): the built-in roles (first user `owner`, everyone `user`),
 * roles with inheritance, `resource:action` permissions with wildcards, app-wide and organization assignments,
 * `POST /authorize` explaining its answer, route-level `requires` (writes `role:*`, reads `role:read`) as shown in
 * the OpenAPI document, and the attacks: a role cycle, privilege escalation through `role:*`, other users' checks.
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
import { CheckedClient, expectError } from "../support/security.js"

interface Person {
  readonly id: string
  readonly email: string
  readonly token: string
  readonly client: Client
}

interface RoleBody {
  readonly id: string
  readonly slug: string
  readonly parent_id: string | null
}

describe("RBAC over HTTP", () => {
  let server: TestServer
  let owner: Person

  beforeAll(async () => {
    server = await startServer({
      config: { emailVerification: { required: false }, plugins: [Password.plugin(), Organization.plugin()] },
    })
    owner = await person("owner")
  })
  afterAll(async () => {
    await server?.close()
  })

  const person = async (label: string): Promise<Person> => {
    const client = new CheckedClient(server.base)
    const email = uniqueEmail(label)
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    return { id: signup.body.user.id, email, token: signup.body.session_token, client }
  }
  const call = (who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    who.client.request(method, path, { token: who.token, cookies: false, ...(body === undefined ? {} : { body }) })

  const createRole = async (slug: string, parent?: RoleBody, by = owner): Promise<RoleBody> => {
    const response = await call(by, "POST", "/roles", {
      name: slug,
      slug: `${slug}-${Math.random().toString(36).slice(2, 8)}`,
      ...(parent ? { parent_id: parent.id } : {}),
    })
    expect(response.status).toBe(201)
    return response.body
  }
  const grant = async (role: RoleBody, permission: string, by = owner) => {
    const response = await call(by, "POST", `/roles/${role.id}/permissions`, { permission })
    expect(response.status).toBe(201)
    return response.body as { id: string }
  }
  const assign = async (role: RoleBody, user: Person, orgId?: string) => {
    const response = await call(owner, "POST", `/roles/${role.id}/assign`, {
      user_id: user.id,
      ...(orgId ? { org_id: orgId } : {}),
    })
    expect(response.status).toBe(201)
  }
  const authorize = async (who: Person, permission: string, extra: Record<string, unknown> = {}) => {
    const [resource, action] = permission.split(":")
    const response = await call(who, "POST", "/authorize", { resource, action, ...extra })
    expect(response.status).toBe(200)
    return response.body
  }
  const roleBySlug = async (slug: string): Promise<RoleBody> =>
    (await call(owner, "GET", "/roles")).body.roles.find((role: RoleBody) => role.slug === slug)

  it("built-in roles user ← admin ← owner; the first user holds owner (`*:*`), later users only `user`", async () => {
    const roles = (await call(owner, "GET", "/roles")).body.roles as Array<RoleBody & { built_in: boolean }>
    const [user, admin, ownerRole] = ["user", "admin", "owner"].map((slug) => roles.find((r) => r.slug === slug)!)
    expect(user).toMatchObject({ parent_id: null, built_in: true })
    expect(admin).toMatchObject({ parent_id: user!.id, built_in: true })
    expect(ownerRole).toMatchObject({ parent_id: admin!.id, built_in: true })
    const held = (await call(owner, "GET", `/users/${owner.id}/roles`)).body.roles.map((r: RoleBody) => r.slug)
    expect(held.sort()).toEqual(["owner", "user"])
    expect(await authorize(owner, "anything:whatever")).toEqual({ allowed: true, via_role: "owner" })

    const later = await person("later")
    expect((await call(owner, "GET", `/users/${later.id}/roles`)).body.roles.map((r: RoleBody) => r.slug)).toEqual([
      "user",
    ])
    expect(await authorize(later, "role:read")).toEqual({ allowed: false })
    const adminPermissions = (await call(owner, "GET", `/roles/${admin!.id}/permissions`)).body.permissions.map(
      (p: { resource: string; action: string }) => `${p.resource}:${p.action}`,
    )
    expect(adminPermissions).toEqual(
      expect.arrayContaining(["user:*", "role:read", "org:*", "webhook:*", "apikey:*", "audit:read"]),
    )
  })

  it("routes need role:* to write and role:read to read (403 forbidden); admins read but cannot write", async () => {
    const plain = await person("plain")
    const someRole = await createRole("target")
    const writes: Array<[string, string, unknown?]> = [
      ["POST", "/roles", { name: "x", slug: "x-plain" }],
      ["PATCH", `/roles/${someRole.id}`, { name: "y" }],
      ["DELETE", `/roles/${someRole.id}`],
      ["POST", `/roles/${someRole.id}/permissions`, { permission: "doc:read" }],
      ["POST", `/roles/${someRole.id}/assign`, { user_id: plain.id }],
      ["POST", `/roles/${someRole.id}/unassign`, { user_id: plain.id }],
    ]
    const reads = ["/roles", `/roles/${someRole.id}`, `/roles/${someRole.id}/permissions`, `/users/${owner.id}/roles`]
    for (const [method, path, body] of writes) expectError(await call(plain, method, path, body), 403, "forbidden")
    for (const path of reads) expectError(await call(plain, "GET", path), 403, "forbidden")
    expectError(await call(plain, "GET", `/users/${owner.id}/permissions`), 403, "forbidden")

    const admin = await person("admin")
    await assign(await roleBySlug("admin"), admin)
    for (const path of reads) expect((await call(admin, "GET", path)).status).toBe(200)
    for (const [method, path, body] of writes) expectError(await call(admin, method, path, body), 403, "forbidden")
    // The plain user's attempts changed nothing.
    expect((await call(owner, "GET", `/roles/${someRole.id}/permissions`)).body.permissions).toEqual([])
  })

  it("inherited and wildcard permissions, explained with via_role (nearest role, then most specific)", async () => {
    const viewer = await createRole("viewer")
    const editor = await createRole("editor", viewer)
    const manager = await createRole("manager", editor)
    await grant(viewer, "doc:read")
    await grant(editor, "comment:*")
    await grant(manager, "*:publish")
    const alice = await person("alice")
    await assign(manager, alice)
    expect(await authorize(alice, "doc:read")).toEqual({ allowed: true, via_role: viewer.slug })
    expect(await authorize(alice, "comment:delete")).toEqual({ allowed: true, via_role: editor.slug })
    expect(await authorize(alice, "report:publish")).toEqual({ allowed: true, via_role: manager.slug })
    expect(await authorize(alice, "doc:delete")).toEqual({ allowed: false })
    // Wanting `doc:*` needs a wildcard grant: `doc:read` is not enough.
    expect(await authorize(alice, "doc:*")).toEqual({ allowed: false })
    expect(await authorize(alice, "comment:*")).toEqual({ allowed: true, via_role: editor.slug })
    // The nearest role wins over a more specific permission further up the chain.
    await grant(manager, "doc:*")
    expect(await authorize(alice, "doc:read")).toEqual({ allowed: true, via_role: manager.slug })

    const effective = (await call(owner, "GET", `/users/${alice.id}/permissions`)).body.permissions
    expect(
      effective.map((p: { resource: string; action: string; via_role: string }) => [
        `${p.resource}:${p.action}`,
        p.via_role,
      ]),
    ).toEqual([
      ["*:publish", manager.slug],
      ["doc:*", manager.slug],
      ["comment:*", editor.slug],
      ["doc:read", viewer.slug],
    ])
    // Someone holding the base role only gets its permissions.
    const bob = await person("bob")
    await assign(viewer, bob)
    expect(await authorize(bob, "doc:read")).toEqual({ allowed: true, via_role: viewer.slug })
    expect(await authorize(bob, "comment:read")).toEqual({ allowed: false })
    // Re-parenting changes what is inherited at once.
    expect((await call(owner, "PATCH", `/roles/${editor.id}`, { parent_id: null })).body.parent_id).toBeNull()
    expect(await authorize(alice, "doc:read")).toEqual({ allowed: true, via_role: manager.slug })
    await call(owner, "DELETE", `/roles/${manager.id}/permissions/${(await grant(manager, "memo:read")).id}`)
    expect(await authorize(alice, "memo:read")).toEqual({ allowed: false })
  })

  it("a role cycle is 409 conflict (itself or a descendant as parent); the hierarchy is unchanged", async () => {
    const base = await createRole("base")
    const middle = await createRole("middle", base)
    const top = await createRole("top", middle)
    expectError(await call(owner, "PATCH", `/roles/${base.id}`, { parent_id: top.id }), 409, "conflict")
    expectError(await call(owner, "PATCH", `/roles/${base.id}`, { parent_id: base.id }), 409, "conflict")
    expectError(await call(owner, "PATCH", `/roles/${middle.id}`, { parent_id: top.id }), 409, "conflict")
    expect((await call(owner, "GET", `/roles/${base.id}`)).body.parent_id).toBeNull()
    // Two updates that would close a cycle together, at once: at most one wins.
    const [x, y] = [await createRole("x"), await createRole("y")]
    const results = await Promise.all([
      call(owner, "PATCH", `/roles/${x.id}`, { parent_id: y.id }),
      call(owner, "PATCH", `/roles/${y.id}`, { parent_id: x.id }),
    ])
    expect(results.map((r) => r.status).sort()).toEqual([200, 409])
  })

  it("role:* cannot be turned into more: no granting, assigning or inheriting what the actor does not hold", async () => {
    const rbacAdmin = await createRole("rbac-admin")
    await grant(rbacAdmin, "role:*")
    const mallory = await person("mallory")
    await assign(rbacAdmin, mallory)
    const ownerRole = await roleBySlug("owner")
    const own = await createRole("mallory-role", undefined, mallory)
    expectError(await call(mallory, "POST", `/roles/${own.id}/permissions`, { permission: "*:*" }), 403, "forbidden")
    expectError(await call(mallory, "POST", `/roles/${own.id}/permissions`, { permission: "user:*" }), 403, "forbidden")
    expectError(await call(mallory, "PATCH", `/roles/${own.id}`, { parent_id: ownerRole.id }), 403, "forbidden")
    expectError(
      await call(mallory, "POST", "/roles", { name: "sneaky", slug: "sneaky", parent_id: ownerRole.id }),
      403,
      "forbidden",
    )
    expectError(await call(mallory, "POST", `/roles/${ownerRole.id}/assign`, { user_id: mallory.id }), 403, "forbidden")
    expect(await authorize(mallory, "user:delete")).toEqual({ allowed: false })
    // What mallory holds can be handed on.
    expect((await call(mallory, "POST", `/roles/${own.id}/permissions`, { permission: "role:read" })).status).toBe(201)
    // Built-in roles stay.
    expectError(await call(owner, "DELETE", `/roles/${ownerRole.id}`), 409, "conflict")
  })

  it("checking another user needs role:read; unknown users are 404; org assignments count with org_id", async () => {
    const [carol, dave] = [await person("carol"), await person("dave")]
    expectError(
      await call(carol, "POST", "/authorize", { user_id: owner.id, resource: "x", action: "y" }),
      403,
      "forbidden",
    )
    expect(
      (await call(owner, "POST", "/authorize", { user_id: carol.id, resource: "role", action: "read" })).body,
    ).toEqual({ allowed: false })
    expectError(
      await call(owner, "POST", "/authorize", {
        user_id: "ausr_01m8ngjr6dewgsy7xbm9j1hvby",
        resource: "x",
        action: "y",
      }),
      404,
      "not_found",
    )

    const org = (await call(carol, "POST", "/orgs", { name: "Carol Co", slug: `carol-${Date.now()}` })).body
    const billing = await createRole("billing")
    await grant(billing, "invoice:pay")
    // Org-scoped roles are for members of that organization.
    expectError(
      await call(owner, "POST", `/roles/${billing.id}/assign`, { user_id: dave.id, org_id: org.id }),
      400,
      "invalid_request",
      ["details"],
    )
    await assign(billing, carol, org.id)
    expect(await authorize(carol, "invoice:pay")).toEqual({ allowed: false })
    expect(await authorize(carol, "invoice:pay", { org_id: org.id })).toEqual({ allowed: true, via_role: billing.slug })
    const held = (await call(owner, "GET", `/users/${carol.id}/roles`)).body.roles
    expect(held.find((r: { slug: string }) => r.slug === billing.slug)).toMatchObject({ org_id: org.id })
    expect(
      (await call(owner, "GET", `/users/${carol.id}/permissions?org_id=${org.id}`)).body.permissions.map(
        (p: { via_role: string }) => p.via_role,
      ),
    ).toContain(billing.slug)
    expectError(
      await call(owner, "POST", `/roles/${billing.id}/assign`, { user_id: carol.id, org_id: org.id }),
      409,
      "conflict",
    )
    expect(
      (await call(owner, "POST", `/roles/${billing.id}/unassign`, { user_id: carol.id, org_id: org.id })).body,
    ).toEqual({ status: "unassigned" })
    expect(await authorize(carol, "invoice:pay", { org_id: org.id })).toEqual({ allowed: false })
    expectError(
      await call(owner, "POST", `/roles/${billing.id}/unassign`, { user_id: carol.id, org_id: org.id }),
      404,
      "not_found",
    )
  })

  it("POST /authorize (decided with the session lookup): credentials fail first, then the body; cookies keep the CSRF rule; keys and revoked sessions", async () => {
    const erin = await person("erin")
    const role = await createRole("reader")
    await grant(role, "doc:read")
    await assign(role, erin)
    const anonymous = new CheckedClient(server.base)
    const bad = { resource: "doc" }
    const good = { resource: "doc", action: "read" }
    // No credentials, a malformed header, or an unknown session: 401 whatever the body.
    for (const body of [bad, good]) {
      expectError(await anonymous.request("POST", "/authorize", { body }), 401, "unauthorized")
      expectError(
        await anonymous.request("POST", "/authorize", { body, headers: { authorization: "Bearer" } }),
        401,
        "unauthorized",
      )
      expectError(await anonymous.request("POST", "/authorize", { body, token: "not-a-session" }), 401, "unauthorized")
    }
    // A valid session: the body's problems are 400.
    expectError(await call(erin, "POST", "/authorize", bad), 400, "invalid_request", ["details"])
    expectError(await call(erin, "POST", "/authorize", { ...good, org_id: "nope" }), 400, "invalid_request", [
      "details",
    ])
    expect(await authorize(erin, "doc:read")).toEqual({ allowed: true, via_role: role.slug })
    expect(await authorize(erin, "doc:write")).toEqual({ allowed: false })
    // The session cookie on an unsafe request from no trusted origin: 403, before the body is looked at.
    for (const body of [bad, good]) {
      expectError(await erin.client.request("POST", "/authorize", { body }), 403, "csrf_rejected")
    }
    // An API key asks through the handler's own check, with the same answer.
    const key = (await call(erin, "POST", "/keys", { name: "checker" })).body.key as string
    const viaKey = await anonymous.request("POST", "/authorize", { body: good, headers: { "x-api-key": key } })
    expect(viaKey.status).toBe(200)
    expect(viaKey.body).toEqual({ allowed: true, via_role: role.slug })
    // Unassigned: the next check says no; signed out: the session no longer authenticates.
    expect((await call(owner, "POST", `/roles/${role.id}/unassign`, { user_id: erin.id })).status).toBe(200)
    expect(await authorize(erin, "doc:read")).toEqual({ allowed: false })
    expect((await call(erin, "POST", "/signout")).status).toBe(200)
    expectError(await call(erin, "POST", "/authorize", good), 401, "unauthorized")
  })

  it("bad input: permissions must be resource:action; unknown or foreign ids are 404; duplicates 409", async () => {
    const role = await createRole("input")
    for (const body of [{ permission: "no-colon" }, { permission: "UPPER:case" }, { resource: "a b", action: "x" }]) {
      expectError(await call(owner, "POST", `/roles/${role.id}/permissions`, body), 400, "invalid_request", ["details"])
    }
    expectError(await call(owner, "POST", "/roles", { name: "x", slug: "Bad Slug" }), 400, "invalid_request", [
      "details",
    ])
    expectError(await call(owner, "POST", "/roles", { name: "dup", slug: role.slug }), 409, "slug_taken")
    await grant(role, "doc:read")
    expectError(
      await call(owner, "POST", `/roles/${role.id}/permissions`, { resource: "doc", action: "read" }),
      409,
      "conflict",
    )
    for (const id of ["nope", "arol_01m8ngjr6dewgsy7xbm9j1hvby", owner.id]) {
      expectError(await call(owner, "GET", `/roles/${id}`), 404, "not_found")
    }
    expectError(
      await call(owner, "POST", `/roles/${role.id}/assign`, { user_id: "ausr_01m8ngjr6dewgsy7xbm9j1hvby" }),
      404,
      "not_found",
    )
    expect((await call(owner, "DELETE", `/roles/${role.id}`)).body).toEqual({ status: "deleted" })
    expectError(await call(owner, "GET", `/roles/${role.id}`), 404, "not_found")
  })

  it("the OpenAPI document shows each route's required permission, its 403, and where API keys work", async () => {
    const doc = (await owner.client.get("/openapi.json")).body
    const post = doc.paths["/v1/auth/roles"].post
    expect(post["x-authsome-requires"]).toBe("role:*")
    expect(post.responses["403"].description).toContain("role:*")
    expect(doc.paths["/v1/auth/roles"].get["x-authsome-requires"]).toBe("role:read")
    expect(doc.paths["/v1/auth/users/{userId}/permissions"].get["x-authsome-requires"]).toBe("role:read")
    expect(doc.paths["/v1/auth/authorize"].post["x-authsome-requires"]).toBeUndefined()
    expect(post.security).toEqual([{ bearer: [] }, { sessionCookie: [] }, { apiKey: [] }])
    expect(doc.paths["/v1/auth/keys"].post.security).toEqual([{ bearer: [] }, { sessionCookie: [] }])
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-API-Key" })
  })
})
