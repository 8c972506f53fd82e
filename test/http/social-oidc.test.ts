/**
 * Sign-in with an OpenID Connect issuer (http-api.md §6), black-box over real HTTP against a real OpenID Provider
 * (panva's oidc-provider on 127.0.0.1) and the engine on PostgreSQL: the authorization-code flow with PKCE through
 * the provider's login and consent pages, then every tampering the flow must survive.
 */
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as MagicLink from "../../src/plugins/magic-link/index.js"
import * as Password from "../../src/plugins/password/index.js"
import * as Social from "../../src/plugins/social/index.js"
import { Client, type TestServer, strongPassword } from "../support/http.js"
import {
  authorizeAt,
  browserGet,
  type IssuerAccount,
  reservePort,
  startServerOn,
  TestIssuer,
} from "../support/oauth.js"
import { verificationOf } from "../support/smtp.js"

const provider = "oidc:acme"

describe("social sign-in with an OpenID Connect issuer", () => {
  let api: TestServer
  let issuer: TestIssuer
  let callbackUrl: string
  let db: pg.Client

  beforeAll(async () => {
    const { port, origin } = await reservePort()
    callbackUrl = `${origin}/v1/auth/social/${provider}/callback`
    issuer = await TestIssuer.start([callbackUrl])
    api = await startServerOn(port, {
      publicUrl: origin,
      trustedOrigins: ["https://app.example.com"],
      plugins: [
        Password.plugin(),
        MagicLink.plugin(),
        Social.plugin({
          providers: {
            [provider]: {
              issuer: issuer.issuer,
              clientId: issuer.clientId,
              clientSecret: issuer.clientSecret,
              name: "Acme ID",
            },
            "oidc:down": { issuer: "http://127.0.0.1:9", clientId: "x", clientSecret: "y" },
          },
          defaultRedirectUrl: "/home",
        }),
      ],
    })
    db = new pg.Client({ connectionString: api.databaseUrl })
    await db.connect()
  })

  afterAll(async () => {
    await db?.end()
    await api?.close()
    await issuer?.close()
  })

  /** A provider login whose account has this address. */
  const account = (login: string, details: Partial<IssuerAccount> = {}) => {
    issuer.accounts.set(login, { email: `${login}@example.com`, email_verified: true, ...details })
    return login
  }
  let logins = 0
  const newLogin = (details: Partial<IssuerAccount> = {}) => account(`user${process.pid}x${logins++}`, details)

  /** Begins a sign-in in `client` and goes through the provider as `login`; returns the redirect back to us. */
  const throughProvider = async (client: Client, login: string, body: Record<string, unknown> = {}) => {
    const begun = await client.post(`/social/${provider}`, body)
    expect(begun.status).toBe(200)
    return authorizeAt(begun.body.auth_url, login, callbackUrl)
  }

  const signIn = async (client: Client, login: string, body: Record<string, unknown> = {}) =>
    browserGet(client, await throughProvider(client, login, body))

  it("the browser flow: PKCE S256, nonce, state cookie; the callback signs in, sets cookies and redirects", async () => {
    const client = new Client(api.base)
    const login = newLogin({ given_name: "Alice", family_name: "Liddell" })
    const begun = await client.post(`/social/${provider}`, { redirect_url: "/welcome?tab=1" })
    expect(begun.status).toBe(200)
    const authUrl = new URL(begun.body.auth_url)
    expect(authUrl.origin + authUrl.pathname).toBe(`${issuer.issuer}/auth`)
    expect(authUrl.searchParams.get("client_id")).toBe(issuer.clientId)
    expect(authUrl.searchParams.get("redirect_uri")).toBe(callbackUrl)
    expect(authUrl.searchParams.get("response_type")).toBe("code")
    expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256")
    expect(authUrl.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(authUrl.searchParams.get("nonce")!.length).toBeGreaterThanOrEqual(43)
    const state = authUrl.searchParams.get("state")!
    expect(state.length).toBeGreaterThanOrEqual(43)
    expect(client.jar.get("authsome_oauth_state")).toBe(state)
    // Only a hash of the state is stored, with the verifier sealed.
    const stored = await db.query("SELECT state_hash, code_verifier FROM authsome_oauth_states")
    expect(JSON.stringify(stored.rows)).not.toContain(state)
    expect(stored.rows.every((row) => row.code_verifier.startsWith("v1."))).toBe(true)

    let providerTokens: Record<string, unknown> = {}
    issuer.onTokenResponse = (body) => {
      providerTokens = body
      return body
    }
    const back = await authorizeAt(authUrl.href, login, callbackUrl)
    expect(back.searchParams.get("state")).toBe(state)
    const callback = await browserGet(client, back)
    issuer.onTokenResponse = undefined
    expect(callback.status).toBe(302)
    expect(callback.location).toBe("/welcome?tab=1")
    expect(callback.headers.get("cache-control")).toBe("no-store")
    expect(client.jar.has("authsome_oauth_state")).toBe(false)

    const session = await client.get("/session")
    expect(session.status).toBe(200)
    expect(session.body.user).toMatchObject({
      email: `${login}@example.com`,
      email_verified: true,
      first_name: "Alice",
      last_name: "Liddell",
    })
    const accounts = await client.get("/me/accounts")
    expect(accounts.status).toBe(200)
    expect(accounts.body.accounts).toEqual([
      expect.objectContaining({ provider, provider_user_id: login, email: `${login}@example.com` }),
    ])

    // The provider's tokens are kept sealed: the database holds neither of them in clear.
    const connection = await db.query(
      "SELECT access_token FROM authsome_oauth_connections WHERE provider_user_id = $1",
      [login],
    )
    expect(typeof providerTokens.access_token).toBe("string")
    expect(connection.rows[0].access_token).toMatch(/^v1\./)
    expect(connection.rows[0].access_token).not.toContain(providerTokens.access_token)
    expect((await db.query("SELECT count(*)::int AS n FROM authsome_oauth_states")).rows[0].n).toBe(0)
  })

  it("the app flow: POST of the callback returns Tokens and is_new_user; the same account signs in again", async () => {
    const login = newLogin()
    const first = new Client(api.base)
    const back = await throughProvider(first, login)
    const body = Object.fromEntries(back.searchParams)
    expect(body.iss).toBe(issuer.issuer)
    const created = await new Client(api.base).post(`/social/${provider}/callback`, body)
    expect(created.status).toBe(200)
    expect(created.body.is_new_user).toBe(true)
    expect(created.body.session_token).toBeTypeOf("string")
    expect(created.body.user.email).toBe(`${login}@example.com`)

    const again = await throughProvider(new Client(api.base), login)
    const returning = await new Client(api.base).post(
      `/social/${provider}/callback`,
      Object.fromEntries(again.searchParams),
    )
    expect(returning.status).toBe(200)
    expect(returning.body.is_new_user).toBe(false)
    expect(returning.body.user.id).toBe(created.body.user.id)
  })

  it("a state is single-use: a second code for the same state is refused", async () => {
    const login = newLogin()
    const client = new Client(api.base)
    const begun = await client.post(`/social/${provider}`, {})
    // The same authorization URL twice at the provider: two valid codes for one state.
    const firstBack = await authorizeAt(begun.body.auth_url, login, callbackUrl)
    const secondBack = await authorizeAt(begun.body.auth_url, login, callbackUrl)
    expect(secondBack.searchParams.get("code")).not.toBe(firstBack.searchParams.get("code"))
    const stateCookie = client.jar.get("authsome_oauth_state")!
    expect((await browserGet(client, firstBack)).status).toBe(302)

    client.jar.set("authsome_oauth_state", stateCookie)
    const replay = await browserGet(client, secondBack)
    expect(replay.status).toBe(400)
    expect(replay.body).toMatchObject({ type: "invalid_code", error: "unknown, used or expired sign-in state" })
    const viaApp = await new Client(api.base).post(
      `/social/${provider}/callback`,
      Object.fromEntries(secondBack.searchParams),
    )
    expect(viaApp.status).toBe(400)
    expect(viaApp.body.type).toBe("invalid_code")
  })

  it("the browser callback needs the state cookie of the browser that began (no login CSRF)", async () => {
    const victim = new Client(api.base)
    const attacker = new Client(api.base)
    const back = await throughProvider(attacker, newLogin())
    const refused = await browserGet(victim, back)
    expect(refused.status).toBe(400)
    expect(refused.body.type).toBe("invalid_code")
    expect(victim.jar.size).toBe(0)
    // The refusal did not spend the state: the browser that began finishes.
    expect((await browserGet(attacker, back)).status).toBe(302)
  })

  it("a tampered nonce is refused: the ID token must carry the nonce stored with the state", async () => {
    const client = new Client(api.base)
    const login = newLogin()
    const begun = await client.post(`/social/${provider}`, {})
    const tampered = new URL(begun.body.auth_url)
    tampered.searchParams.set("nonce", "attacker-chosen-nonce-0123456789abcdefghijklmnop")
    const back = await authorizeAt(tampered.href, login, callbackUrl)
    const refused = await browserGet(client, back)
    expect(refused.status).toBe(400)
    expect(refused.body).toMatchObject({ type: "invalid_code", error: "the provider's ID token did not verify" })
    expect(
      (await db.query("SELECT count(*)::int AS n FROM authsome_users WHERE email = $1", [`${login}@example.com`]))
        .rows[0].n,
    ).toBe(0)
  })

  it("ID tokens are verified against the issuer's JWKS: another key, expiry, issuer, audience, nonce", async () => {
    // The control: the same claims signed again with the issuer's key pass, so each refusal below is its change.
    issuer.onTokenResponse = async (body) => ({ ...body, id_token: await issuer.resign(String(body.id_token), {}) })
    expect((await signIn(new Client(api.base), newLogin())).status).toBe(302)

    const now = Math.floor(Date.now() / 1000)
    const tamperings: Record<string, (idToken: string) => Promise<string>> = {
      "signed by another key": (idToken) => issuer.forge(idToken),
      expired: (idToken) => issuer.resign(idToken, { iat: now - 7200, exp: now - 3600 }),
      "another issuer": (idToken) => issuer.resign(idToken, { iss: "http://127.0.0.1:1" }),
      "another audience": (idToken) => issuer.resign(idToken, { aud: "someone-else" }),
      "another nonce": (idToken) => issuer.resign(idToken, { nonce: "not-the-one-we-stored" }),
    }
    for (const [name, tamper] of Object.entries(tamperings)) {
      const login = newLogin()
      issuer.onTokenResponse = async (body) => ({ ...body, id_token: await tamper(String(body.id_token)) })
      const client = new Client(api.base)
      const refused = await signIn(client, login)
      expect({ name, status: refused.status, type: refused.body?.type }).toEqual({
        name,
        status: 400,
        type: "invalid_code",
      })
      expect((await client.get("/session")).status).toBe(401)
    }
    issuer.onTokenResponse = undefined
    const failures = await db.query(
      "SELECT count(*)::int AS n FROM authsome_audit_events WHERE type = 'auth.signin.failed' AND reason = 'oauth_id_token'",
    )
    expect(failures.rows[0].n).toBeGreaterThanOrEqual(Object.keys(tamperings).length)
  })

  it("redirect_url: a path or a trusted origin is kept; any other origin gets the configured default", async () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, "/home"],
      ["/account/settings", "/account/settings"],
      ["https://app.example.com/after?x=1", "https://app.example.com/after?x=1"],
      ["https://evil.example/steal", "/home"],
      ["//evil.example/steal", "/home"],
      ["/\\evil.example", "/home"],
      ["/\t/evil.example", "/home"],
      ["https://app.example.com.evil.example/", "/home"],
      ["javascript:alert(1)", "/home"],
    ]
    for (const [requested, expected] of cases) {
      const client = new Client(api.base)
      const done = await signIn(client, newLogin(), requested === undefined ? {} : { redirect_url: requested })
      expect({ requested, status: done.status, location: done.location }).toEqual({
        requested,
        status: 302,
        location: expected,
      })
    }
  })

  describe("an address that already has an account", () => {
    /** A user signed up with a password and verified through the mailed code. */
    const verifiedPasswordUser = async (email: string) => {
      const client = new Client(api.base)
      await client.post("/signup", { email, password: strongPassword })
      const { code } = verificationOf(await api.smtp.waitFor(email, /verif/i))
      const verified = await client.post("/verify-email", { email, code })
      expect(verified.status).toBe(200)
      return verified.body.user
    }

    it("an unverified provider email is not linked (no takeover): 409 email_taken, no session, no link", async () => {
      const login = newLogin({ email_verified: false })
      const existing = await verifiedPasswordUser(`${login}@example.com`)
      const client = new Client(api.base)
      const refused = await signIn(client, login)
      expect(refused.status).toBe(409)
      expect(refused.body.type).toBe("email_taken")
      expect((await client.get("/session")).status).toBe(401)
      const links = await db.query("SELECT count(*)::int AS n FROM authsome_oauth_connections WHERE user_id = $1", [
        existing.id,
      ])
      expect(links.rows[0].n).toBe(0)
    })

    it("a pending sign-up holds no account: the provider-verified address gets its own, the pending password never applies", async () => {
      const login = newLogin()
      const email = `${login}@example.com`
      const pending = await new Client(api.base).post("/signup", { email, password: strongPassword })
      expect(pending.body.verification_required).toBe(true)
      const client = new Client(api.base)
      const signedIn = await signIn(client, login)
      expect(signedIn.status).toBe(302)
      expect((await client.get("/session")).body.user).toMatchObject({ email, email_verified: true })
      const squatter = await new Client(api.base).post("/signin", { email, password: strongPassword })
      expect(squatter.status).toBe(401)
      expect(squatter.body.type).toBe("invalid_credentials")
    })

    it("a provider-verified email of a verified user links the account and signs that user in", async () => {
      const login = newLogin()
      const existing = await verifiedPasswordUser(`${login}@example.com`)
      const client = new Client(api.base)
      const back = await throughProvider(client, login)
      const linked = await client.post(`/social/${provider}/callback`, Object.fromEntries(back.searchParams))
      expect(linked.status).toBe(200)
      expect(linked.body.is_new_user).toBe(false)
      expect(linked.body.user.id).toBe(existing.id)
      const accounts = await client.get("/me/accounts", { token: linked.body.session_token })
      expect(accounts.body.accounts.map((a: { provider: string }) => a.provider)).toEqual([provider])
    })
  })

  it("unlinking: never the last way to sign in (409); allowed once the user has a password; then 404", async () => {
    const login = newLogin()
    const client = new Client(api.base)
    expect((await signIn(client, login)).status).toBe(302)
    const token = (await client.get("/session")).body
    expect(token.user.email).toBe(`${login}@example.com`)
    const last = await client.delete(`/me/accounts/${provider}`, { headers: { origin: api.origin } })
    expect(last.status).toBe(409)
    expect(last.body.type).toBe("conflict")

    // A password through the reset flow: now the link is not the last way in.
    const email = `${login}@example.com`
    await client.post("/forgot-password", { email })
    const { token: resetToken } = verificationOf(await api.smtp.waitFor(email, /reset/i))
    expect(
      (await client.post("/reset-password", { token: decodeURIComponent(resetToken), new_password: strongPassword }))
        .status,
    ).toBe(200)
    const signedIn = await new Client(api.base).post("/signin", { email, password: strongPassword })
    expect(signedIn.status).toBe(200)
    const bearer = { token: signedIn.body.session_token, cookies: false }
    const unlinked = await client.delete(`/me/accounts/${provider}`, bearer)
    expect(unlinked.status).toBe(200)
    expect(unlinked.body).toEqual({ status: "unlinked" })
    expect((await client.get("/me/accounts", bearer)).body.accounts).toEqual([])
    const again = await client.delete(`/me/accounts/${provider}`, bearer)
    expect(again.status).toBe(404)
  })

  it("unknown providers are 404; an unreachable issuer is 503 with Retry-After; client-config lists providers", async () => {
    const client = new Client(api.base)
    const unknown = await client.post("/social/gitlab", {})
    expect(unknown.status).toBe(404)
    expect(unknown.body.type).toBe("not_found")
    const down = await client.post("/social/oidc:down", {})
    expect(down.status).toBe(503)
    expect(down.body.type).toBe("unavailable")
    expect(down.headers.get("retry-after")).toBe("30")
    const config = await client.get("/client-config")
    expect(config.body.social).toEqual({
      enabled: true,
      providers: [
        { id: provider, name: "Acme ID" },
        { id: "oidc:down", name: "down" },
      ],
    })
    expect(config.body.magic_link).toEqual({ enabled: true })
    expect(new Set(config.body.supported_plugins)).toEqual(new Set(["password", "magic-link", "social"]))
  })

  it("a provider's refusal (access_denied) and a missing or unknown state are 400 invalid_code", async () => {
    const client = new Client(api.base)
    const begun = await client.post(`/social/${provider}`, {})
    const state = new URL(begun.body.auth_url).searchParams.get("state")!
    const denied = await browserGet(
      client,
      `${callbackUrl}?error=access_denied&state=${state}&iss=${encodeURIComponent(issuer.issuer)}`,
    )
    expect(denied.status).toBe(400)
    expect(denied.body).toMatchObject({ type: "invalid_code", error: "the provider did not authorize the sign-in" })
    expect((await browserGet(client, `${callbackUrl}?code=x`)).status).toBe(400)
    const unknown = await client.post(`/social/${provider}/callback`, { code: "x", state: "never-issued" })
    expect(unknown.status).toBe(400)
    expect(unknown.body.type).toBe("invalid_code")
  })
})
