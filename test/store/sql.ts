/** Support for the SQL backends: reading a user row past the stores' soft-delete filter. */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { RawUserReader, type RawUserRow } from "../../src/conformance/harness.js"

export const sqlRawUserReader: Layer.Layer<RawUserReader, never, SqlClient.SqlClient> = Layer.effect(
  RawUserReader,
  Effect.map(SqlClient.SqlClient, (client) => {
    const sql = client.withoutTransforms()
    return (id) =>
      sql<RawUserRow>`
        SELECT email, first_name AS "firstName", last_name AS "lastName", image, username, phone, metadata,
               deleted_at AS "deletedAt"
        FROM authsome_users WHERE id = ${id}`.pipe(
        Effect.map((rows) => rows[0]),
        Effect.orDie,
      )
  }),
)
