/**
 * The engine on `MemoryStore.layer` — the layer users swap in for their own tests — through the web-standard
 * handler: the same flows as on PostgreSQL, with no database at all.
 */
import { Layer, Logger, LogLevel } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Authsome } from "../src/authsome.js"
import { type AuthsomeHandlers, makeHandlers } from "../src/http/mount.js"
import { MemoryStore } from "../src/layers/memory/index.js"
import * as Password from "../src/plugins/password/index.js"

describe("engine on the memory store", () => {
  let handlers: AuthsomeHandlers
  beforeAll(async () => {
    handlers = await makeHandlers(
      Authsome.layer({
        plugins: [Password.plugin()],
        emailVerification: { required: false },
        rateLimit: { enabled: false },
        requestLog: () => {},
      }).pipe(Layer.provide(MemoryStore.layer), Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))),
    )
  })
  afterAll(() => handlers?.dispose())

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers["content-type"] = "application/json"
    if (token) headers["authorization"] = `Bearer ${token}`
    const response = await handlers.fetch(
      new Request(`http://auth.test/v1/auth${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
      }),
    )
    return { status: response.status, body: (await response.json()) as any }
  }

  it("signs up, signs in, validates, rotates, detects reuse and signs out", async () => {
    const credentials = { email: "memory@example.com", password: "correct horse battery staple" }
    const signup = await call("POST", "/signup", credentials)
    expect(signup.status).toBe(201)
    expect((await call("POST", "/signup", credentials)).body.type).toBe("email_taken")
    expect((await call("POST", "/signin", { ...credentials, password: "not the right one" })).status).toBe(401)

    const signin = await call("POST", "/signin", credentials)
    expect(signin.status).toBe(200)
    const session = await call("GET", "/session", undefined, signin.body.session_token)
    expect(session.body.user.id).toBe(signup.body.user.id)

    const rotated = await call("POST", "/refresh", { refresh_token: signin.body.refresh_token })
    expect(rotated.status).toBe(200)
    expect((await call("GET", "/session", undefined, signin.body.session_token)).status).toBe(401)
    // The token rotated last, again at once (another tab): refused, nothing revoked.
    expect((await call("POST", "/refresh", { refresh_token: signin.body.refresh_token })).body.type).toBe(
      "invalid_credentials",
    )
    expect((await call("GET", "/session", undefined, rotated.body.session_token)).status).toBe(200)
    const twice = await call("POST", "/refresh", { refresh_token: rotated.body.refresh_token })
    expect(twice.status).toBe(200)
    // An older one is reuse: the family is revoked, the newest session with it.
    expect((await call("POST", "/refresh", { refresh_token: signin.body.refresh_token })).body.type).toBe(
      "invalid_credentials",
    )
    expect((await call("GET", "/session", undefined, twice.body.session_token)).status).toBe(401)

    const again = await call("POST", "/signin", credentials)
    expect((await call("POST", "/signout", undefined, again.body.session_token)).body).toEqual({ status: "signed out" })
    expect((await call("GET", "/session", undefined, again.body.session_token)).status).toBe(401)
  })
})
