/**
 * PostgreSQL URLs with libpq's meaning of the TLS parameters, turned into `pg` client/pool options.
 *
 * `pg` reads `sslmode=require` (and `prefer`, `verify-ca`) as "verify the certificate and the host name"; libpq, psql
 * and the Go drivers read it as "encrypt, do not verify". Here every TLS parameter means what libpq says:
 *
 * | sslmode       | TLS                                    | certificate chain          | host name |
 * | ------------- | -------------------------------------- | -------------------------- | --------- |
 * | `disable`     | never                                  | —                          | —         |
 * | `allow`       | plain first, TLS if the server refuses | only if `sslrootcert`      | no        |
 * | `prefer`      | TLS first, plain if it fails           | only if `sslrootcert`      | no        |
 * | `require`     | always                                 | only if `sslrootcert`      | no        |
 * | `verify-ca`   | always                                 | yes (`sslrootcert` needed) | no        |
 * | `verify-full` | always                                 | yes                        | yes       |
 *
 * - No `sslmode` in the URL: `PGSSLMODE` if set (as libpq), else `prefer` (libpq's default). `PGSSLROOTCERT`,
 *   `PGSSLCERT`, `PGSSLKEY` likewise stand in for absent parameters.
 * - `sslrootcert`, `sslcert`, `sslkey` are file paths, read when the pool opens; `sslpassword` decrypts the key.
 *   `sslrootcert=system` trusts the system's public CAs and, as in libpq 16, demands `verify-full`.
 * - `verify-full` without `sslrootcert` checks against Node's public CAs (libpq would look for
 *   `~/.postgresql/root.crt`; no default files are read here). `verify-ca` without `sslrootcert` is refused: against
 *   public CAs it would accept any certificate they ever signed.
 * - `prefer`/`allow` fall back like libpq (TLS refused or failing, or the server rejecting the first attempt), but
 *   decide once, when the pool opens, by a trial connection; the pool then keeps that choice.
 * - Unix-socket hosts never use TLS (as libpq). `sslnegotiation=direct` passes to `pg` and needs `require` or stronger.
 * - `pg`'s own forms, when `sslmode` is absent: `ssl=true|1` means `verify-full` (as in `pg` and JDBC),
 *   `ssl=no-verify` means `require`, `ssl=false|0` means `disable`.
 *
 * The TLS parameters are stripped from the connection string handed to `pg`, so it does not re-interpret them.
 */
import { readFileSync } from "node:fs"
import { isIP } from "node:net"
import type { ConnectionOptions } from "node:tls"
import pg from "pg"

export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"

const sslModes: ReadonlyArray<SslMode> = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

/** A URL whose TLS parameters cannot work (bad value, missing file, a combination libpq refuses). */
export class ConnectionUrlError extends Error {
  override readonly name = "ConnectionUrlError"
}

type Env = Readonly<Record<string, string | undefined>>

export interface ConnectionUrl {
  /** Host (or Unix-socket directory) and port, for messages. */
  readonly host: string
  readonly port: number
  readonly sslmode: SslMode
  /** Where `sslmode` came from. */
  readonly sslmodeFrom: "url" | "PGSSLMODE" | "default"
  readonly sslrootcert: string | undefined
  readonly sslcert: string | undefined
  readonly sslkey: string | undefined
  readonly sslpassword: string | undefined
  readonly sslnegotiation: "postgres" | "direct" | undefined
  /** The URL without the TLS parameters, for `pg`'s `connectionString`. */
  readonly connectionString: string
  /** The password in the URL (decoded), to keep it out of messages. */
  readonly password: string | undefined
}

/** The options `connectionOptions` gives `pg`: spread them into a `pg.Pool`/`pg.Client` config. */
export interface PgConnectionOptions {
  readonly connectionString: string
  readonly ssl: false | ConnectionOptions
  readonly sslnegotiation?: "postgres" | "direct"
}

