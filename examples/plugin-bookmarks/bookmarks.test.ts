/**
 * The outside plugin on the engine, through the web handler: its table is migrated with the rest, its routes are
 * served and documented, its store works on PostgreSQL and in memory, and its own error has its own envelope.
 */
import { Layer, Logger, LogLevel } from "effect"
import { Authsome, makeHandlers } from "authsome-ts"
import { MemoryStore } from "authsome-ts/memory"
import * as Password from "authsome-ts/password"
import { Pg, PostgresStore } from "authsome-ts/postgres"
import { afterAll, describe, expect, it } from "vitest"
import { createDatabase } from "../../test/support/postgres.js"
import * as Bookmarks from "./bookmarks.js"

const options = {
  emailVerification: { required: false },
  rateLimit: { enabled: false },
  secret: "a test secret of at least thirty-two characters",
  plugins: [Password.plugin(), Bookmarks.plugin({ limit: 2 })],
} as const

const quiet = Logger.minimumLogLevel(LogLevel.Warning)

const backends = {
  memory: async () => ({
    layer: Authsome.layer(options).pipe(Layer.provide(MemoryStore.layer), Layer.provide(quiet)),
    drop: async () => {},
  }),
  postgresql: async () => {
    const db = await createDatabase("bookmarks")
    return {
      layer: Authsome.layer(options).pipe(
        Layer.provide(PostgresStore.layer),
        Layer.provide(Pg.layer(db.url, { maxConnections: 3, minConnections: 0 })),
        Layer.provide(quiet),
      ),
      drop: db.drop,
    }
  },
}

describe.each(Object.entries(backends))("the bookmarks plugin on %s", (_, backend) => {
  const setup = backend().then(async ({ layer, drop }) => ({ handlers: await makeHandlers(layer), drop }))
  afterAll(async () => {
    const { handlers, drop } = await setup
    await handlers.dispose()
    await drop()
  })

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const { handlers } = await setup
    const response = await handlers.fetch(
      new Request(`http://localhost/v1/auth${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : null,
      }),
    )
    return { status: response.status, body: (await response.json()) as any }
  }

  it("keeps bookmarks per user, newest first, refuses past the limit with its own error", async () => {
    const signup = await call("POST", "/signup", undefined, {
      email: `reader.${Date.now()}@example.com`,
      password: "correct horse battery staple",
    })
    expect(signup.status).toBe(201)
    const token = signup.body.session_token as string

    expect((await call("GET", "/bookmarks")).status).toBe(401)
    expect((await call("POST", "/bookmarks", token, { url: "ftp://x", title: "x" })).body.type).toBe("invalid_request")
    const first = await call("POST", "/bookmarks", token, { url: "https://effect.website", title: "Effect" })
    expect(first.status).toBe(201)
    await call("POST", "/bookmarks", token, { url: "https://www.postgresql.org", title: "PostgreSQL" })
    const third = await call("POST", "/bookmarks", token, { url: "https://example.com", title: "Third" })
    expect(third).toEqual({
      status: 409,
      body: { error: "at most 2 bookmarks", code: 409, type: "bookmark_limit" },
    })
    const list = await call("GET", "/bookmarks", token)
    expect(list.body.bookmarks.map((b: { title: string }) => b.title)).toEqual(["PostgreSQL", "Effect"])
  })

  it("appears in the OpenAPI document, its error documented under 409", async () => {
    const document = (await call("GET", "/openapi.json")).body
    const post = document.paths["/v1/auth/bookmarks"].post
    expect(post.tags).toEqual(["Bookmarks"])
    expect(post.responses["409"].description).toContain("bookmark_limit")
  })
})
