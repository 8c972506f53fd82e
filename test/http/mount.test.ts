/**
 * One engine, every mount form of library.md §2: the Effect `HttpApp` in an Effect HTTP server (alone, and inside an
 * `HttpRouter` next to an app route), the web-standard `(Request) => Promise<Response>` handler called directly, and
 * the Node `(req, res)` handler inside Express next to an Express route. Plus the whole flow on the embedded
 * database (PGlite in memory) with the PostgreSQL store.
 */
import { createServer, type Server } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import express from "express"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Authsome } from "../../src/authsome.js"
import { makeHandlers } from "../../src/http/mount.js"
import * as Pglite from "../../src/layers/pglite.js"
import { PostgresStore } from "../../src/layers/postgres/index.js"
import * as Password from "../../src/plugins/password/index.js"
import {
  Client,
  engineLayer,
  listen,
  strongPassword,
  type TestServer,
  startServer,
  uniqueEmail,
} from "../support/http.js"

const config = { emailVerification: { required: false }, rateLimit: { enabled: false } } as const

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** Sign-up (verification off, so it signs in) and `GET /session` by bearer and by cookie, through one client. */
const signUpAndValidate = async (client: Client) => {
  const email = uniqueEmail("mount")
  const signup = await client.post("/signup", { email, password: strongPassword })
  expect(signup.status, JSON.stringify(signup.body)).toBe(201)
  expect(signup.body.user.email).toBe(email)
  expect(signup.cookies["authsome_session_token"]).toBe(signup.body.session_token)
  const byBearer = await client.get("/session", { token: signup.body.session_token, cookies: false })
  expect(byBearer.status).toBe(200)
  expect(byBearer.body.user.id).toBe(signup.body.user.id)
  const byCookie = await client.get("/session")
  expect(byCookie.status).toBe(200)
  expect(byCookie.body.session.id).toBe(byBearer.body.session.id)
  return signup.body
}

describe("mount forms", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config })
  })
  afterAll(() => server?.close())

  it("(a) the Effect HttpApp served by an Effect HTTP server, the engine built in the same Layer", async () => {
    const ServeAuth = Layer.unwrapEffect(Effect.map(Authsome, (authsome) => HttpServer.serve(authsome.httpApp)))
    const Live = ServeAuth.pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
      Layer.provideMerge(engineLayer(server.databaseUrl, config)),
    )
    const runtime = ManagedRuntime.make(Live)
    try {
      const { address, basePath } = await runtime.runPromise(
        Effect.all({
          address: HttpServer.addressWith((address) => Effect.succeed(address)),
          basePath: Effect.map(Authsome, (authsome) => authsome.config.basePath),
        }),
      )
      if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
      const origin = `http://127.0.0.1:${address.port}`
      expect(basePath).toBe("/v1/auth")
      const created = await signUpAndValidate(new Client(`${origin}${basePath}`))
      // Same database as the Node-mounted instance: a user of one is a user of the other.
      const other = await new Client(server.base).get("/session", { token: created.session_token, cookies: false })
      expect(other.status).toBe(200)
      // The engine keeps its base path: nothing is served outside it.
      const outside = await fetch(`${origin}/signup`, { method: "POST" })
      expect(outside.status).toBe(404)
      expect(await fetch(`${origin}${basePath}/health`).then((r) => r.json())).toEqual({ status: "healthy" })
    } finally {
      await runtime.dispose()
    }
  })

  it("(a') the HttpApp inside an Effect HttpRouter next to an app route", async () => {
    const authsome = server.handlers.authsome
    const router = HttpRouter.empty.pipe(
      HttpRouter.get("/hello", HttpServerResponse.unsafeJson({ hello: "effect" })),
      HttpRouter.all(`/${authsome.config.basePath.slice(1)}/*`, authsome.httpApp),
    )
    const runtime = ManagedRuntime.make(
      HttpServer.serve(router).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
      ),
    )
    try {
      const address = await runtime.runPromise(HttpServer.addressWith((a) => Effect.succeed(a)))
      if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
      const origin = `http://127.0.0.1:${address.port}`
      const hello = await fetch(`${origin}/hello`)
      expect(hello.status).toBe(200)
      expect(await hello.json()).toEqual({ hello: "effect" })
      await signUpAndValidate(new Client(`${origin}${authsome.config.basePath}`))
    } finally {
      await runtime.dispose()
    }
  })

  it("(b) the web-standard handler, called with Request objects", async () => {
    const { fetch: handle, authsome } = server.handlers
    const base = `http://auth.example.test${authsome.config.basePath}`
    const email = uniqueEmail("web")
    const signup = await handle(
      new Request(`${base}/signup`, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "web-handler-test" },
        body: JSON.stringify({ email, password: strongPassword }),
      }),
    )
    expect(signup).toBeInstanceOf(Response)
    expect(signup.status).toBe(201)
    expect(signup.headers.get("content-type")).toContain("application/json")
    expect(signup.headers.get("x-content-type-options")).toBe("nosniff")
    const body = (await signup.json()) as { user: { id: string; email: string }; session_token: string }
    expect(body.user.email).toBe(email)
    const cookies = signup.headers.getSetCookie()
    expect(cookies.some((c) => c.startsWith(`authsome_session_token=${body.session_token};`))).toBe(true)

    const session = await handle(
      new Request(`${base}/session`, { headers: { authorization: `Bearer ${body.session_token}` } }),
    )
    expect(session.status).toBe(200)
    const validated = (await session.json()) as { user: { id: string }; session: { user_agent: string } }
    expect(validated.user.id).toBe(body.user.id)
    expect(validated.session.user_agent).toBe("web-handler-test")

    const byCookie = await handle(
      new Request(`${base}/session`, { headers: { cookie: `authsome_session_token=${body.session_token}` } }),
    )
    expect(byCookie.status).toBe(200)

    const outside = await handle(new Request("http://auth.example.test/session"))
    expect(outside.status).toBe(404)
    const anonymous = await handle(new Request(`${base}/session`))
    expect(anonymous.status).toBe(401)
    expect(((await anonymous.json()) as { type: string }).type).toBe("unauthorized")
  })

  it("(c) the Node handler inside Express, next to an Express route", async () => {
    const app = express()
    app.get("/hello", (_request, response) => {
      response.json({ hello: "express" })
    })
    app.use(server.handlers.node)
    const { server: http, origin } = await listen(app)
    try {
      const hello = await fetch(`${origin}/hello`)
      expect(hello.status).toBe(200)
      expect(await hello.json()).toEqual({ hello: "express" })
      await signUpAndValidate(new Client(`${origin}${server.handlers.authsome.config.basePath}`))
      const health = await fetch(`${origin}/v1/auth/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: "healthy" })
      // The engine's routes stay under the base path.
      expect((await fetch(`${origin}/health`)).status).toBe(404)
    } finally {
      await closeServer(http)
    }
  })

  it("(c') as Express middleware it passes other paths on, and works under a mount path", async () => {
    const app = express()
    app.use(server.handlers.node)
    app.get("/after", (_request, response) => {
      response.json({ reached: true })
    })
    const mounted = express()
    mounted.use("/v1/auth", server.handlers.node)
    const first = await listen(app)
    const second = await listen(mounted)
    try {
      const after = await fetch(`${first.origin}/after`)
      expect(after.status).toBe(200)
      expect(await after.json()).toEqual({ reached: true })
      const health = await fetch(`${second.origin}/v1/auth/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: "healthy" })
      await signUpAndValidate(new Client(`${second.origin}/v1/auth`))
    } finally {
      await closeServer(first.server)
      await closeServer(second.server)
    }
  })
})