/** Query parameters handled here, stripped before `pg` sees the URL. */
const tlsParameters = new Set([
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslpassword",
  "sslnegotiation",
  "ssl",
  "uselibpqcompat",
])

const decode = (text: string) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "))
  } catch {
    return text
  }
}

/** The query split into raw `key=value` segments, keys decoded; the rest of the URL left byte for byte. */
const splitQuery = (url: string) => {
  const hash = url.indexOf("#")
  const withoutHash = hash === -1 ? url : url.slice(0, hash)
  const question = withoutHash.indexOf("?")
  if (question === -1) return { base: withoutHash, segments: [] as Array<{ key: string; value: string; raw: string }> }
  const segments = withoutHash
    .slice(question + 1)
    .split("&")
    .filter((raw) => raw !== "")
    .map((raw) => {
      const eq = raw.indexOf("=")
      return {
        key: decode(eq === -1 ? raw : raw.slice(0, eq)),
        value: eq === -1 ? "" : decode(raw.slice(eq + 1)),
        raw,
      }
    })
  return { base: withoutHash.slice(0, question), segments }
}

/** Host, port and password as `pg` reads them: query `host`/`port` win over the authority, then `PGHOST`/`PGPORT`. */
const authority = (base: string, query: Map<string, string>, env: Env) => {
  let url: URL | undefined
  let hostname = ""
  if (base.startsWith("/")) {
    hostname = base.split(" ")[0]! // pg's "/socket/dir database" form
  } else {
    try {
      url = new URL(base)
      hostname = decode(url.protocol === "socket:" ? url.pathname : url.hostname.replace(/^\[(.+)\]$/, "$1"))
    } catch {
      try {
        url = new URL(base.replace("@/", "@localhost/")) // no host: pg's defaults apply
      } catch {
        throw new ConnectionUrlError("the connection URL is not a valid URL")
      }
    }
  }
  const host = query.get("host") || hostname || env.PGHOST || "localhost"
  const port = Number(query.get("port") || url?.port || env.PGPORT || 5432)
  const password = query.get("password") || (url?.password ? decode(url.password) : undefined)
  return { host, port, password }
}

/** Parses `url` (libpq's meaning of the TLS parameters); throws `ConnectionUrlError`. Reads no files. */
export const parseConnectionUrl = (url: string, env: Env = process.env): ConnectionUrl => {
  const { base, segments } = splitQuery(url)
  const query = new Map<string, string>()
  for (const { key, value } of segments) query.set(key, value)
  const { host, port, password } = authority(base, query, env)

  const fromUrlOrEnv = (name: string) => {
    const value = query.get(name) ?? env[`PG${name.toUpperCase()}`]
    return value === undefined || value === "" ? undefined : value
  }
  const sslrootcert = fromUrlOrEnv("sslrootcert")

  let sslmode: SslMode
  let sslmodeFrom: ConnectionUrl["sslmodeFrom"]
  const given = query.get("sslmode") ?? legacySsl(query.get("ssl"))
  if (given !== undefined) {
    sslmodeFrom = "url"
    if (!sslModes.includes(given as SslMode)) {
      throw new ConnectionUrlError(`invalid sslmode "${given}" (expected one of ${sslModes.join(", ")})`)
    }
    sslmode = given as SslMode
  } else if (env.PGSSLMODE) {
    sslmodeFrom = "PGSSLMODE"
    if (!sslModes.includes(env.PGSSLMODE as SslMode)) {
      throw new ConnectionUrlError(`invalid PGSSLMODE "${env.PGSSLMODE}" (expected one of ${sslModes.join(", ")})`)
    }
    sslmode = env.PGSSLMODE as SslMode
  } else {
    sslmodeFrom = "default"
    sslmode = sslrootcert === "system" ? "verify-full" : "prefer"
  }

  const negotiation = query.get("sslnegotiation")
  if (negotiation !== undefined && negotiation !== "postgres" && negotiation !== "direct") {
    throw new ConnectionUrlError(`invalid sslnegotiation "${negotiation}" (expected postgres or direct)`)
  }
  if (negotiation === "direct" && !["require", "verify-ca", "verify-full"].includes(sslmode)) {
    throw new ConnectionUrlError(
      `sslnegotiation=direct needs sslmode=require, verify-ca or verify-full, not ${sslmode}`,
    )
  }
  if (sslrootcert === "system" && sslmode !== "verify-full" && sslmode !== "disable") {
    throw new ConnectionUrlError(`sslrootcert=system needs sslmode=verify-full, not ${sslmode}`)
  }

  const kept = segments.filter((segment) => !tlsParameters.has(segment.key)).map((segment) => segment.raw)
  return {
    host,
    port,
    sslmode,
    sslmodeFrom,
    sslrootcert,
    sslcert: fromUrlOrEnv("sslcert"),
    sslkey: fromUrlOrEnv("sslkey"),
    sslpassword: query.get("sslpassword") || undefined,
    sslnegotiation: negotiation,
    connectionString: kept.length === 0 ? base : `${base}?${kept.join("&")}`,
    password: password || undefined,
  }
}

