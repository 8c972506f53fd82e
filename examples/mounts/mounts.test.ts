/**
 * Each mount example, run as written on the memory store: the app's own route answers, and sign-up, the session
 * check by bearer and by cookie, and a cookie refresh (its cookie path is the mount path) work under the mount.
 */
import { createServer } from "node:net"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { HttpServer } from "@effect/platform"
import { MemoryStore } from "authsome-ts/memory"
import { describe, expect, it } from "vitest"
import { serve as serveEffect } from "./effect-router.js"
import { serve as serveExpress } from "./express.js"
import { routeHandlers } from "./fetch-handler.js"
import { serve as serveNode } from "./node-http.js"

const store = Layer.merge(MemoryStore.layer, Logger.minimumLogLevel(LogLevel.Warning))
/** The engine's options for a server at `origin`: its own origin is what the CSRF rule accepts for cookie calls. */
const optionsAt = (origin: string) => ({ emailVerification: { required: false }, publicUrl: origin }) as const

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

/** A client of one origin with a cookie jar, like a browser for that origin. */
const browser = (origin: string, fetchFn: (request: Request) => Promise<Response> = fetch) => {
  const jar = new Map<string, { value: string; path: string }>()
  return async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = { origin }
    if (body !== undefined) headers["content-type"] = "application/json"
    if (token) headers["authorization"] = `Bearer ${token}`
    // Like a browser: a cookie goes only to the paths under its own.
    const sent = [...jar].filter(([, cookie]) => path.startsWith(cookie.path))
    if (sent.length > 0) headers["cookie"] = sent.map(([name, cookie]) => `${name}=${cookie.value}`).join("; ")
    const response = await fetchFn(
      new Request(`${origin}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) }),
    )
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";")
      const [name, value] = pair!.split("=")
      const cookiePath = attributes.find((a) => a.trim().toLowerCase().startsWith("path="))?.split("=")[1] ?? "/"
      jar.set(name!.trim(), { value: value!, path: cookiePath })
    }
    const text = await response.text()
    return {
      status: response.status,
      body: text.startsWith("{") ? JSON.parse(text) : text,
      cookies: response.headers.getSetCookie(),
    }
  }
}

const exercise = async (call: ReturnType<typeof browser>, base: string) => {
  const signup = await call("POST", `${base}/signup`, {
    email: `m.${Date.now()}@example.com`,
    password: "correct horse battery staple",
  })
  expect(signup.status, JSON.stringify(signup.body)).toBe(201)
  const refreshCookie = signup.cookies.find((c) => /^(__Secure-)?authsome_refresh_token=/.test(c))!
  expect(refreshCookie).toContain(`Path=${base}/refresh`)
  expect((await call("GET", `${base}/session`)).status).toBe(200)
  const refreshed = await call("POST", `${base}/refresh`)
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
  expect((await call("GET", `${base}/session`, undefined, refreshed.body.session_token)).status).toBe(200)
  const health = await call("GET", `${base}/health`)
  expect(health.body).toEqual({ status: "healthy" })
}

describe("mount examples", () => {
  it("Effect: HttpRouter.mountApp next to an app route", async () => {
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}`
    const runtime = ManagedRuntime.make(serveEffect(store, port, optionsAt(origin)))
    try {
      await runtime.runPromise(HttpServer.addressWith((a) => Effect.succeed(a)))
      expect(await (await fetch(`${origin}/hello`)).text()).toBe("hello from the app")
      await exercise(browser(origin), "/auth")
    } finally {
      await runtime.dispose()
    }
  })

  it("Express: mounted at /api/auth behind express.json()", async () => {
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}`
    const app = await serveExpress(store, port, optionsAt(origin))
    try {
      expect(await (await fetch(`${origin}/hello`)).text()).toBe("hello from the app")
      await exercise(browser(origin), "/api/auth")
    } finally {
      await app.close()
    }
  })

  it("node:http: the engine's routes and the app's next to them", async () => {
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}`
    const app = await serveNode(store, port, optionsAt(origin))
    try {
      expect(await (await fetch(`${origin}/hello`)).text()).toBe("hello from the app")
      await exercise(browser(origin), "/v1/auth")
    } finally {
      await app.close()
    }
  })

  it("web fetch handler (Hono, Bun, Next.js route handlers)", async () => {
    const handlers = await routeHandlers(store, optionsAt("https://app.example.test"))
    try {
      const dispatch = (request: Request) => (handlers as any)[request.method](request) as Promise<Response>
      await exercise(browser("https://app.example.test", dispatch), "/api/auth")
    } finally {
      await handlers.dispose()
    }
  })
})
