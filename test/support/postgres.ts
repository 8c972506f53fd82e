/**
 * Real PostgreSQL for tests: each test file gets its own fresh database (parallel-safe), dropped afterwards.
 * Tests using it skip only when no server is reachable; CI always has one.
 */
import { randomBytes } from "node:crypto"
import pg from "pg"

export const adminUrl = process.env.AUTHSOME_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const withAdmin = async <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export const postgresAvailable: boolean = await withAdmin(async () => true).catch(() => false)

const urlFor = (database: string) => {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/** Creates an empty database and returns its URL and a function dropping it. */
export const createDatabase = async (label = "t"): Promise<{ url: string; drop: () => Promise<void> }> => {
  const name = `authsome_${label}_${randomBytes(5).toString("hex")}`
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`))
  return {
    url: urlFor(name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  }
}
