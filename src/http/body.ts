/**
 * Reads a request body up to a limit. On Node the stream is read here rather than by the platform, whose limit
 * destroys the socket (the client would see a reset instead of 413): past the limit the rest is drained and dropped,
 * so the 413 response still reaches the client.
 */
import type { IncomingMessage } from "node:http"
import type { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { InvalidRequest, PayloadTooLarge } from "../domain/errors.js"

const isNodeRequest = (source: unknown): source is IncomingMessage =>
  typeof source === "object" && source !== null && "socket" in source && typeof (source as any).on === "function"

const readNode = (source: IncomingMessage, limit: number) =>
  Effect.async<string, PayloadTooLarge | InvalidRequest>((resume) => {
    if (source.readableEnded) return resume(Effect.succeed(""))
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    const finish = (result: Effect.Effect<string, PayloadTooLarge | InvalidRequest>) => {
      if (done) return
      done = true
      resume(result)
    }
    source.on("data", (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        chunks.length = 0
        finish(Effect.fail(new PayloadTooLarge()))
      } else chunks.push(chunk)
    })
    source.once("end", () => finish(Effect.sync(() => Buffer.concat(chunks).toString("utf8"))))
    source.once("error", () => finish(Effect.fail(new InvalidRequest({ message: "could not read the request body" }))))
  })

export const readText = (request: HttpServerRequest.HttpServerRequest, limit: number) => {
  const declared = Number(request.headers["content-length"] ?? "0")
  if (declared > limit) return Effect.fail(new PayloadTooLarge())
  if (isNodeRequest(request.source)) return readNode(request.source, limit)
  return request.text.pipe(
    Effect.mapError(() => new InvalidRequest({ message: "could not read the request body" })),
    Effect.filterOrFail(
      (text) => Buffer.byteLength(text) <= limit,
      () => new PayloadTooLarge(),
    ),
  )
}
