/**
 * Every event type of http-api.md §5 reaches a subscribed webhook when the action that causes it happens over HTTP
 * (users, sessions, sign-in, passwords, orgs, API keys, MFA, passkeys), each call verified by the receiver with the
 * `standardwebhooks` package; on PostgreSQL with every plugin that emits them mounted.
 */
import * as OTPAuth from "otpauth"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { AuthsomeOptions } from "../../src/authsome.js"
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Passkey from "../../src/plugins/passkey/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { webhookEventTypes } from "../../src/services/events.js"
import { Client, signUpAndSignIn, startServer, strongPassword, type TestServer, uniqueEmail } from "../support/http.js"
import { SoftAuthenticator } from "../support/webauthn.js"
import { type Receiver, startReceiver } from "../support/webhooks.js"

const publicUrl = "https://app.example.com"

const config: AuthsomeOptions = {
  plugins: [Password.plugin(), Organization.plugin(), Mfa.plugin(), Passkey.plugin()],
  publicUrl,
  emailVerification: { required: true },
  lockout: { enabled: true, maxAttempts: 2 },
  session: { refreshReuseInterval: "1 millis" },
  webhooks: { allowPrivateTargets: true, pollInterval: "100 millis", retrySchedule: ["200 millis"] },
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("webhook events", () => {
  let server: TestServer
  let receiver: Receiver

  beforeAll(async () => {
    server = await startServer({ config })
    receiver = await startReceiver()
  })
  afterAll(async () => {
    await receiver?.close()
    await server?.close()
  })

  /** A signed-up, verified, signed-in user. */
  const person = async (label: string) => {
    const client = new Client(server.base)
    const email = uniqueEmail(label)
    const tokens = await signUpAndSignIn(server, client, email)
    return {
      client,
      email,
      id: tokens.user.id as string,
      token: tokens.session_token as string,
      refresh: tokens.refresh_token as string,
      auth: { token: tokens.session_token as string, cookies: false },
    }
  }

  const signIn = async (client: Client, email: string, password = strongPassword) => {
    const response = await client.post("/signin", { email, password }, { cookies: false })
    expect(response.status).toBe(200)
    const current = await client.get("/session", { token: response.body.session_token, cookies: false })
    return { ...response.body, session: current.body.session } as {
      session_token: string
      refresh_token: string
      session: { id: string }
    }
  }

  /** The link token of the newest mail to `to` whose subject matches, after the `before`-th mail. */
  const linkToken = async (before: number, to: string, subject: RegExp, path: string) => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const mail = server.smtp.received.slice(before).find((m) => m.to.includes(to) && subject.test(m.subject))
      const match = mail && new RegExp(`/${path}\\?token=([A-Za-z0-9_%.~-]+)`).exec(mail.text)
      if (match) return decodeURIComponent(match[1]!)
      if (Date.now() > deadline) throw new Error(`no ${path} mail to ${to}`)
      await sleep(25)
    }
  }

  it("delivers every event type of §5, signed, from the action that causes it", async () => {
    const owner = await person("owner") // the app's first user: owner, may manage webhooks
    const created = await owner.client.post("/webhooks", { url: receiver.url, events: ["*"] }, owner.auth)
    expect(created.status).toBe(201)
    receiver.secret = created.body.secret

    // users, sign-in, sessions: sign-up with the mailed code (user.created, user.email_verified, auth.signin,
    // session.created), a profile change
    const alice = await person("alice")
    expect((await alice.client.patch("/me", { first_name: "Alice" }, alice.auth)).status).toBe(200)

    // API keys
    const key = await alice.client.post("/keys", { name: "ci" }, alice.auth)
    expect(key.status).toBe(201)
    expect((await alice.client.delete(`/keys/${key.body.id}`, alice.auth)).status).toBe(204)

    // passkeys
    const begin = await alice.client.post("/passkeys/register/begin", undefined, alice.auth)
    const finish = await alice.client.post(
      "/passkeys/register/finish",
      { response: new SoftAuthenticator(publicUrl).create(begin.body.options) },
      alice.auth,
    )
    expect(finish.status).toBe(200)

    // MFA on, then off
    const enrollment = await alice.client.post("/mfa/enroll", { method: "totp" }, alice.auth)
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrollment.body.secret) })
    const verified = await alice.client.post("/mfa/verify", { code: totp.generate() }, alice.auth)
    expect(verified.status).toBe(200)
    const disabled = await alice.client.request("DELETE", "/mfa/enrollment", {
      ...alice.auth,
      body: { code: verified.body.recovery_codes[0] },
    })
    expect(disabled.status).toBe(200)

    // organizations: alice owns one, invites carol, who joins; a role change, a removal, the deletion
    const carol = await person("carol")
    const org = await alice.client.post("/orgs", { name: "Acme", slug: `acme-${Date.now()}` }, alice.auth)
    expect(org.status).toBe(201)
    const orgId = org.body.id
    expect((await alice.client.patch(`/orgs/${orgId}`, { name: "Acme Inc" }, alice.auth)).status).toBe(200)
    const mailsBefore = server.smtp.received.length
    expect((await alice.client.post(`/orgs/${orgId}/invitations`, { email: carol.email }, alice.auth)).status).toBe(201)
    const invitation = await linkToken(mailsBefore, carol.email, /invit/i, "accept-invitation")
    const joined = await carol.client.post("/orgs/invitations/accept", { token: invitation }, carol.auth)
    expect(joined.status).toBe(201)
    const memberPath = `/orgs/${orgId}/members/${joined.body.id}`
    expect((await alice.client.patch(memberPath, { role: "admin" }, alice.auth)).status).toBe(200)
    expect((await alice.client.delete(memberPath, alice.auth)).status).toBe(200)
    expect((await alice.client.delete(`/orgs/${orgId}`, alice.auth)).status).toBe(200)

    // sessions: one revoked by id, one signed out, a refresh token reused
    const second = await signIn(alice.client, alice.email)
    expect((await alice.client.delete(`/sessions/${second.session.id}`, alice.auth)).status).toBe(200)
    const third = await signIn(alice.client, alice.email)
    expect(
      (await alice.client.post("/signout", undefined, { token: third.session_token, cookies: false })).status,
    ).toBe(200)
    const fourth = await signIn(alice.client, alice.email)
    expect(
      (await alice.client.post("/refresh", { refresh_token: fourth.refresh_token }, { cookies: false })).status,
    ).toBe(200)
    await sleep(20)
    expect(
      (await alice.client.post("/refresh", { refresh_token: fourth.refresh_token }, { cookies: false })).status,
    ).toBe(401)

    // passwords: a change, a reset by mail
    const changed = await alice.client.post(
      "/change-password",
      { current_password: strongPassword, new_password: `${strongPassword} 2` },
      alice.auth,
    )
    expect(changed.status).toBe(200)
    const resetBefore = server.smtp.received.length
    expect((await alice.client.post("/forgot-password", { email: alice.email })).status).toBe(200)
    const resetToken = await linkToken(resetBefore, alice.email, /reset/i, "reset-password")
    const reset = await alice.client.post("/reset-password", { token: resetToken, new_password: `${strongPassword} 3` })
    expect(reset.status).toBe(200)

    // failed sign-ins until the account locks
    const bob = await person("bob")
    for (let i = 0; i < 2; i++) {
      const failed = await bob.client.post(
        "/signin",
        { email: bob.email, password: "wrong password!" },
        { cookies: false },
      )
      expect(failed.status).toBe(401)
    }

    // the account deleted (with a fresh session: the reset revoked alice's)
    const last = await signIn(alice.client, alice.email, `${strongPassword} 3`)
    expect((await alice.client.delete("/me", { token: last.session_token, cookies: false })).status).toBe(200)

    await receiver
      .waitFor((calls) => webhookEventTypes.every((type) => calls.some((call) => call.payload?.type === type)), 15_000)
      .catch((error) => {
        const seen = new Set(receiver.calls.map((call) => call.payload?.type))
        throw new Error(`${error.message}; missing: ${webhookEventTypes.filter((type) => !seen.has(type)).join(", ")}`)
      })

    // every call verified, names its type in X-Authsome-Event, and carries the event's own data
    for (const call of receiver.calls) {
      expect(call.payload, call.body).toBeDefined()
      expect(call.eventHeader).toBe(call.payload!.type)
      expect(call.id).toMatch(/^awhd_/)
    }
    const of = (type: string) => receiver.ofType(type).map((call) => call.payload!.data)
    expect(of("user.created")).toContainEqual(expect.objectContaining({ user_id: alice.id, email: alice.email }))
    expect(of("user.email_verified")).toContainEqual(expect.objectContaining({ user_id: alice.id }))
    expect(of("user.updated")).toContainEqual(expect.objectContaining({ user_id: alice.id, fields: ["first_name"] }))
    expect(of("user.deleted")).toContainEqual(expect.objectContaining({ user_id: alice.id }))
    expect(of("session.created")).toContainEqual(expect.objectContaining({ session_id: second.session.id }))
    expect(of("session.revoked")).toContainEqual(expect.objectContaining({ session_id: second.session.id }))
    expect(of("auth.signin")).toContainEqual(expect.objectContaining({ session_id: fourth.session.id }))
    expect(of("auth.signin.failed")).toContainEqual(expect.objectContaining({ user_id: bob.id }))
    expect(of("auth.account_locked")).toContainEqual(expect.objectContaining({ user_id: bob.id }))
    expect(of("apikey.created")).toContainEqual(expect.objectContaining({ key_id: key.body.id }))
    expect(of("apikey.revoked")).toContainEqual(expect.objectContaining({ key_id: key.body.id }))
    expect(of("org.member.joined")).toContainEqual(expect.objectContaining({ user_id: carol.id }))
    // each event once per webhook (nothing duplicated by the dispatcher)
    const ids = receiver.calls.filter((call) => call.answered < 300).map((call) => call.payload!.id)
    expect(new Set(ids).size).toBe(ids.length)
  }, 60_000)
})
