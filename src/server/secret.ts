/**
 * The standalone server's root secret (http-api.md §3 "Secrets"). `AUTHSOME_SECRET` when set. On the embedded
 * database without it, one is generated at the first start and kept in the data directory (mode 0600), so pending
 * codes and sealed values survive restarts. With `DATABASE_URL` it is required: every instance on that database
 * must use the same one, so none may invent its own.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Redacted } from "effect"
import { minSecretLength } from "../config.js"
import { describeFileError, makeDirectories } from "../layers/directories.js"
import { randomBuffer } from "../domain/random.js"
import { InvalidSetting, type ServerSettings } from "./settings.js"

/** Where the embedded default keeps its generated secret. */
export const secretFile = (dataDir: string) => join(dataDir, "authsome-secret")

const howToMakeOne = "generate one with `openssl rand -base64 48` and set it on every instance"

/** Reads the kept secret, or creates it (exclusively: of two processes starting at once, one writes, both read). */
const keptSecret = (dataDir: string) =>
  Effect.try({
    try: () => {
      const path = secretFile(dataDir)
      makeDirectories(dataDir)
      try {
        writeFileSync(path, `${randomBuffer(48).toString("base64url")}\n`, { mode: 0o600, flag: "wx" })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      }
      chmodSync(path, 0o600)
      return readFileSync(path, "utf8").trim()
    },
    catch: (error) =>
      new InvalidSetting({
        name: "AUTHSOME_DATA_DIR",
        problem: `cannot keep the generated secret in ${dataDir}: ${describeFileError(error)}`,
      }),
  }).pipe(
    Effect.filterOrFail(
      (secret) => secret.length >= minSecretLength,
      () =>
        new InvalidSetting({
          name: "AUTHSOME_DATA_DIR",
          problem: `${secretFile(dataDir)} holds fewer than ${minSecretLength} characters; delete it to generate a new one`,
        }),
    ),
  )

/** The settings with a root secret, or why the server must not start. */
export const withRootSecret = (settings: ServerSettings): Effect.Effect<ServerSettings, InvalidSetting> => {
  if (settings.engine.secret !== undefined) return Effect.succeed(settings)
  if (settings.databaseUrl !== undefined) {
    return Effect.fail(
      new InvalidSetting({ name: "AUTHSOME_SECRET", problem: `required with DATABASE_URL; ${howToMakeOne}` }),
    )
  }
  return Effect.map(keptSecret(settings.dataDir), (secret) => ({
    ...settings,
    engine: { ...settings.engine, secret: Redacted.make(secret) },
  }))
}
