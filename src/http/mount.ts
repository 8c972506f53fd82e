/**
 * The same routes in the three forms hosts need: an Effect `HttpApp` (from the `Authsome` service), a web-standard
 * `(Request) => Promise<Response>` handler (Hono, Bun, Next.js route handlers) and a Node `(req, res)` handler
 * (node:http, Express). The engine is built once; `dispose` closes it (and its pool, when the layer owns one).
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpApp } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, type Layer, ManagedRuntime } from "effect"
import { Authsome, type AuthsomeShape } from "../engine.js"

export interface AuthsomeHandlers {
  readonly authsome: AuthsomeShape
  /** Web-standard handler. */
  readonly fetch: (request: Request) => Promise<Response>
  /** Node handler: `http.createServer(handlers.node)` or `app.use(handlers.node)` in Express. */
  readonly node: (request: IncomingMessage, response: ServerResponse) => void
  readonly dispose: () => Promise<void>
}

/** Builds the engine from `layer` (migrations run here) and returns its handlers. */
export const makeHandlers = async <E>(layer: Layer.Layer<Authsome, E>): Promise<AuthsomeHandlers> => {
  const runtime = ManagedRuntime.make(layer)
  try {
    const { authsome, node, fetch } = await runtime.runPromise(
      Effect.gen(function* () {
        const authsome = yield* Authsome
        const rt = yield* Effect.runtime<never>()
        return {
          authsome,
          node: yield* NodeHttpServer.makeHandler(authsome.httpApp),
          fetch: HttpApp.toWebHandlerRuntime(rt)(authsome.httpApp),
        }
      }),
    )
    return { authsome, node, fetch: (request) => fetch(request), dispose: () => runtime.dispose() }
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}