const legacySsl = (ssl: string | undefined): SslMode | undefined => {
  if (ssl === "true" || ssl === "1") return "verify-full"
  if (ssl === "false" || ssl === "0") return "disable"
  if (ssl === "no-verify") return "require"
  return undefined
}

const readPem = (parameter: string, path: string) => {
  try {
    return readFileSync(path, "utf8")
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String(error)
    throw new ConnectionUrlError(`cannot read ${parameter} ${path}: ${reason}`)
  }
}

/** The `tls` options of a TLS attempt under `settings.sslmode` (reads the certificate files). */
const tlsOptions = (settings: ConnectionUrl): ConnectionOptions => {
  const options: ConnectionOptions = {}
  const { sslmode, sslrootcert, sslcert, sslkey } = settings
  if ((sslcert === undefined) !== (sslkey === undefined)) {
    throw new ConnectionUrlError("sslcert and sslkey go together: give both files or neither")
  }
  if (sslcert !== undefined && sslkey !== undefined) {
    options.cert = readPem("sslcert", sslcert)
    options.key = readPem("sslkey", sslkey)
    if (settings.sslpassword !== undefined) options.passphrase = settings.sslpassword
  }
  const rootcert = sslrootcert === "system" ? undefined : sslrootcert
  if (rootcert !== undefined) options.ca = readPem("sslrootcert", rootcert)
  if (sslmode === "verify-full") {
    options.rejectUnauthorized = true
  } else if (rootcert !== undefined) {
    // libpq: a root certificate given makes every mode check the chain; only verify-full checks the host name.
    options.rejectUnauthorized = true
    options.checkServerIdentity = () => undefined
  } else if (sslmode === "verify-ca") {
    throw new ConnectionUrlError(
      "sslmode=verify-ca needs sslrootcert=/path/ca.pem (the CA to check the server certificate against)",
    )
  } else {
    options.rejectUnauthorized = false
  }
  return options
}

/** `ssl` per attempt, in libpq's order: one for disable/require/verify-*, two for prefer (TLS, plain), allow. */
export const sslAttempts = (settings: ConnectionUrl): ReadonlyArray<false | ConnectionOptions> => {
  if (settings.host.startsWith("/")) return [false]
  switch (settings.sslmode) {
    case "disable":
      return [false]
    case "allow":
      return [false, tlsOptions(settings)]
    case "prefer":
      return [tlsOptions(settings), false]
    default:
      return [tlsOptions(settings)]
  }
}

const isServerError = (error: unknown): boolean => error instanceof pg.DatabaseError

