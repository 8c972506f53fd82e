/**
 * Authsome inside an Effect HTTP server, mounted with `HttpRouter.mountApp` next to the app's own routes.
 * Run it: `DATABASE_URL=postgres://... npx tsx examples/mounts/effect-router.ts` (or call `serve` from your code).
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Authsome, type AuthsomeOptions, type StoreBackend, type StoreServices } from "authsome-ts"
import * as Password from "authsome-ts/password"
import { Effect, Layer } from "effect"

/** The engine on `store` (`PostgresStore.layer` over `Pg.layer(...)`, or `MemoryStore.layer`), served on `port`. */
export const serve = <E>(
  store: Layer.Layer<StoreServices | StoreBackend, E>,
  port: number,
  options: AuthsomeOptions = {},
) => {
  const AuthLive = Authsome.layer({ ...options, basePath: "/auth", plugins: [Password.plugin()] }).pipe(
    Layer.provide(store),
  )
  const App = Layer.unwrapEffect(
    Effect.map(Authsome, (authsome) =>
      HttpRouter.empty.pipe(
        HttpRouter.get("/hello", HttpServerResponse.text("hello from the app")),
        // The engine's routes under /auth (its basePath; the mount path is what clients see).
        HttpRouter.mountApp("/auth", authsome.httpApp),
        HttpServer.serve(),
      ),
    ),
  )
  return App.pipe(
    Layer.provide(AuthLive),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
  )
}
