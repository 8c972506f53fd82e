/**
 * The hosted pages over plain HTTP (no browser): turned on and off, their headers (a fresh CSP nonce per response,
 * the API's security headers), their assets, their size, and the CSRF rule of their forms.
 */
import { ConfigProvider, Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { resolveConfigSync } from "../../src/config.js"
import { readServerSettings } from "../../src/server/settings.js"
import * as Password from "../../src/plugins/password/index.js"
import * as Social from "../../src/plugins/social/index.js"
import express from "express"
import { makeHandlers } from "../../src/http/mount.js"
import { createDatabase } from "../support/postgres.js"
import {
  Client,
  engineLayer,
  listen,
  signUpAndSignIn,
  startServer,
  type TestServer,
  uniqueEmail,
} from "../support/http.js"
import { startUiServer, type UiServer } from "./browser.js"

const settingsWith = (env: Record<string, string>) =>
  Either.getOrThrow(
    Effect.runSync(
      Effect.either(readServerSettings).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      ),
    ),
  )

describe("AUTHSOME_UI", () => {
  it("is on by default in the standalone server, off with AUTHSOME_UI=off, and off by default in the library", () => {
    expect(settingsWith({}).engine.ui.enabled).toBe(true)
    expect(settingsWith({ AUTHSOME_UI: "off" }).engine.ui.enabled).toBe(false)
    expect(resolveConfigSync({}).ui.enabled).toBe(false)
  })

  it("off: the pages' paths are not served (the JSON API's 404)", async () => {
    const server: TestServer = await startServer()
    try {
      const response = await fetch(`${server.origin}/sign-in`)
      expect(response.status).toBe(404)
      expect((await response.json()).type).toBe("not_found")
    } finally {
      await server.close()
    }
  })
})

