/**
 * Recovery codes: the way in when the authenticator is lost. Ten per user, each 50 random bits written as
 * `xxxxx-xxxxx` in Crockford's base32 (no i, l, o, u: nothing to misread), shown once and stored as an HMAC keyed
 * by the server secret and salted with the user id, so a database dump cannot be brute-forced into usable codes.
 */
import { createHmac } from "node:crypto"
import { randomBuffer } from "../../domain/random.js"

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
const length = 10

export const recoveryCodeCount = 10

/** A fresh code, formatted for reading: `xxxxx-xxxxx`. */
export const newRecoveryCode = (): string => {
  const bytes = randomBuffer(length)
  const chars = Array.from(bytes, (byte) => alphabet[byte & 31]!).join("")
  return `${chars.slice(0, 5)}-${chars.slice(5)}`
}

/**
 * The canonical form of a typed code (case, spaces and dashes ignored; the look-alikes o, i, l read as 0, 1, 1),
 * or `undefined` when it cannot be a recovery code.
 */
export const normalizeRecoveryCode = (typed: string): string | undefined => {
  const canonical = typed.toLowerCase().replace(/[\s-]/g, "").replace(/o/g, "0").replace(/[il]/g, "1")
  return canonical.length === length && [...canonical].every((char) => alphabet.includes(char)) ? canonical : undefined
}

/** What the database stores for a user's code (`canonical` from `normalizeRecoveryCode`). */
export const recoveryCodeHash = (key: Buffer, userId: string, canonical: string): string =>
  createHmac("sha256", key).update(userId).update("\u0000").update(canonical).digest("hex")
