/**
 * Authsome's own clients (its generated TypeScript SDK and `ui-core`) call `${baseURL}/v1/<route>`: served under
 * `basePath: "/authsome/v1"`, they run unmodified with `baseURL = <origin>/authsome` (http-api.md §1
 * "Compatibility"). Their calls, over real HTTP on PostgreSQL: client configuration (app chosen by `?key=`,
 * `?publishable_key=` or the header), sign-up and verification, sign-in, session, refresh, sign-out, profile,
 * sessions, devices and the password flows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { expectError } from "../support/security.js"
import { verificationOf } from "../support/smtp.js"

const basePath = "/authsome/v1"

describe("served under /authsome/v1 for Authsome's clients", () => {
  let server: TestServer
  let other: TestServer
  /** What the clients are configured with. */
  let baseURL: string
  beforeAll(async () => {
    server = await startServer({ config: { basePath, publicUrl: "https://app.example.com" } })
    other = await startServer({
      config: { basePath, appId: "other" },
      databaseUrl: server.databaseUrl,
      smtp: server.smtp,
    })
    baseURL = `${server.origin}/authsome`
  })
  afterAll(async () => {
    await other?.close()
    await server?.close()
  })

  /** The clients' request: `${baseURL}/v1/<route>`. */
  const sdk = () => new Client(`${baseURL}/v1`)

  it("GET /client-config picks the app by ?key=, ?publishable_key= or the header, with version and supported_plugins", async () => {
    const own = server.handlers.authsome.defaultApp
    const second = other.handlers.authsome.defaultApp
    const byDefault = await sdk().get("/client-config")
    expect(byDefault.status).toBe(200)
    expect(byDefault.body).toMatchObject({
      app_id: own.id,
      version: expect.any(String),
      supported_plugins: ["password"],
      signup_enabled: true,
      password: { enabled: true },
      email_verification: { required: true },
    })
    for (const query of [`?key=${second.publishableKey}`, `?publishable_key=${second.publishableKey}`]) {
      const response = await sdk().get(`/client-config${query}`)
      expect(response.status, query).toBe(200)
      expect(response.body.app_id, query).toBe(second.id)
      expect(response.body.supported_plugins).toEqual(["password"])
    }
    const byHeader = await sdk().get("/client-config", { headers: { "x-publishable-key": second.publishableKey } })
    expect(byHeader.body.app_id).toBe(second.id)
    // The query wins over the header; an unknown key is refused either way.
    const both = await sdk().get(`/client-config?key=${own.publishableKey}`, {
      headers: { "x-publishable-key": second.publishableKey },
    })
    expect(both.body.app_id).toBe(own.id)
    expectError(await sdk().get("/client-config?key=pk_unknown"), 401, "unauthorized")
    expectError(await sdk().get("/client-config?publishable_key=pk_unknown"), 401, "unauthorized")
  })

  it("the clients' account flows run against <baseURL>/v1", async () => {
    const client = sdk()
    const email = uniqueEmail("sdk")
    const signup = await client.post("/signup", { email, password: strongPassword, first_name: "Ada" })
    expect(signup.status).toBe(201)
    expect(signup.body.verification_required).toBe(true)
    const { code } = verificationOf(await server.smtp.waitFor(email, /verif/i))
    const verified = await client.post("/verify-email", { email, code })
    expect(verified.status).toBe(200)
    // The refresh cookie is scoped to the refresh route under the base path.
    expect(verified.setCookies.some((line) => line.includes(`Path=${basePath}/refresh`))).toBe(true)

    const signin = await client.post("/signin", { email, password: strongPassword })
    expect(signin.status).toBe(200)
    const token = signin.body.session_token as string
    const bearer = { token, cookies: false } as const
    expect((await client.get("/session", bearer)).body.user.email).toBe(email)
    expect((await client.get("/me", bearer)).body.first_name).toBe("Ada")
    expect((await client.patch("/me", { last_name: "Lovelace" }, bearer)).body.last_name).toBe("Lovelace")
    const sessions = await client.get("/sessions", bearer)
    expect(sessions.body.sessions.length).toBe(2)
    const devices = await client.get("/devices", bearer)
    expect(devices.status).toBe(200)

    const refreshed = await client.post("/refresh", { refresh_token: signin.body.refresh_token }, { cookies: false })
    expect(refreshed.status).toBe(200)
    const fresh = { token: refreshed.body.session_token as string, cookies: false } as const
    expect((await client.get("/session", fresh)).status).toBe(200)

    const changed = await client.post(
      "/change-password",
      { current_password: strongPassword, new_password: "a new passphrase for ada" },
      fresh,
    )
    expect(changed.status).toBe(200)
    expect((await client.post("/forgot-password", { email })).status).toBe(200)
    const reset = await server.smtp.waitFor(email, /reset/i)
    expect(reset.text).toContain("https://app.example.com/reset-password?token=")
    const resetToken = decodeURIComponent(/token=([A-Za-z0-9_%-]+)/.exec(reset.text)![1]!)
    expect(
      (await client.post("/reset-password", { token: resetToken, new_password: "yet another passphrase" })).status,
    ).toBe(200)
    const again = await client.post("/signin", { email, password: "yet another passphrase" })
    expect(again.status).toBe(200)
    expect((await client.post("/signout", undefined, { token: again.body.session_token, cookies: false })).status).toBe(
      200,
    )
    expectError(await client.get("/session", { token: again.body.session_token, cookies: false }), 401, "unauthorized")
  })

  it("the document and its reference page live under the base path too; the default one is not served", async () => {
    const document = (await sdk().get("/openapi.json")).body as { paths: Record<string, unknown> }
    const paths = Object.keys(document.paths)
    expect(paths.length).toBeGreaterThan(20)
    for (const path of paths) expect(path.startsWith(`${basePath}/`)).toBe(true)
    const page = await sdk().get("/docs")
    expect(page.status).toBe(200)
    expect(String(page.body)).toContain(`${basePath}/docs/swagger-ui-bundle.js`)
    expect((await fetch(`${server.origin}/v1/auth/health`)).status).toBe(404)
  })
})
