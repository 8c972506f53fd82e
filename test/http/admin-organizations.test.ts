/** `GET /admin/organizations`: the app's organizations for those with `org:*`, newest first, a page at a time. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { Client, signUpAndSignIn, startServer, type TestServer } from "../support/http.js"
import { expectError } from "../support/security.js"

describe("GET /admin/organizations", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: { plugins: [Password.plugin(), Organization.plugin()] } })
  }, 60_000)
  afterAll(() => server?.close())

  it("pages through the app's organizations for the owner; a plain user gets 403", async () => {
    const owner = new Client(server.base)
    const { session_token: ownerToken } = await signUpAndSignIn(server, owner)
    const plain = new Client(server.base)
    const { session_token: plainToken } = await signUpAndSignIn(server, plain)
    const as = (token: string) => ({ token, cookies: false })
    for (const [client, token, slug] of [
      [owner, ownerToken, "first-org"],
      [plain, plainToken, "second-org"],
    ] as const) {
      expect((await client.post("/orgs", { name: slug, slug }, as(token))).status).toBe(201)
    }
    const first = await owner.get("/admin/organizations?limit=1", as(ownerToken))
    expect(first.status).toBe(200)
    expect(first.body.organizations.map((org: any) => org.slug)).toEqual(["second-org"])
    expect(Object.keys(first.body.organizations[0]).sort()).toEqual(
      ["app_id", "created_at", "created_by", "id", "logo", "name", "slug"].sort(),
    )
    const second = await owner.get(`/admin/organizations?limit=1&cursor=${first.body.next_cursor}`, as(ownerToken))
    expect(second.body.organizations.map((org: any) => org.slug)).toEqual(["first-org"])
    expect(second.body.next_cursor).toBeUndefined()
    expectError(await plain.get("/admin/organizations", as(plainToken)), 403, "forbidden")
    expectError(await owner.get("/admin/organizations?limit=0", as(ownerToken)), 400, "invalid_request", ["details"])
  })
})