describe("embedded database (PGlite in memory)", () => {
  it("sign-up, sign-in, session, refresh and sign-out on the PostgreSQL store over PGlite", async () => {
    const layer = Authsome.layer({ plugins: [Password.plugin()], ...config }).pipe(
      Layer.provide(PostgresStore.layer),
      Layer.provide(Pglite.layer()),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
    )
    const handlers = await makeHandlers(layer)
    const { server: http, origin } = await listen(handlers.node)
    try {
      const client = new Client(`${origin}${handlers.authsome.config.basePath}`)
      const email = uniqueEmail("pglite")
      const signup = await client.post("/signup", { email, password: strongPassword })
      expect(signup.status, JSON.stringify(signup.body)).toBe(201)
      expect(signup.body.user.id).toMatch(/^ausr_/)

      const signin = await client.post("/signin", { email, password: strongPassword })
      expect(signin.status).toBe(200)
      expect(signin.body.user.id).toBe(signup.body.user.id)
      const wrong = await client.post("/signin", { email, password: "not the password at all" })
      expect(wrong.status).toBe(401)
      expect(wrong.body.type).toBe("invalid_credentials")

      const session = await client.get("/session", { token: signin.body.session_token, cookies: false })
      expect(session.status).toBe(200)
      expect(session.body.user.email).toBe(email)

      const refreshed = await client.post("/refresh", { refresh_token: signin.body.refresh_token }, { cookies: false })
      expect(refreshed.status).toBe(200)
      expect(refreshed.body.session_token).not.toBe(signin.body.session_token)
      expect(refreshed.body.refresh_token).not.toBe(signin.body.refresh_token)
      expect((await client.get("/session", { token: signin.body.session_token, cookies: false })).status).toBe(401)
      const current = await client.get("/session", { token: refreshed.body.session_token, cookies: false })
      expect(current.status).toBe(200)
      expect(current.body.session.id).toBe(session.body.session.id)

      const signout = await client.post("/signout", undefined, { token: refreshed.body.session_token, cookies: false })
      expect(signout.status).toBe(200)
      expect(signout.body).toEqual({ status: "signed out" })
      expect((await client.get("/session", { token: refreshed.body.session_token, cookies: false })).status).toBe(401)
      // The sign-up's own session is untouched.
      expect((await client.get("/session", { token: signup.body.session_token, cookies: false })).status).toBe(200)
      expect((await client.get("/health")).body).toEqual({ status: "healthy" })
    } finally {
      await closeServer(http)
      await handlers.dispose()
    }
  })
})
