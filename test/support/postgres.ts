/**
 * Real PostgreSQL for tests: each test file gets its own fresh database (parallel-safe), dropped afterwards.
 * The server is the one test/global-setup.ts chose: the configured one (AUTHSOME_TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres) when it answers, else an embedded one it started. Never skipped.
 */
import { randomBytes } from "node:crypto"
import pg from "pg"
import { inject } from "vitest"

const provided = inject("postgresAdminUrl")
if (!provided) throw new Error("no PostgreSQL for tests: test/global-setup.ts is not registered in vitest.config.ts")

/** A role that may create and drop databases, on its database `postgres`. */
export const adminUrl: string = provided

const withAdmin = async <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

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
