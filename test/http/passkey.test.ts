/**
 * Passkeys over real HTTP on PostgreSQL, answered by a software authenticator (`test/support/webauthn.ts`) whose
 * output is first proven valid by `@simplewebauthn/server`'s own verification: registration, login by email and
 * discoverable, no account enumeration, single-use challenges, the signature counter, origin and RP id checks, and
 * the MFA gate (user verification counts as a second factor).
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server"
import * as OTPAuth from "otpauth"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Passkey from "../../src/plugins/passkey/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { Client, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { expectError, query } from "../support/security.js"
import { SoftAuthenticator } from "../support/webauthn.js"

/** The relying party comes from `publicUrl` (library.md §6 defaults). */
const publicUrl = "https://auth.example.test"
const rpId = "auth.example.test"

describe("the software authenticator", () => {
  it("produces what @simplewebauthn/server itself verifies: registration, then assertions with a rising counter", async () => {
    const authenticator = new SoftAuthenticator(publicUrl)
    const options = await generateRegistrationOptions({
      rpName: "Test",
      rpID: rpId,
      userName: "ada@example.com",
      userID: new TextEncoder().encode("ausr_test"),
      attestationType: "none",
    })
    const registration = authenticator.create(options)
    const registered = await verifyRegistrationResponse({
      response: registration,
      expectedChallenge: options.challenge,
      expectedOrigin: publicUrl,
      expectedRPID: rpId,
    })
    expect(registered.verified).toBe(true)
    const info = registered.registrationInfo!
    expect(info.fmt).toBe("none")
    expect(info.credential.id).toBe(registration.id)
    expect(info.userVerified).toBe(true)
    expect(info.credential.counter).toBe(0)

    let counter = 0
    for (let i = 0; i < 2; i++) {
      const request = await generateAuthenticationOptions({
        rpID: rpId,
        allowCredentials: [{ id: registration.id }],
      })
      const assertion = authenticator.get(request)
      expect(Buffer.from(assertion.response.userHandle, "base64url").toString()).toBe("ausr_test")
      const verified = await verifyAuthenticationResponse({
        response: assertion,
        expectedChallenge: request.challenge,
        expectedOrigin: publicUrl,
        expectedRPID: rpId,
        credential: { id: info.credential.id, publicKey: info.credential.publicKey, counter },
      })
      expect(verified.verified).toBe(true)
      expect(verified.authenticationInfo.newCounter).toBe(counter + 1)
      expect(verified.authenticationInfo.userVerified).toBe(true)
      counter = verified.authenticationInfo.newCounter
    }

    // And the verifier is not lenient with it: a flipped signature byte, another challenge, another origin fail.
    const request = await generateAuthenticationOptions({ rpID: rpId })
    const assertion = authenticator.get(request)
    const signature = Buffer.from(assertion.response.signature, "base64url")
    signature[signature.length - 1]! ^= 1
    const variants = [
      { response: { ...assertion, response: { ...assertion.response, signature: signature.toString("base64url") } } },
      { expectedChallenge: "another-challenge" },
      { response: authenticator.get(request, { origin: "https://evil.example" }) },
    ]
    for (const variant of variants) {
      const verified = await verifyAuthenticationResponse({
        response: assertion,
        expectedChallenge: request.challenge,
        expectedOrigin: publicUrl,
        expectedRPID: rpId,
        credential: { id: info.credential.id, publicKey: info.credential.publicKey, counter: 0 },
        ...variant,
      }).then(
        (result) => result.verified,
        () => false,
      )
      expect(verified).toBe(false)
    }
  })
})

