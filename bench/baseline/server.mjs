// Baseline for the session check: a minimal node:http + pg server doing the same work by hand — hash the bearer
// token, one indexed query joining the session and its user, check expiry, answer JSON. No framework.
//
// With `BASELINE_FIBER=1` the same work runs inside one Effect fiber per request (the query through
// `Effect.async`), as any request to a server whose services are Effect services must: the cost of that constraint
// alone, measured in the same run (`bench/run.mjs` reports it beside the hand-written baseline).
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import pg from "pg"

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 25) })
const query = {
  name: "session-by-token",
  text: `SELECT s.id, s.user_id, s.app_id, s.env_id, s.org_id, s.expires_at, s.refresh_token_expires_at,
                s.last_activity_at, s.created_at, u.email, u.email_verified, u.first_name, u.last_name
           FROM authsome_sessions s JOIN authsome_users u ON u.id = s.user_id
          WHERE s.token_hash = $1 AND u.deleted_at IS NULL`,
}

const send = (res, [status, body]) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const internalError = [500, { error: "internal error", code: 500, type: "internal_error" }]

const tokenOf = (req) => {
  const header = req.headers.authorization ?? ""
  return header.startsWith("Bearer ") ? header.slice(7) : ""
}

const hashOf = (token) => createHash("sha256").update(token).digest("hex")

/** The answer to a session check from its row (or its absence). */
const answer = (row) => {
  if (!row) return [401, { error: "invalid session", code: 401, type: "unauthorized" }]
  if (row.expires_at.getTime() <= Date.now()) return [401, { error: "expired", code: 401, type: "session_expired" }]
  return [
    200,
    {
      user: { id: row.user_id, email: row.email, email_verified: row.email_verified, first_name: row.first_name },
      session: { id: row.id, user_id: row.user_id, app_id: row.app_id, expires_at: row.expires_at.toISOString() },
    },
  ]
}

const missing = [401, { error: "missing credentials", code: 401, type: "unauthorized" }]

const byHand = async (req, res) => {
  const token = tokenOf(req)
  if (!token) return send(res, missing)
  try {
    const { rows } = await pool.query({ ...query, values: [hashOf(token)] })
    send(res, answer(rows[0]))
  } catch {
    send(res, internalError)
  }
}

const inFibers = async () => {
  const { Effect, Runtime } = await import("effect")
  const run = Runtime.runFork(Runtime.defaultRuntime)
  const lookup = (hash) =>
    Effect.async((resume) =>
      pool.query({ ...query, values: [hash] }, (error, result) =>
        resume(error ? Effect.fail(error) : Effect.succeed(result.rows[0])),
      ),
    )
  return (req, res) => {
    const token = tokenOf(req)
    if (!token) return send(res, missing)
    const fiber = run(Effect.map(lookup(hashOf(token)), answer))
    fiber.addObserver((exit) => send(res, exit._tag === "Success" ? exit.value : internalError))
  }
}

const server = createServer(process.env.BASELINE_FIBER === "1" ? await inFibers() : byHand)
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.send?.("ready"))
process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))))