const isTlsFailure = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : ""
  if (typeof code === "string" && code.startsWith("ERR_OSSL")) return false // our own key/cert files: no retry
  return (
    (typeof code === "string" && (certificateCodes.has(code) || /^ERR_(SSL|TLS)_/.test(code))) ||
    message === "The server does not support SSL connections" ||
    message === "There was an error establishing an SSL connection"
  )
}

/** Whether libpq would make the next attempt after `error` (the server refused or TLS failed; not the network). */
const fallsBack = (sslmode: SslMode, error: unknown) =>
  sslmode === "prefer" ? isServerError(error) || isTlsFailure(error) : sslmode === "allow" && isServerError(error)

/**
 * `pg` options for `url` with libpq's TLS meaning. For `prefer`/`allow` a trial connection (with `probe`'s settings,
 * e.g. `connectionTimeoutMillis`) picks TLS or plain; the failure of the last attempt is thrown as `pg` raised it.
 */
export const connectionOptions = async (
  url: string,
  probe: pg.ClientConfig = {},
  env: Env = process.env,
): Promise<PgConnectionOptions> => {
  const settings = parseConnectionUrl(url, env)
  const attempts = sslAttempts(settings)
  const options = (ssl: false | ConnectionOptions): PgConnectionOptions => ({
    connectionString: settings.connectionString,
    ssl,
    ...(settings.sslnegotiation ? { sslnegotiation: settings.sslnegotiation } : {}),
  })
  let failure: unknown
  for (const [i, ssl] of attempts.entries()) {
    const last = i === attempts.length - 1
    // The pool's first connection tries the last attempt, unless an earlier failure may be the one worth reporting.
    if (last && (failure === undefined || isNoTlsAnswer(failure))) return options(ssl)
    const client = new pg.Client({ ...probe, ...options(ssl) })
    client.on("error", () => {})
    try {
      await client.connect()
    } catch (error) {
      client.end().catch(() => {})
      if (last) throw moreTelling(failure, error)
      if (!fallsBack(settings.sslmode, error)) throw error
      failure = error
      continue
    }
    await client.end().catch(() => {})
    return options(ssl)
  }
  throw new Error("unreachable: no connection attempt")
}

const isNoTlsAnswer = (error: unknown) =>
  error instanceof Error && error.message === "The server does not support SSL connections"

/** The server refusing the encryption (or its absence) of an attempt, rather than the user, password or database. */
const isEncryptionRefusal = (error: unknown) =>
  isNoTlsAnswer(error) ||
  (error instanceof pg.DatabaseError &&
    /pg_hba\.conf/.test(error.message) &&
    /(no|SSL|GSS) encryption|SSL (off|on)/.test(error.message))

/** Of two failed attempts (prefer: TLS then plain; allow: plain then TLS), the one that says what is wrong. */
const moreTelling = (first: unknown, last: unknown) =>
  isEncryptionRefusal(last) && first !== undefined && !isEncryptionRefusal(first) ? first : last

// --- describing failures ------------------------------------------------------------------------------------------

/** Node's certificate verification failures (OpenSSL's X509_V_ERR_* names). */
const certificateCodes = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
])

const notValidCodes = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "INVALID_PURPOSE",
])

const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === "string") return code
  if (error instanceof AggregateError) return error.errors.map(errorCode).find((c) => c !== undefined)
  return undefined
}

const errorMessage = (error: unknown): string => {
  if (error instanceof AggregateError && error.message === "") {
    return error.errors.map(errorMessage).find((m) => m !== "") ?? ""
  }
  return error instanceof Error ? error.message : String(error)
}

