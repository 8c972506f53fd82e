/**
 * Authsome inside an Express app: mounted at `/api/auth` behind `express.json()` (the engine reads the parsed body),
 * next to the app's own routes. Run it: `DATABASE_URL=postgres://... npx tsx examples/mounts/express.ts`.
 */
import type { Server } from "node:http"
import { Authsome, type AuthsomeOptions, makeHandlers, type StoreBackend, type StoreServices } from "authsome-ts"
import * as Password from "authsome-ts/password"
import { Layer } from "effect"
import express from "express"

export const serve = async <E>(
  store: Layer.Layer<StoreServices | StoreBackend, E>,
  port: number,
  options: AuthsomeOptions = {},
) => {
  const handlers = await makeHandlers(
    Authsome.layer({ ...options, basePath: "/api/auth", plugins: [Password.plugin()] }).pipe(Layer.provide(store)),
  )
  const app = express()
  app.use(express.json())
  app.get("/hello", (_request, response) => void response.send("hello from the app"))
  app.use("/api/auth", handlers.node)
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(port, "127.0.0.1", () => resolve(listening))
  })
  return {
    server,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await handlers.dispose()
    },
  }
}
