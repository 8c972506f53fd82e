/**
 * Authsome as a web-standard `(Request) => Promise<Response>` handler, the shape Hono (`app.all("/api/auth/*",
 * (c) => handler(c.req.raw))`), Bun (`Bun.serve({ fetch: handler })`) and Next.js route handlers take. For a
 * Next.js `app/api/auth/[...all]/route.ts`: `export const { GET, POST, PATCH, PUT, DELETE } = await routeHandlers()`.
 */
import { Authsome, type AuthsomeOptions, makeHandlers, type StoreBackend, type StoreServices } from "authsome-ts"
import * as Password from "authsome-ts/password"
import { Layer } from "effect"

export const routeHandlers = async <E>(
  store: Layer.Layer<StoreServices | StoreBackend, E>,
  options: AuthsomeOptions = {},
) => {
  // The base path is the URL path the framework routes to the engine.
  const handlers = await makeHandlers(
    Authsome.layer({ ...options, basePath: "/api/auth", plugins: [Password.plugin()] }).pipe(Layer.provide(store)),
  )
  const handler = handlers.fetch
  return { GET: handler, POST: handler, PATCH: handler, PUT: handler, DELETE: handler, dispose: handlers.dispose }
}