const causeOf = (error: unknown, settings: ConnectionUrl | undefined): string => {
  const code = errorCode(error)
  const message = errorMessage(error)
  const sslmode = settings?.sslmode ?? "prefer"

  if (error instanceof ConnectionUrlError) return message
  if (message === "The server does not support SSL connections") {
    return `the server does not support TLS but sslmode=${sslmode}`
  }
  if (message === "There was an error establishing an SSL connection") {
    return "the server answered the TLS request with an error"
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") {
    const reason = (error as { reason?: unknown }).reason
    return `the server certificate does not match the host name (${typeof reason === "string" ? reason : message})`
  }
  if (code !== undefined && notValidCodes.has(code)) return `the server certificate is not valid (${message})`
  if (code !== undefined && certificateCodes.has(code)) {
    const hint = settings?.sslrootcert === undefined ? "; give the CA that signed it with sslrootcert=/path/ca.pem" : ""
    return `the server certificate is not trusted (${message})${hint}`
  }
  if (code?.startsWith("ERR_OSSL")) {
    return `cannot use the TLS key or certificates (${message}); check sslcert, sslkey, sslpassword and sslrootcert`
  }
  if (code?.startsWith("ERR_SSL_") || code?.startsWith("ERR_TLS_")) return `the TLS handshake failed (${message})`

  if (error instanceof pg.DatabaseError) {
    if (/pg_hba\.conf/.test(message)) {
      if (/no encryption|SSL off/.test(message) && sslmode === "disable") {
        return `the server requires TLS (${message}) but sslmode=disable`
      }
      return `the server's pg_hba.conf refuses the connection (${message})`
    }
    if (/client certificate/.test(message) && settings?.sslcert === undefined) {
      return `the server requires a client certificate (${message}); give one with sslcert and sslkey`
    }
    if (code === "28P01" || code === "28000") return `authentication failed (${message})`
    if (code === "3D000") return message
    return `${message} (SQLSTATE ${code})`
  }

  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is the server running and accepting TCP connections on that port?)"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host name not found (${message})`
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `the server is unreachable (${message})`
    case "ECONNRESET":
      return "the server closed the connection (ECONNRESET)"
  }
  if (/timeout expired|connection timeout|timeout exceeded when trying to connect/i.test(message)) {
    return "timed out while connecting"
  }
  if (message === "Connection terminated unexpectedly") return "the server closed the connection during start-up"
  return message || "unknown error"
}

const unwrap = (error: unknown): unknown => {
  // The SqlError of a failed connect: describe what it wraps.
  const tagged = error as { _tag?: unknown; cause?: unknown } | null
  return tagged?._tag === "SqlError" && tagged.cause !== undefined ? unwrap(tagged.cause) : error
}

const prefix = "cannot connect to PostgreSQL"

/**
 * One line naming why connecting to `url` failed and the sslmode in use, never the password: e.g.
 * `cannot connect to PostgreSQL at db.example.com:5432 (sslmode=verify-full): the server certificate is not trusted
 * (self-signed certificate in certificate chain)`.
 */
export const describeConnectionFailure = (error: unknown, url: string, env: Env = process.env): string => {
  let settings: ConnectionUrl | undefined
  let where = ""
  try {
    settings = parseConnectionUrl(url, env)
    const host = isIP(settings.host) === 6 ? `[${settings.host}]` : settings.host
    const from =
      settings.sslmodeFrom === "default"
        ? ", the default"
        : settings.sslmodeFrom === "PGSSLMODE"
          ? " from PGSSLMODE"
          : ""
    where = ` at ${host}:${settings.port} (sslmode=${settings.sslmode}${from})`
  } catch (parseError) {
    if (!(error instanceof ConnectionUrlError)) error = parseError
  }
  let line = `${prefix}${where}: ${causeOf(unwrap(error), settings)}`.replace(/\s*[\r\n]+\s*/g, " ")
  const password = settings?.password ?? passwordOf(url)
  if (password !== undefined && password.length >= 4) line = line.split(password).join("********")
  return line
}

const passwordOf = (url: string): string | undefined => {
  const match = /^[a-z]+:\/\/[^:/@]*:([^@/]*)@/i.exec(url)
  return match ? decode(match[1]!) : undefined
}