describe("passkeys", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: {
        plugins: [Password.plugin(), Mfa.plugin(), Passkey.plugin()],
        publicUrl,
        emailVerification: { required: false },
        secret: "passkey-test-secret-0123456789-abcdefghijk",
      },
    })
  })
  afterAll(() => server?.close())

  const signedUp = async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("passkey")
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    return {
      client,
      email,
      auth: { token: signup.body.session_token as string, cookies: false },
      userId: signup.body.user.id,
    }
  }

  /** A user with one passkey on `authenticator`. */
  const withPasskey = async (authenticator = new SoftAuthenticator(publicUrl)) => {
    const user = await signedUp()
    const begin = await user.client.post("/passkeys/register/begin", undefined, user.auth)
    expect(begin.status).toBe(200)
    const finish = await user.client.post(
      "/passkeys/register/finish",
      { response: authenticator.create(begin.body.options), name: "Laptop" },
      user.auth,
    )
    expect(finish.status).toBe(200)
    return { ...user, authenticator, passkeyId: finish.body.id as string }
  }

  const loginBegin = async (client: Client, body: { email?: string } = {}) => {
    const begin = await client.post("/passkeys/login/begin", body)
    expect(begin.status).toBe(200)
    return begin.body as { options: any; ceremony_id: string }
  }

  const auditEvents = (userId: string, type: string) =>
    query(
      server.databaseUrl,
      "SELECT reason, metadata FROM authsome_audit_events WHERE user_id = $1 AND type = $2 ORDER BY id",
      [userId, type],
    )

  it("client-config reports passkeys", async () => {
    const config = await new Client(server.base).get("/client-config")
    expect(config.body.passkey).toEqual({ enabled: true })
    expect(config.body.supported_plugins).toEqual(expect.arrayContaining(["passkey", "mfa"]))
  })

  it("/openapi.json documents the MFA and passkey routes, and mfa_required with its fields", async () => {
    const { paths } = (await new Client(server.base).get("/openapi.json")).body
    const basePath = server.handlers.authsome.config.basePath
    for (const [method, path] of [
      ["post", "/mfa/enroll"],
      ["post", "/mfa/verify"],
      ["post", "/mfa/challenge"],
      ["post", "/mfa/challenge/enroll"],
      ["delete", "/mfa/enrollment"],
      ["post", "/mfa/recovery/regenerate"],
      ["post", "/passkeys/register/begin"],
      ["post", "/passkeys/register/finish"],
      ["post", "/passkeys/login/begin"],
      ["post", "/passkeys/login/finish"],
      ["get", "/passkeys"],
      ["patch", "/passkeys/{id}"],
      ["delete", "/passkeys/{id}"],
    ]) {
      expect(paths[`${basePath}${path}`]?.[method!], `${method} ${path}`).toBeDefined()
    }
    expect(paths[`${basePath}/signin`].post.responses["403"].description).toContain("mfa_required")
  })

  it("registers a passkey for the signed-in user (RP from publicUrl); lists, renames and deletes it", async () => {
    const user = await signedUp()
    expectError(await new Client(server.base).post("/passkeys/register/begin"), 401, "unauthorized")
    const begin = await user.client.post("/passkeys/register/begin", undefined, user.auth)
    expect(begin.status).toBe(200)
    const options = begin.body.options
    expect(options.rp).toEqual({ name: "Authsome", id: rpId })
    expect(options.user.name).toBe(user.email)
    expect(Buffer.from(options.user.id, "base64url").toString()).toBe(user.userId)
    expect(options.attestation).toBe("none")
    expect(options.excludeCredentials).toEqual([])

    const authenticator = new SoftAuthenticator(publicUrl)
    const created = authenticator.create(options)
    const finish = await user.client.post("/passkeys/register/finish", { response: created }, user.auth)
    expect(finish.status).toBe(200)
    expect(finish.body).toEqual({ id: expect.stringMatching(/^apsk_/), name: "Passkey" })
    expect(await auditEvents(user.userId, "auth.passkey.registered")).toHaveLength(1)

    // A second registration excludes the first credential; the same credential cannot be registered twice.
    const again = await user.client.post("/passkeys/register/begin", undefined, user.auth)
    expect(again.body.options.excludeCredentials).toEqual([
      { id: created.id, type: "public-key", transports: ["internal", "hybrid"] },
    ])
    const list = await user.client.get("/passkeys", user.auth)
    expect(list.body.passkeys).toEqual([
      {
        id: finish.body.id,
        name: "Passkey",
        device_type: "singleDevice",
        backed_up: false,
        transports: ["internal", "hybrid"],
        created_at: expect.any(String),
        last_used_at: null,
      },
    ])

    const renamed = await user.client.patch(`/passkeys/${finish.body.id}`, { name: "  Work laptop " }, user.auth)
    expect(renamed.status).toBe(200)
    expect(renamed.body.name).toBe("Work laptop")
    const exported = await user.client.get("/me/export", user.auth)
    expect(exported.body.passkeys).toEqual([renamed.body])

    // Another user sees none of it.
    const other = await signedUp()
    expect((await other.client.get("/passkeys", other.auth)).body.passkeys).toEqual([])
    expectError(await other.client.patch(`/passkeys/${finish.body.id}`, { name: "x" }, other.auth), 404, "not_found")
    expectError(await other.client.delete(`/passkeys/${finish.body.id}`, other.auth), 404, "not_found")
    expectError(await user.client.delete("/passkeys/not-an-id", user.auth), 404, "not_found")

    expect((await user.client.delete(`/passkeys/${finish.body.id}`, user.auth)).body).toEqual({ status: "deleted" })
    expect((await user.client.get("/passkeys", user.auth)).body.passkeys).toEqual([])
    expectError(await user.client.delete(`/passkeys/${finish.body.id}`, user.auth), 404, "not_found")
  })

  it("logs in by email: the options list the account's passkeys; the assertion signs in through the sign-in path", async () => {
    const user = await withPasskey()
    const client = new Client(server.base)
    const { options, ceremony_id } = await loginBegin(client, { email: user.email })
    expect(options.rpId).toBe(rpId)
    expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([
      user.authenticator.credentials[0]!.id.toString("base64url"),
    ])
    expect(ceremony_id).toMatch(/^apch_/)

    const finish = await client.post("/passkeys/login/finish", {
      ceremony_id,
      response: user.authenticator.get(options),
    })
    expect(finish.status).toBe(200)
    expect(finish.body.user.id).toBe(user.userId)
    expect(client.jar.get("authsome_session_token")).toBe(finish.body.session_token)
    const session = await client.get("/session", { token: finish.body.session_token, cookies: false })
    expect(session.status).toBe(200)
    const signins = await auditEvents(user.userId, "auth.signin")
    expect(signins.map((event) => event.metadata)).toContainEqual({
      method: "passkey",
      second_factor: "user_verification",
      session_id: session.body.session.id,
    })
    const [listed] = (await client.get("/passkeys", { token: finish.body.session_token, cookies: false })).body.passkeys
    expect(listed.last_used_at).not.toBeNull()
  })

  it("logs in without an email (discoverable): the authenticator picks the passkey, its user handle names the user", async () => {
    const user = await withPasskey()
    const client = new Client(server.base)
    const { options, ceremony_id } = await loginBegin(client)
    expect(options.allowCredentials ?? []).toEqual([])
    const finish = await client.post("/passkeys/login/finish", {
      ceremony_id,
      response: user.authenticator.get(options),
    })
    expect(finish.status).toBe(200)
    expect(finish.body.user.id).toBe(user.userId)
  })

  it("an unknown email, or one without passkeys, gets options of the same shape (no account enumeration)", async () => {
    const user = await withPasskey()
    const withoutPasskey = await signedUp()
    const client = new Client(server.base)
    const shape = (options: any) => ({
      keys: Object.keys(options).sort(),
      // (Credential id lengths differ between authenticators, so theirs tell nothing.)
      allow: options.allowCredentials.map((c: any) => ({
        keys: Object.keys(c).sort(),
        type: c.type,
        transports: c.transports,
      })),
    })
    const known = await loginBegin(client, { email: user.email })
    const unknownEmail = uniqueEmail("nobody")
    const unknown = await loginBegin(client, { email: unknownEmail })
    const none = await loginBegin(client, { email: withoutPasskey.email })
    expect(shape(unknown.options)).toEqual(shape(known.options))
    expect(shape(none.options)).toEqual(shape(known.options))
    // Asking again about the same email answers the same credentials, as for a real account.
    expect((await loginBegin(client, { email: unknownEmail })).options.allowCredentials).toEqual(
      unknown.options.allowCredentials,
    )
    expect((await loginBegin(client, { email: user.email })).options.allowCredentials).toEqual(
      known.options.allowCredentials,
    )
    // And the user's passkey cannot answer a ceremony for another account's email.
    const foreign = await loginBegin(client, { email: withoutPasskey.email })
    const assertion = user.authenticator.get(foreign.options, { credentialId: known.options.allowCredentials[0].id })
    expectError(
      await client.post("/passkeys/login/finish", { ceremony_id: foreign.ceremony_id, response: assertion }),
      401,
      "invalid_credentials",
    )
  })

  it("a challenge is answered once: a replayed login or registration is refused", async () => {
    const user = await withPasskey()
    const client = new Client(server.base)
    const { options, ceremony_id } = await loginBegin(client, { email: user.email })
    const body = { ceremony_id, response: user.authenticator.get(options) }
    expect((await client.post("/passkeys/login/finish", body)).status).toBe(200)
    expectError(await client.post("/passkeys/login/finish", body), 401, "invalid_credentials")
    // A fresh assertion (higher counter) cannot reuse the spent ceremony either.
    const fresh = { ceremony_id, response: user.authenticator.get(options) }
    expectError(await client.post("/passkeys/login/finish", fresh), 401, "invalid_credentials")
    expectError(
      await client.post("/passkeys/login/finish", { ...fresh, ceremony_id: "apch_01hzzzzzzzzzzzzzzzzzzzzzzz" }),
      401,
      "invalid_credentials",
    )

    // Registration: the same answer twice, and an answer to another user's challenge.
    const begin = await user.client.post("/passkeys/register/begin", undefined, user.auth)
    const registration = { response: new SoftAuthenticator(publicUrl).create(begin.body.options) }
    expect((await user.client.post("/passkeys/register/finish", registration, user.auth)).status).toBe(200)
    expectError(await user.client.post("/passkeys/register/finish", registration, user.auth), 400, "invalid_code")
    const other = await signedUp()
    const othersBegin = await other.client.post("/passkeys/register/begin", undefined, other.auth)
    const stolen = { response: new SoftAuthenticator(publicUrl).create(othersBegin.body.options) }
    expectError(await user.client.post("/passkeys/register/finish", stolen, user.auth), 400, "invalid_code")
  })

  it("a signature counter that does not increase (a cloned authenticator) is refused and audited", async () => {
    const user = await withPasskey()
    const client = new Client(server.base)
    const login = async (overrides = {}) => {
      const { options, ceremony_id } = await loginBegin(client, { email: user.email })
      return client.post("/passkeys/login/finish", {
        ceremony_id,
        response: user.authenticator.get(options, overrides),
      })
    }
    expect((await login()).status).toBe(200) // counter 1
    expect((await login()).status).toBe(200) // counter 2
    expectError(await login({ counter: 2 }), 401, "invalid_credentials")
    expectError(await login({ counter: 1 }), 401, "invalid_credentials")
    const suspected = await auditEvents(user.userId, "auth.passkey.clone_suspected")
    expect(suspected.map((event) => event.metadata)).toEqual([
      { passkey_id: user.passkeyId, stored_counter: 2, presented_counter: 2 },
      { passkey_id: user.passkeyId, stored_counter: 2, presented_counter: 1 },
    ])
    // The genuine authenticator, ahead of the clone, still signs in.
    expect((await login()).status).toBe(200)
  })

  it("an assertion or registration from another origin, or for another RP id, is refused", async () => {
    const user = await withPasskey()
    const client = new Client(server.base)
    for (const overrides of [
      { origin: "https://evil.example" },
      { origin: "http://auth.example.test" },
      { rpId: "evil.example" },
    ]) {
      const { options, ceremony_id } = await loginBegin(client, { email: user.email })
      const response = user.authenticator.get(options, overrides)
      expectError(await client.post("/passkeys/login/finish", { ceremony_id, response }), 401, "invalid_credentials")
    }
    for (const overrides of [{ origin: "https://evil.example" }, { rpId: "evil.example" }]) {
      const begin = await user.client.post("/passkeys/register/begin", undefined, user.auth)
      const response = new SoftAuthenticator(publicUrl).create(begin.body.options, overrides)
      expectError(await user.client.post("/passkeys/register/finish", { response }, user.auth), 400, "invalid_code")
    }
    expect((await user.client.get("/passkeys", user.auth)).body.passkeys).toHaveLength(1)
    const failures = await auditEvents(user.userId, "auth.signin.failed")
    expect(failures.map((event) => event.reason)).toEqual([
      "invalid_assertion",
      "invalid_assertion",
      "invalid_assertion",
    ])
  })

  it("MFA: a passkey sign-in without user verification needs the second factor; a user-verified one does not", async () => {
    const user = await withPasskey()
    const enrollment = await user.client.post("/mfa/enroll", {}, user.auth)
    const app = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrollment.body.secret) })
    expect((await user.client.post("/mfa/verify", { code: app.generate() }, user.auth)).status).toBe(200)

    const client = new Client(server.base)
    let { options, ceremony_id } = await loginBegin(client)
    const refused = await client.post("/passkeys/login/finish", {
      ceremony_id,
      response: user.authenticator.get(options, { userVerified: false }),
    })
    expectError(refused, 403, "mfa_required", ["mfa_ticket", "available_methods"])
    const completed = await client.post("/mfa/challenge", {
      mfa_ticket: refused.body.mfa_ticket,
      code: app.generate({ timestamp: Date.now() + 30_000 }),
    })
    expect(completed.status).toBe(200)
    const signins = await auditEvents(user.userId, "auth.signin")
    expect(signins.at(-1)!.metadata).toMatchObject({ method: "passkey", second_factor: "totp" })

    ;({ options, ceremony_id } = await loginBegin(client))
    const verified = await client.post("/passkeys/login/finish", {
      ceremony_id,
      response: user.authenticator.get(options),
    })
    expect(verified.status).toBe(200)
    // And a password sign-in still asks for the second factor.
    expectError(await client.post("/signin", { email: user.email, password: strongPassword }), 403, "mfa_required", [
      "mfa_ticket",
      "available_methods",
    ])
  })
})

