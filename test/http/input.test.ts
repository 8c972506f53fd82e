/**
 * The input rules of http-api.md §3 "Hardening rules" over real HTTP on PostgreSQL (findings 5, 11 and 14 of the
 * black-box review): strings with U+0000 or lone surrogates and JSON nested deeper than 32 levels are 400, an email
 * is one mailbox and the mail goes to exactly that address, `image` is an http(s) URL, `details` never echo what was
 * sent, `Authorization` is exactly `Bearer <token>`, every GET answers HEAD, Node's own 431 has the envelope, and the
 * CSRF rule's own origin comes from `publicUrl` only.
 */
import { request as httpRequest } from "node:http"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Mailer } from "../../src/services/mail/index.js"
import { type ApiResponse, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { CheckedClient, expectError, expectInvalidRequest, expectSecurityHeaders, query } from "../support/security.js"
import { TestSmtp } from "../support/smtp.js"

const publicUrl = "https://auth.example.com"

/** JSON text nested `depth` levels deep (the outermost object counts as 1) around `1`. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`

describe("input rules", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: { emailVerification: { required: false }, publicUrl } })
  })
  afterAll(() => server?.close())

  const client = () => new CheckedClient(server.base)
  const signedUp = async () => {
    const email = uniqueEmail("input")
    const response = await client().post("/signup", { email, password: strongPassword })
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    return { email, ...(response.body as { session_token: string; user: { id: string } }) }
  }
  const bearer = (token: string) => ({ token, cookies: false }) as const
  /** POSTs a raw JSON text. */
  const raw = (method: string, path: string, text: string, token?: string) =>
    client().request(method, path, {
      rawBody: text,
      headers: { "content-type": "application/json" },
      ...(token ? { token, cookies: false } : {}),
    })

  it("U+0000 in any field of every public form and of PATCH /me is 400 invalid_request, never 500", async () => {
    const { session_token } = await signedUp()
    const nul = "a\u0000b"
    const bodies: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
      ["POST", "/signin", { email: `x${nul}@example.com`, password: strongPassword }],
      ["POST", "/signin", { username: `user${nul}`, password: strongPassword }],
      ["POST", "/signin", { email: uniqueEmail(), password: `pass${nul}word-long` }],
      ["POST", "/signup", { email: `x${nul}@example.com`, password: strongPassword }],
      ["POST", "/signup", { email: uniqueEmail(), password: strongPassword, username: `u${nul}ser` }],
      ["POST", "/signup", { email: uniqueEmail(), password: strongPassword, first_name: nul }],
      ["POST", "/signup", { email: uniqueEmail(), password: strongPassword, last_name: nul }],
      ["POST", "/signup", { email: uniqueEmail(), password: strongPassword, metadata: { note: nul } }],
      ["POST", "/signup", { email: uniqueEmail(), password: strongPassword, metadata: { [nul]: 1 } }],
      ["POST", "/forgot-password", { email: `x${nul}@example.com` }],
      ["POST", "/verify-email", { email: `x${nul}@example.com`, code: "123456" }],
      ["POST", "/verify-email", { token: `tok${nul}en` }],
      ["POST", "/verify-email/resend", { email: `x${nul}@example.com` }],
      ["POST", "/reset-password", { token: `tok${nul}en`, new_password: strongPassword }],
      ["PATCH", "/me", { first_name: nul }],
      ["PATCH", "/me", { metadata: { deep: { er: [nul] } } }],
    ]
    for (const [method, path, body] of bodies) {
      const response = await raw(method, path, JSON.stringify(body), method === "PATCH" ? session_token : undefined)
      expectError(response, 400, "invalid_request", ["details"])
    }
    // Nothing was written: no user with a NUL anywhere, and the profile is untouched.
    expect((await client().get("/me", bearer(session_token))).body.first_name).toBe(null)
  })

  it("lone surrogates in names or metadata are 400; a well-formed astral character is fine", async () => {
    const { session_token } = await signedUp()
    for (const text of [
      '{"first_name":"\\ud800"}',
      '{"last_name":"x\\udfffy"}',
      '{"metadata":{"k":"\\udbff"}}',
      '{"metadata":{"\\ud834":true}}',
      '{"metadata":{"list":["ok","\\ude00 tail"]}}',
    ]) {
      expectError(await raw("PATCH", "/me", text, session_token), 400, "invalid_request", ["details"])
    }
    const signup = await raw(
      "POST",
      "/signup",
      `{"email":"${uniqueEmail()}","password":"${strongPassword}","first_name":"\\udc00"}`,
    )
    expectError(signup, 400, "invalid_request", ["details"])
    const astral = await client().patch("/me", { first_name: "Ada 𝄞" }, bearer(session_token))
    expect(astral.status).toBe(200)
    expect(astral.body.first_name).toBe("Ada 𝄞")
  })

  it("JSON nested deeper than 32 levels is 400 (5,000 deep included); 32 levels are accepted", async () => {
    const { session_token, user } = await signedUp()
    // The outer object is level 1, so {"metadata": <31 levels>} is 32 levels.
    const ok = await raw("PATCH", "/me", `{"metadata":${nested(31)}}`, session_token)
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    for (const depth of [32, 5_000]) {
      const tooDeep = await raw("PATCH", "/me", `{"metadata":${nested(depth)}}`, session_token)
      expectError(tooDeep, 400, "invalid_request", ["details"])
    }
    const deepArray = await raw(
      "POST",
      "/signup",
      `{"email":"${uniqueEmail()}","password":${"[".repeat(5000)}${"]".repeat(5000)}}`,
    )
    expectError(deepArray, 400, "invalid_request", ["details"])
    const signin = await raw("POST", "/signin", `{"email":"a@example.com","password":"x","x":${nested(5_000)}}`)
    expectError(signin, 400, "invalid_request", ["details"])
    const stored = await query(server.databaseUrl, "SELECT metadata FROM authsome_users WHERE id = $1", [user.id])
    expect(JSON.stringify(stored[0]!["metadata"])).toBe(nested(31))
  })

  it("an email is one mailbox: lists, display names, quotes, comments and spaces are 400, and nothing is stored", async () => {
    const marker = `victim.${Date.now()}`
    const attempts = [
      `attacker@evil.com;${marker}.corp.com`,
      `ceo<attacker@evil.com>${marker}`,
      `${marker} <attacker@evil.com>`,
      `"${marker}"@example.com`,
      `attacker@evil.com,${marker}@corp.com`,
      `${marker}@example.com (comment)`,
      `${marker}@exa mple.com`,
      `${marker}@example..com`,
      `.${marker}@example.com`,
      `${"l".repeat(65)}@example.com`,
      `${marker}@${"d".repeat(64)}.com`,
    ]
    for (const email of attempts) {
      for (const path of ["/signup", "/forgot-password", "/verify-email/resend"]) {
        const body = path === "/signup" ? { email, password: strongPassword } : { email }
        expectInvalidRequest(await client().post(path, body), ["email"])
      }
    }
    const stored = await query(server.databaseUrl, "SELECT email FROM authsome_users WHERE email LIKE $1", [
      `%${marker}%`,
    ])
    expect(stored).toEqual([])
    // Ordinary addresses still work, trimmed and lower-cased.
    const email = `  O'Brien+Tag.${marker}@Sub.Example.COM `
    const ok = await client().post("/signup", { email, password: strongPassword })
    expect(ok.status).toBe(201)
    expect(ok.body.user.email).toBe(email.trim().toLowerCase())
  })

  it("mail goes to exactly the stored address: it is the one explicit envelope recipient", async () => {
    const smtp = await TestSmtp.create()
    try {
      const send = (to: string) =>
        Effect.runPromise(
          Effect.either(
            Effect.flatMap(Mailer, (mailer) => mailer.send({ to, subject: "hello", text: "hi" })).pipe(
              Effect.provide(Mailer.smtp(Redacted.make(smtp.url), "Authsome <no-reply@example.com>")),
            ),
          ),
        )
      // Strings that an address-list parser splits or reads a display name out of: either the server is asked for
      // exactly that string, or nothing is sent — never the attacker's address alone.
      for (const to of ["attacker@evil.com;corp.com", "ceo<attacker@evil.com>", "victim@corp.com, attacker@evil.com"]) {
        await send(to)
      }
      await send("plain@example.com")
      await smtp.waitFor("plain@example.com", /hello/)
      const recipients = smtp.received.flatMap((mail) => mail.to)
      expect(recipients).not.toContain("attacker@evil.com")
      expect(recipients.filter((r) => r === "plain@example.com")).toEqual(["plain@example.com"])
      for (const mail of smtp.received) expect(mail.to.length).toBe(1)
    } finally {
      await smtp.stop()
    }
  })

  it("`image` must be an http(s) URL", async () => {
    const { session_token } = await signedUp()
    for (const image of [
      "javascript:alert(document.cookie)",
      "JavaScript:alert(1)",
      " javascript:alert(1)",
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "vbscript:msgbox(1)",
      "//evil.example/a.png",
      "/relative.png",
      "ftp://example.com/a.png",
      "https://",
      `https://example.com/${"a".repeat(2100)}`,
    ]) {
      expectInvalidRequest(await client().patch("/me", { image }, bearer(session_token)), ["image"])
    }
    expect((await client().get("/me", bearer(session_token))).body.image).toBe(null)
    for (const image of ["https://cdn.example.com/a.png?size=64", "http://localhost:3000/me.jpg", null]) {
      const ok = await client().patch("/me", { image }, bearer(session_token))
      expect(ok.status).toBe(200)
      expect(ok.body.image).toBe(image)
    }
  })

  it("`details[].message` never echoes the submitted value", async () => {
    const { session_token } = await signedUp()
    const secret = "S3cr3t-Value-Never-Echoed"
    const requests: ReadonlyArray<() => Promise<ApiResponse>> = [
      () => client().post("/signup", { email: uniqueEmail(), password: strongPassword, username: `${secret} !` }),
      () => client().post("/signup", { email: `${secret}@`, password: strongPassword }),
      () => client().post("/signup", { email: uniqueEmail(), password: { secret } }),
      () => client().post("/signin", { username: { secret }, password: secret }),
      () => client().post("/signin", { email: 42, password: secret }),
      () => client().post("/verify-email", { email: uniqueEmail(), code: secret }),
      () => client().post("/refresh", { refresh_token: [secret] }),
      () =>
        client().post("/change-password", { current_password: [secret], new_password: secret }, bearer(session_token)),
      () => client().patch("/me", { image: `${secret}:x`, first_name: 5 }, bearer(session_token)),
    ]
    for (const request of requests) {
      const response = await request()
      expectError(response, 400, "invalid_request", ["details"])
      expect(response.body.details.length).toBeGreaterThan(0)
      expect(JSON.stringify(response.body)).not.toContain(secret)
      for (const detail of response.body.details) expect(detail.message).not.toMatch(/actual/)
    }
  })

  it("`Authorization` must be exactly `Bearer <token>`: anything around the token is no credential", async () => {
    const { session_token } = await signedUp()
    expect((await client().get("/session", bearer(session_token))).status).toBe(200)
    for (const authorization of [
      `Bearer ${session_token} extra`,
      `Bearer  ${session_token}`,
      `Bearer\t${session_token}`,
      `Bearer ${session_token},Bearer ${session_token}`,
      `Token ${session_token}`,
      session_token,
    ]) {
      const response = await client().get("/session", { headers: { authorization }, cookies: false })
      expectError(response, 401, "unauthorized")
    }
  })

  it("every GET route answers HEAD: the GET's status and headers, no body", async () => {
    const { session_token } = await signedUp()
    for (const [path, token] of [
      ["/health", undefined],
      ["/openapi.json", undefined],
      ["/client-config", undefined],
      ["/session", session_token],
      ["/me", session_token],
      ["/sessions", session_token],
      ["/devices", session_token],
      ["/me/export", session_token],
    ] as const) {
      const options = token ? bearer(token) : {}
      const get = await client().get(path, options)
      const head = await client().request("HEAD", path, options)
      expect(head.status, path).toBe(200)
      expect(get.status, path).toBe(200)
      expect(head.body, path).toBeUndefined()
      expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"))
      expect(head.headers.get("cache-control")).toBe("no-store")
    }
    expectError(await client().get("/me"), 401, "unauthorized")
    expect((await client().request("HEAD", "/me")).status).toBe(401)
    expect((await client().request("HEAD", "/no-such-route")).status).toBe(404)
    expect((await client().request("HEAD", "/signin")).status).toBe(404)
  })

  it("Node's own 431 for oversized headers carries the error envelope and the security headers", async () => {
    const url = new URL(`${server.base}/health`)
    const response = await new Promise<{ status: number; headers: Headers; body: string }>((resolve, reject) => {
      const request = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { "x-padding": "p".repeat(64 * 1024) } },
        (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => chunks.push(chunk))
          res.on("end", () => {
            const headers = new Headers()
            for (const [name, value] of Object.entries(res.headers))
              if (typeof value === "string") headers.set(name, value)
            resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString() })
          })
        },
      )
      request.on("error", reject)
      request.end()
    })
    expect(response.status).toBe(431)
    expect(response.headers.get("content-type")).toMatch(/^application\/json/)
    expect(JSON.parse(response.body)).toEqual({ error: expect.any(String), code: 431, type: "headers_too_large" })
    expectSecurityHeaders(response)
  })

  it("a change of password voids the reset tokens already mailed", async () => {
    const { email, session_token } = await signedUp()
    expect((await client().post("/forgot-password", { email })).status).toBe(200)
    const mail = await server.smtp.waitFor(email, /reset/i)
    const token = decodeURIComponent(/token=([A-Za-z0-9_%-]+)/.exec(mail.text)![1]!)
    const changed = await client().post(
      "/change-password",
      { current_password: strongPassword, new_password: "a changed passphrase 1" },
      bearer(session_token),
    )
    expect(changed.status).toBe(200)
    const reset = await client().post("/reset-password", { token, new_password: "the attacker's passphrase" })
    expectError(reset, 400, "invalid_code")
    expect((await client().post("/signin", { email, password: "a changed passphrase 1" })).status).toBe(200)
  })

  it("CSRF: the own origin is that of publicUrl; an Origin equal to the Host header is not trusted", async () => {
    const cookieClient = client()
    const signup = await cookieClient.post("/signup", { email: uniqueEmail("csrf"), password: strongPassword })
    expect(signup.status).toBe(201)
    expect(cookieClient.jar.get("authsome_session_token")).toBe(signup.body.session_token)
    // The request's Host is 127.0.0.1:<port>: an Origin matching it proves nothing.
    const hostOrigin = server.origin
    expectError(
      await cookieClient.patch("/me", { first_name: "Host" }, { headers: { origin: hostOrigin } }),
      403,
      "csrf_rejected",
    )
    expectError(
      await cookieClient.patch("/me", { first_name: "Host" }, { headers: { referer: `${hostOrigin}/settings` } }),
      403,
      "csrf_rejected",
    )
    expect((await cookieClient.get("/me")).body.first_name).toBe(null)
    const own = await cookieClient.patch("/me", { first_name: "Own" }, { headers: { origin: publicUrl } })
    expect(own.status).toBe(200)
    expect(own.body.first_name).toBe("Own")
  })
})
