/**
 * Sign-in with GitHub and Google (http-api.md §6), black-box over real HTTP on PostgreSQL, against local servers
 * answering what GitHub's and Google's documented endpoints answer, reached through the endpoint overrides.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Password from "../../src/plugins/password/index.js"
import * as Social from "../../src/plugins/social/index.js"
import { Client, type TestServer } from "../support/http.js"
import { browserGet, type GitHubAccount, GitHubStub, GoogleStub, reservePort, startServerOn } from "../support/oauth.js"

describe("social sign-in with GitHub and Google", () => {
  let api: TestServer
  let github: GitHubStub
  let google: GoogleStub

  beforeAll(async () => {
    github = await GitHubStub.start()
    google = await GoogleStub.start()
    const { port, origin } = await reservePort()
    api = await startServerOn(port, {
      publicUrl: origin,
      plugins: [
        Password.plugin(),
        Social.plugin({
          providers: {
            github: { clientId: github.clientId, clientSecret: github.clientSecret, ...github.endpoints },
            google: { clientId: google.clientId, clientSecret: google.clientSecret, ...google.endpoints },
          },
        }),
      ],
    })
  })

  afterAll(async () => {
    await api?.close()
    await github?.close()
    await google?.close()
  })

  let serial = 0
  const unique = (label: string) => `${label}${process.pid}x${serial++}`

  /** Begins in `client`, lets the stub approve, and opens the redirect back in the same browser. */
  const signIn = async (client: Client, providerId: "github" | "google") => {
    const begun = await client.post(`/social/${providerId}`, { redirect_url: "/after" })
    expect(begun.status).toBe(200)
    const approval = await fetch(begun.body.auth_url, { redirect: "manual" })
    expect(approval.status).toBe(302)
    return { begun, callback: await browserGet(client, approval.headers.get("location")!) }
  }

  describe("GitHub", () => {
    /** A GitHub account (its details may depend on the login), signed in at the stub. */
    const gitHubAccount = (overrides: (login: string) => Partial<GitHubAccount> = () => ({})) => {
      const login = unique("octo")
      github.accounts.set(login, {
        id: 1_000_000 + serial,
        login,
        name: "Mona Octocat",
        email: null,
        emails: [
          { email: `${login}@users.example.com`, primary: true, verified: true, visibility: "private" },
          { email: `${login}.old@example.com`, primary: false, verified: false, visibility: null },
        ],
        ...overrides(login),
      })
      github.signedIn = login
      return github.accounts.get(login)!
    }

    it("signs up with the primary verified address, then signs the same user in again", async () => {
      const account = gitHubAccount()
      const begun = await new Client(api.base).post("/social/github", {})
      const authUrl = new URL(begun.body.auth_url)
      expect(authUrl.origin + authUrl.pathname).toBe(github.endpoints.authorizationEndpoint)
      expect(authUrl.searchParams.get("scope")).toBe("read:user user:email")
      expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256")

      const client = new Client(api.base)
      const { callback } = await signIn(client, "github")
      expect(callback.status).toBe(302)
      expect(callback.location).toBe("/after")
      const session = await client.get("/session")
      expect(session.body.user).toMatchObject({
        email: `${account.login}@users.example.com`,
        email_verified: true,
        first_name: "Mona Octocat",
        image: `https://avatars.githubusercontent.com/u/${account.id}?v=4`,
      })
      const accounts = await client.get("/me/accounts")
      expect(accounts.body.accounts).toEqual([
        expect.objectContaining({ provider: "github", provider_user_id: String(account.id) }),
      ])

      const again = new Client(api.base)
      expect((await signIn(again, "github")).callback.status).toBe(302)
      expect((await again.get("/session")).body.user.id).toBe(session.body.user.id)
    })

    it("GitHub's 200-with-error answer to a bad code is 400 invalid_code", async () => {
      gitHubAccount()
      const client = new Client(api.base)
      const begun = await client.post("/social/github", {})
      const state = new URL(begun.body.auth_url).searchParams.get("state")!
      const refused = await browserGet(client, `${api.base}/social/github/callback?code=not-a-code&state=${state}`)
      expect(refused.status).toBe(400)
      expect(refused.body).toMatchObject({
        type: "invalid_code",
        error: "the provider did not accept the authorization code",
      })
    })

    it("without access to /user/emails the public address is used, unverified", async () => {
      const account = gitHubAccount((login) => ({ emailsHidden: true, email: `${login}@public.example.com` }))
      const client = new Client(api.base)
      expect((await signIn(client, "github")).callback.status).toBe(302)
      expect((await client.get("/session")).body.user).toMatchObject({
        email: `${account.login}@public.example.com`,
        email_verified: false,
      })
    })

    it("an account without any address is refused", async () => {
      gitHubAccount(() => ({ emails: [], email: null }))
      const { callback } = await signIn(new Client(api.base), "github")
      expect(callback.status).toBe(400)
      expect(callback.body).toMatchObject({ type: "invalid_code", error: "the provider shared no email address" })
    })
  })

  describe("Google", () => {
    const googleAccount = (verified = true) => {
      const sub = String(100_000_000_000 + serial)
      const email = `${unique("g")}@gmail.example.com`
      google.accounts.set(sub, { sub, email, email_verified: verified, given_name: "Grace", family_name: "Hopper" })
      google.signedIn = sub
      return { sub, email }
    }

    it("the ID token (RS256, Google's issuer, our nonce) and userinfo sign a new user in; the POST form too", async () => {
      const { sub, email } = googleAccount()
      const client = new Client(api.base)
      const { begun, callback } = await signIn(client, "google")
      const authUrl = new URL(begun.body.auth_url)
      expect(authUrl.origin + authUrl.pathname).toBe(google.endpoints.authorizationEndpoint)
      expect(authUrl.searchParams.get("scope")).toBe("openid email profile")
      expect(authUrl.searchParams.get("nonce")).toBeTruthy()
      expect(callback.status).toBe(302)
      expect((await client.get("/session")).body.user).toMatchObject({
        email,
        email_verified: true,
        first_name: "Grace",
        last_name: "Hopper",
        image: "https://lh3.googleusercontent.com/a/test-picture=s96-c",
      })

      const app = new Client(api.base)
      const again = await app.post("/social/google", {})
      const approval = await fetch(again.body.auth_url, { redirect: "manual" })
      const back = new URL(approval.headers.get("location")!)
      const returning = await app.post("/social/google/callback", {
        code: back.searchParams.get("code"),
        state: back.searchParams.get("state"),
      })
      expect(returning.status).toBe(200)
      expect(returning.body.is_new_user).toBe(false)
      expect(returning.body.user.email).toBe(email)
      expect((await app.get("/me/accounts", { token: returning.body.session_token })).body.accounts).toEqual([
        expect.objectContaining({ provider: "google", provider_user_id: sub }),
      ])
    })

    it("Google's invalid_grant (a code already used) is 400 invalid_code", async () => {
      googleAccount()
      const client = new Client(api.base)
      const begun = await client.post("/social/google", {})
      const approval = await fetch(begun.body.auth_url, { redirect: "manual" })
      const back = new URL(approval.headers.get("location")!)
      // The code is spent at Google by someone else first (the same code, exchanged without our verifier).
      await fetch(google.endpoints.tokenEndpoint, {
        method: "POST",
        body: new URLSearchParams({ code: back.searchParams.get("code")!, client_id: "x", client_secret: "y" }),
      })
      const refused = await browserGet(client, back)
      expect(refused.status).toBe(400)
      expect(refused.body.type).toBe("invalid_code")
    })

    it("client-config names both providers", async () => {
      const config = await new Client(api.base).get("/client-config")
      expect(config.body.social).toEqual({
        enabled: true,
        providers: [
          { id: "github", name: "GitHub" },
          { id: "google", name: "Google" },
        ],
      })
    })
  })
})