describe("passkeys with a short challenge lifetime", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: {
        plugins: [
          Password.plugin(),
          Passkey.plugin({ rpId: "example.test", origins: ["https://app.example.test"], challengeTtl: "1 second" }),
        ],
        emailVerification: { required: false },
        secret: "passkey-test-secret-0123456789-abcdefghijk",
      },
    })
  })
  afterAll(() => server?.close())

  it("an expired challenge is refused; the configured RP id and origins are used", async () => {
    const client = new Client(server.base)
    const signup = await client.post("/signup", { email: uniqueEmail("ttl"), password: strongPassword })
    const auth = { token: signup.body.session_token, cookies: false }
    const authenticator = new SoftAuthenticator("https://app.example.test")
    let begin = await client.post("/passkeys/register/begin", undefined, auth)
    expect(begin.body.options.rp.id).toBe("example.test")
    expect(begin.body.options.timeout).toBe(1000)
    const late = authenticator.create(begin.body.options)
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expectError(await client.post("/passkeys/register/finish", { response: late }, auth), 400, "invalid_code")
    begin = await client.post("/passkeys/register/begin", undefined, auth)
    expect(
      (await client.post("/passkeys/register/finish", { response: authenticator.create(begin.body.options) }, auth))
        .status,
    ).toBe(200)

    const { options, ceremony_id } = (await client.post("/passkeys/login/begin", {})).body
    const assertion = authenticator.get(options)
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expectError(
      await client.post("/passkeys/login/finish", { ceremony_id, response: assertion }),
      401,
      "invalid_credentials",
    )
  })
})
