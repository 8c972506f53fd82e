/**
 * Authsome as a plain node:http handler: requests under its base path go to the engine, the rest to the app.
 * Run it: `DATABASE_URL=postgres://... npx tsx examples/mounts/node-http.ts`.
 */
import { createServer } from "node:http"
import { Authsome, type AuthsomeOptions, makeHandlers, type StoreBackend, type StoreServices } from "authsome-ts"
import * as Password from "authsome-ts/password"
import { Layer } from "effect"

export const serve = async <E>(
  store: Layer.Layer<StoreServices | StoreBackend, E>,
  port: number,
  options: AuthsomeOptions = {},
) => {
  const handlers = await makeHandlers(
    Authsome.layer({ ...options, plugins: [Password.plugin()] }).pipe(Layer.provide(store)),
  )
  const server = createServer((request, response) =>
    // `next` runs for requests outside the engine's base path (/v1/auth).
    handlers.node(request, response, () => {
      response.writeHead(200, { "content-type": "text/plain" }).end("hello from the app")
    }),
  )
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    server,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await handlers.dispose()
    },
  }
}
