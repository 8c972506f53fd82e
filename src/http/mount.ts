/**
 * The same routes in the three forms hosts need: an Effect `HttpApp` (from the `Authsome` service), a web-standard
 * `(Request) => Promise<Response>` handler (Hono, Bun, Next.js route handlers) and a Node `(req, res)` handler
 * (node:http, Express). The engine is built once; `dispose` closes it (and its pool, when the layer owns one).
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Effect, type Layer, ManagedRuntime, Runtime } from "effect"
import { Authsome, type AuthsomeShape } from "../authsome.js"
import { fromWeb, toNodeHandler, toWeb } from "./adapters.js"

export interface AuthsomeHandlers<R = Authsome> {
  readonly authsome: AuthsomeShape
  /** Web-standard handler. */
  readonly fetch: (request: Request) => Promise<Response>
  /**
   * Node handler: `http.createServer(handlers.node)`, or Express middleware (`app.use(handlers.node)`, also under a
   * mount path): with a `next`, requests outside the base path go on to the host's routes.
   */
  readonly node: (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void
  /** Runs an Effect on the engine's services (the stores, `Sessions`, a plugin's services, ...) without HTTP. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<A>
  readonly dispose: () => Promise<void>
}

/** Builds the engine from `layer` (migrations run here) and returns its handlers. */
export const makeHandlers = async <R, E>(
  layer: Layer.Layer<R | Authsome, E>,
): Promise<AuthsomeHandlers<R | Authsome>> => {
  const runtime = ManagedRuntime.make(layer)
  try {
    const { authsome, engineRuntime } = await runtime.runPromise(
      Effect.all({ authsome: Authsome, engineRuntime: Effect.runtime<never>() }),
    )
    const node = toNodeHandler(engineRuntime, authsome.handle)
    const run = Runtime.runPromise(engineRuntime)
    const fetch = (request: Request) => run(authsome.handle(fromWeb(request))).then(toWeb)
    const basePath = authsome.config.basePath
    const inBasePath = (url: string) => {
      const path = url.split("?", 1)[0]!
      return path === basePath || path.startsWith(`${basePath}/`)
    }
    return {
      authsome,
      node: (request, response, next) => {
        // Express hands a mounted handler (`app.use("/auth", handler)`) the rest of the path in `url` and the mount
        // path in `baseUrl`: the routes are then under the mount path. Unmounted, they are under `basePath`.
        const express = request as IncomingMessage & { baseUrl?: string }
        if (express.baseUrl) return node(request, response, request.url ?? "/", express.baseUrl)
        const url = request.url ?? "/"
        if (next !== undefined && !inBasePath(url) && !authsome.isPage(url)) return next()
        node(request, response, url)
      },
      fetch,
      run: (effect) => runtime.runPromise(effect),
      dispose: () => runtime.dispose(),
    }
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}
