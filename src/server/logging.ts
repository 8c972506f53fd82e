/**
 * Logs of the standalone server: Effect's logger in the configured format and level, and the request log written
 * directly (one JSON or logfmt line per request, same shape as Effect's) — both through one batched stdout writer.
 */
import { Layer, Logger, LogLevel } from "effect"
import type { RequestLogEntry } from "../http/app.js"
import type { ServerSettings } from "./settings.js"

/**
 * Lines go out in batches: stdout to a file or pipe is synchronous on Linux, and a write is a system call (one per
 * request was a fifth of the server's CPU under load; one per turn of the event loop still a few percent). A batch
 * is written `flushAfterMs` after its first line or once it holds `flushAtLines`, and pending lines at exit.
 */
const flushAfterMs = 20
const flushAtLines = 256

const makeBatchedStdout = () => {
  let pending: Array<string> = []
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const out = `${pending.join("\n")}\n`
    pending = []
    process.stdout.write(out)
  }
  process.once("exit", flush)
  return (line: string) => {
    pending.push(line)
    if (pending.length >= flushAtLines) flush()
    else if (timer === undefined) timer = setTimeout(flush, flushAfterMs).unref()
  }
}

const levels = { debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warning, error: LogLevel.Error } as const

export const makeServerLogging = (settings: ServerSettings) => {
  const write = makeBatchedStdout()
  const minimum = Logger.minimumLogLevel(levels[settings.logLevel])
  if (settings.logFormat === "pretty") return { layer: Layer.merge(Logger.pretty, minimum), requestLog: undefined }
  const format = settings.logFormat === "json" ? Logger.jsonLogger : Logger.logfmtLogger
  const layer = Layer.merge(Logger.replace(Logger.defaultLogger, Logger.map(format, write)), minimum)
  const enabled = LogLevel.greaterThanEqual(LogLevel.Info, levels[settings.logLevel])
  const requestLog = (entry: RequestLogEntry) => {
    if (!enabled) return
    const timestamp = new Date().toISOString()
    write(
      settings.logFormat === "json"
        ? JSON.stringify({ message: "request", logLevel: "INFO", timestamp, annotations: entry })
        : `timestamp=${timestamp} level=INFO message=request request_id=${entry.request_id} method=${entry.method} ` +
            `route=${entry.route} status=${entry.status} duration_ms=${entry.duration_ms} ip=${entry.ip ?? ""}` +
            (entry.user_id ? ` user_id=${entry.user_id}` : ""),
    )
  }
  return { layer, requestLog }
}
