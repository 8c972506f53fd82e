/**
 * The root secret and what is derived from it (http-api.md §3 "Secrets"): keys for the hashes of short codes, and
 * AES-256-GCM encryption of what the server must read back (TOTP seeds, webhook signing keys, provider tokens),
 * each purpose under its own key derived by HKDF-SHA256. A database dump without the secret yields neither.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto"
import { Effect, Redacted } from "effect"
import { randomBuffer } from "../domain/random.js"
import { AuthConfig } from "./config.js"

/** Sealed values look like `v1.<iv>.<ciphertext>.<tag>` (base64url parts). */
const version = "v1"

export class SecretBox extends Effect.Service<SecretBox>()("authsome/SecretBox", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    let root: Buffer
    if (config.secret !== undefined) {
      root = Buffer.from(Redacted.value(config.secret), "utf8")
    } else {
      // A library host without a secret: an ephemeral one, so nothing falls back to a constant. What it sealed or
      // keyed cannot be read after a restart; the standalone server always has a secret (generated or configured).
      root = randomBuffer(32)
      yield* Effect.logWarning(
        "no `secret` configured: using an ephemeral one (sealed data and pending codes do not survive a restart)",
      )
    }
    const keys = new Map<string, Buffer>()
    /** The 32-byte key of `purpose` (e.g. "totp-seed", "webhook-secret", "code-hash"). */
    const keyFor = (purpose: string): Buffer => {
      let key = keys.get(purpose)
      if (key === undefined) {
        key = Buffer.from(hkdfSync("sha256", root, "authsome", `authsome:${purpose}`, 32))
        keys.set(purpose, key)
      }
      return key
    }

    /** Encrypts `plaintext` for `purpose` (a fresh 96-bit IV each time; the purpose is authenticated too). */
    const seal = (purpose: string, plaintext: string): string => {
      const iv = randomBuffer(12)
      const cipher = createCipheriv("aes-256-gcm", keyFor(purpose), iv)
      cipher.setAAD(Buffer.from(purpose))
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
      return [
        version,
        iv.toString("base64url"),
        body.toString("base64url"),
        cipher.getAuthTag().toString("base64url"),
      ].join(".")
    }

    /** Decrypts what `seal(purpose, ...)` produced; a tampered value, or one sealed under another secret, dies. */
    const open = (purpose: string, sealed: string): string => {
      const [v, iv, body, tag] = sealed.split(".")
      if (v !== version || iv === undefined || body === undefined || tag === undefined) {
        throw new Error(`not a sealed value (${purpose})`)
      }
      // The full 16-byte tag, always: GCM otherwise accepts a truncated one (down to 4 bytes), and a short tag makes
      // forging a sealed value that the server reads back (an MFA ticket) a matter of guessing.
      const decipher = createDecipheriv("aes-256-gcm", keyFor(purpose), Buffer.from(iv, "base64url"), {
        authTagLength: 16,
      })
      decipher.setAAD(Buffer.from(purpose))
      decipher.setAuthTag(Buffer.from(tag, "base64url"))
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8")
    }

    return { keyFor, seal, open } as const
  }),
}) {}