describe("the hosted pages", () => {
  let server: UiServer
  beforeAll(async () => {
    server = await startUiServer()
  }, 60_000)
  afterAll(() => server?.close())

  const pages = [
    "/sign-in",
    "/sign-up",
    "/verify-email",
    "/forgot-password",
    "/reset-password?token=x",
    "/magic-link?token=x",
  ]

  it("every page: HTML under 100 KB, a strict CSP with a fresh nonce on its only script, the security headers", async () => {
    const nonces = new Set<string>()
    for (const path of pages) {
      const response = await fetch(`${server.pages}${path}`)
      expect(response.status, path).toBe(200)
      const body = await response.text()
      expect(body.length).toBeLessThan(100_000)
      const policy = response.headers.get("content-security-policy")!
      expect(policy).toContain("default-src 'none'")
      expect(policy).toContain("frame-ancestors 'none'")
      expect(policy).not.toContain("unsafe-inline")
      const nonce = /script-src 'nonce-([^']+)'/.exec(policy)![1]!
      nonces.add(nonce)
      const scripts = [...body.matchAll(/<script\b[^>]*>/g)].map((match) => match[0])
      expect(scripts).toHaveLength(1)
      expect(scripts[0]).toContain(`nonce="${nonce}"`)
      expect(response.headers.get("x-frame-options")).toBe("DENY")
      expect(response.headers.get("x-content-type-options")).toBe("nosniff")
      expect(response.headers.get("cache-control")).toBe("no-store")
      expect(body).not.toMatch(/https?:\/\/(?!localhost)[a-z0-9.-]+\.[a-z]{2,}\//i)
    }
    expect(nonces.size).toBe(pages.length)
  })

  it("the style sheet and script are served by the server, cached by their hashed names; others are 404", async () => {
    const page = await (await fetch(`${server.pages}/sign-in`)).text()
    const files = [...page.matchAll(/(?:href|src)="(\/ui-assets\/[^"]+)"/g)].map((match) => match[1]!)
    expect(files).toHaveLength(2)
    for (const file of files) {
      const response = await fetch(`${server.pages}${file}`)
      expect(response.status).toBe(200)
      expect(response.headers.get("cache-control")).toContain("immutable")
    }
    expect((await fetch(`${server.pages}/ui-assets/nothing.js`)).status).toBe(404)
  })

  it("a form needs its CSRF cookie's token and our origin; the mailed link targets are pages", async () => {
    const first = await fetch(`${server.pages}/forgot-password`)
    const cookie = first.headers.getSetCookie().find((line) => line.startsWith("authsome_csrf="))!
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/SameSite=Lax/i)
    const token = /authsome_csrf=([^;]+)/.exec(cookie)![1]!
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${server.pages}/forgot-password`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body,
      })
    const form = `_csrf=${token}&email=someone%40example.com`
    expect((await post({ cookie: `authsome_csrf=${token}`, origin: server.pages }, form)).status).toBe(200)
    expect((await post({ cookie: `authsome_csrf=${token}`, origin: "https://evil.example" }, form)).status).toBe(403)
    expect((await post({ cookie: `authsome_csrf=${token}` }, form)).status).toBe(403)
    expect((await post({ origin: server.pages }, form)).status).toBe(403)
    expect(
      (await post({ cookie: `authsome_csrf=${token}`, origin: server.pages }, "_csrf=wrong&email=a%40example.com"))
        .status,
    ).toBe(403)
    for (const path of ["/verify-email", "/reset-password", "/accept-invitation", "/magic-link"]) {
      const response = await fetch(`${server.pages}${path}?token=abc`, { redirect: "manual" })
      expect([200, 303], path).toContain(response.status)
    }
  })

  it("signed-out visitors of the account page are sent to sign in, and come back after", async () => {
    const response = await fetch(`${server.pages}/account`, { redirect: "manual" })
    expect(response.status).toBe(303)
    expect(response.headers.get("location")).toBe(`/sign-in?redirect_to=${encodeURIComponent("/account")}`)
  })

  it("an organization's branding (name, logo, colour) on its members' pages, escaped", async () => {
    const client = new Client(server.base)
    const { session_token: token } = await signUpAndSignIn(server, client, uniqueEmail("ui-brand"))
    const bearer = { token, cookies: false }
    const org = await client.post("/orgs", { name: "Brand Co", slug: `brand-${Date.now()}` }, bearer)
    const branding = await client.request("PUT", `/orgs/${org.body.id}/branding`, {
      ...bearer,
      body: { company_name: "Rocket <Co>", logo_url: "https://cdn.example.test/logo.png", primary_color: "#ff6600" },
    })
    expect(branding.status).toBe(200)
    expect((await client.post("/me/switch-org", { org_id: org.body.id }, bearer)).status).toBe(200)
    const page = await (
      await fetch(`${server.pages}/account`, { headers: { cookie: `authsome_session_token=${token}` } })
    ).text()
    expect(page).toContain("Rocket &lt;Co&gt;")
    expect(page).not.toContain("Rocket <Co>")
    expect(page).toContain('<img src="https://cdn.example.test/logo.png" alt="">')
    expect(page).toMatch(/<style nonce="[^"]+">:root\{--brand:#ff6600\}<\/style>/)
    const signedOut = await (await fetch(`${server.pages}/sign-in`)).text()
    expect(signedOut).not.toContain("Rocket")
  })

  it("the API is unchanged beside the pages", async () => {
    const health = await fetch(`${server.base}/health`)
    expect(await health.json()).toEqual({ status: "healthy" })
  })
})

describe("social providers on the sign-in page", () => {
  it("each configured provider has its button; it starts the provider's authorization with state and PKCE", async () => {
    const server = await startUiServer({
      plugins: [
        Password.plugin(),
        Social.plugin({
          providers: {
            github: {
              clientId: "ui-client",
              clientSecret: "ui-secret",
              authorizationEndpoint: "https://github.example.test/login/oauth/authorize",
            },
          },
        }),
      ],
    })
    try {
      const page = await (await fetch(`${server.pages}/sign-in?redirect_to=%2Faccount%3Ftab%3D1`)).text()
      const href = /href="([^"]*\/sign-in\/social\?provider=github[^"]*)"/.exec(page)?.[1]
      expect(page).toContain("Continue with GitHub")
      expect(href).toBeDefined()
      const started = await fetch(`${server.pages}${href!.replaceAll("&amp;", "&")}`, { redirect: "manual" })
      expect(started.status).toBe(303)
      const location = new URL(started.headers.get("location")!)
      expect(location.origin + location.pathname).toBe("https://github.example.test/login/oauth/authorize")
      expect(location.searchParams.get("client_id")).toBe("ui-client")
      expect(location.searchParams.get("state")).toBeTruthy()
      expect(location.searchParams.get("code_challenge_method")).toBe("S256")
      expect(location.searchParams.get("redirect_uri")).toBe(`${server.pages}/v1/auth/social/github/callback`)
    } finally {
      await server.close()
    }
  })
})

describe("the pages in a host's Express app", () => {
  it("with ui on, the Node handler serves the pages and the API, and passes the host's own paths on", async () => {
    const database = await createDatabase("uiexpress")
    const handlers = await makeHandlers(
      engineLayer(database.url, {
        ui: { enabled: true },
        publicUrl: "http://localhost:1",
        rateLimit: { enabled: false },
      }),
    )
    const app = express()
    app.use(handlers.node)
    app.get("/dashboard", (_request, response) => {
      response.json({ host: true })
    })
    const { server, origin } = await listen(app)
    try {
      const page = await fetch(`${origin}/sign-in`)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toContain("text/html")
      expect(await (await fetch(`${origin}/dashboard`)).json()).toEqual({ host: true })
      expect(await (await fetch(`${origin}/v1/auth/health`)).json()).toEqual({ status: "healthy" })
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await handlers.dispose()
      await database.drop()
    }
  })
})
