/**
 * The standalone server with the social and magic-link plugins (library.md §6): their sections of the
 * `AUTHSOME_CONFIG` file are checked at start (one line naming the path), and a server configured only through the
 * environment and that file serves the §6 routes — a full sign-in at a real OpenID Provider, a magic link by mail.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Either, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { serve } from "../src/server/main.js"
import { InvalidSetting, readServerSettings } from "../src/server/settings.js"
import { Client } from "./support/http.js"
import { authorizeAt, browserGet, reservePort, TestIssuer } from "./support/oauth.js"
import { createDatabase } from "./support/postgres.js"
import { TestSmtp } from "./support/smtp.js"

const dir = mkdtempSync(join(tmpdir(), "authsome-social-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
const configFile = (content: unknown) => {
  const path = join(dir, `config-${files++}.json`)
  writeFileSync(path, JSON.stringify(content))
  return path
}

const settingsFrom = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.either(readServerSettings).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    ),
  )

const client = { clientId: "id", clientSecret: "secret" }

describe("AUTHSOME_CONFIG: social and magicLink", () => {
  it("mounts both by default, configured from their sections", () => {
    const settings = settingsFrom({
      AUTHSOME_CONFIG: configFile({
        social: {
          providers: {
            github: client,
            google: client,
            "oidc:acme": { ...client, issuer: "https://id.acme.test", scopes: ["openid", "email"] },
          },
          defaultRedirectUrl: "/",
        },
        magicLink: { allowSignup: true },
      }),
    })
    expect(Either.isRight(settings)).toBe(true)
    expect(Either.getOrThrow(settings).plugins.map((plugin) => plugin.name)).toEqual(
      expect.arrayContaining(["password", "magic-link", "social"]),
    )
  })

  it.each([
    [
      { social: { providers: { "oidc:acme": { ...client, issuer: "http://id.acme.test" } } } },
      "social.providers.oidc:acme.issuer: expected an https URL (plain http only on a loopback address)",
    ],
    [
      { social: { providers: { github: { ...client, tokenEndpoint: "http://github.example/token" } } } },
      "social.providers.github.tokenEndpoint: expected an https URL (plain http only on a loopback address)",
    ],
    [{ social: { providers: { gitlab: client } } }, "social.providers.gitlab"],
    [{ social: { providers: { github: { clientId: "id" } } } }, "social.providers.github.clientSecret"],
    [{ social: { defaultRedirectUrl: "//evil.example" } }, "social.defaultRedirectUrl"],
    [{ magicLink: { allowSignup: "yes" } }, "magicLink.allowSignup"],
    [{ magicLink: { tokenTtl: "soon" } }, "magicLink.tokenTtl"],
  ])("%j is refused with one line naming the path", (content, expected) => {
    const error = Either.flip(settingsFrom({ AUTHSOME_CONFIG: configFile(content) })).pipe(Either.getOrUndefined)
    expect(error).toBeInstanceOf(InvalidSetting)
    const message = (error as Error).message
    expect(message).toContain(`invalid AUTHSOME_CONFIG: ${expected}`)
    expect(message).not.toContain("\n")
  })

  it("plain http issuers are accepted on loopback addresses", () => {
    for (const issuer of ["http://127.0.0.1:4000", "http://localhost:4000", "http://[::1]:4000"]) {
      const settings = settingsFrom({
        AUTHSOME_CONFIG: configFile({ social: { providers: { "oidc:dev": { ...client, issuer } } } }),
      })
      expect(Either.isRight(settings)).toBe(true)
    }
  })
})

describe("a server configured by the environment and AUTHSOME_CONFIG serves the §6 routes", () => {
  let issuer: TestIssuer
  let smtp: TestSmtp
  let database: Awaited<ReturnType<typeof createDatabase>>
  let server: Fiber.RuntimeFiber<never, unknown>
  let base: string

  beforeAll(async () => {
    const { port, origin } = await reservePort()
    base = `${origin}/v1/auth`
    issuer = await TestIssuer.start([`${base}/social/oidc:acme/callback`])
    issuer.accounts.set("ada", { email: "ada@example.com", email_verified: true, given_name: "Ada" })
    smtp = await TestSmtp.create()
    database = await createDatabase("socialserver")
    const settings = settingsFrom({
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      AUTHSOME_PUBLIC_URL: origin,
      AUTHSOME_SECRET: "a-test-secret-of-at-least-32-characters!",
      AUTHSOME_SMTP_URL: smtp.url,
      AUTHSOME_RATE_LIMIT: "off",
      AUTHSOME_LOG_LEVEL: "error",
      AUTHSOME_CONFIG: configFile({
        social: {
          providers: {
            "oidc:acme": { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret },
          },
        },
        magicLink: { allowSignup: true },
      }),
    })
    server = Effect.runFork(serve(Either.getOrThrow(settings)))
    for (let tries = 0; ; tries++) {
      const up = await fetch(`${base}/health`).catch(() => undefined)
      if (up?.status === 200) break
      if (tries > 300) throw new Error("the server did not start")
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

  afterAll(async () => {
    if (server) await Effect.runPromise(Fiber.interrupt(server))
    await issuer?.close()
    await smtp?.stop()
    await database?.drop()
  })

  it("a full OpenID Connect sign-in, a magic link, and the client configuration", async () => {
    const browser = new Client(base)
    const begun = await browser.post("/social/oidc:acme", { redirect_url: "/app" })
    expect(begun.status).toBe(200)
    const back = await authorizeAt(begun.body.auth_url, "ada", `${base}/social/oidc:acme/callback`)
    const callback = await browserGet(browser, back)
    expect(callback.status).toBe(302)
    expect(callback.location).toBe("/app")
    expect((await browser.get("/me/accounts")).body.accounts).toHaveLength(1)

    const email = "grace@example.com"
    expect((await new Client(base).post("/magic-link/send", { email })).body).toEqual({ status: "ok" })
    const mail = await smtp.waitFor(email, /sign-in link/i)
    const token = /\/magic-link\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)?.[1]
    const signedIn = await new Client(base).post("/magic-link/verify", { token: decodeURIComponent(token ?? "") })
    expect(signedIn.status).toBe(200)
    expect(signedIn.body.user).toMatchObject({ email, email_verified: true })

    const config = await new Client(base).get("/client-config")
    expect(config.body.social).toEqual({ enabled: true, providers: [{ id: "oidc:acme", name: "acme" }] })
    expect(config.body.magic_link).toEqual({ enabled: true })
    const openApi = (await new Client(base).get("/openapi.json")).body
    for (const path of [
      "/v1/auth/social/{provider}",
      "/v1/auth/social/{provider}/callback",
      "/v1/auth/me/accounts",
      "/v1/auth/me/accounts/{provider}",
      "/v1/auth/magic-link/send",
      "/v1/auth/magic-link/verify",
    ]) {
      expect(Object.keys(openApi.paths)).toContain(path)
    }
  })
})
