/** Secret material: random tokens, hashes for storage, constant-time comparison. */
import { createHash, createHmac, randomInt, timingSafeEqual } from "node:crypto"
import { randomBuffer } from "../domain/random.js"

/** 32 random bytes (256 bits), base64url: session, refresh, reset, verification and invitation tokens. */
export const randomToken = (bytes = 32): string => randomBuffer(bytes).toString("base64url")

/** A uniformly random 6-digit code. */
export const sixDigitCode = (): string => randomInt(0, 1_000_000).toString().padStart(6, "0")

/** What the database stores for a high-entropy token: its SHA-256, hex. */
export const sha256Hex = (value: string): string => createHash("sha256").update(value).digest("hex")

/**
 * What the database stores for a low-entropy code (6 digits): an HMAC under `key` — `SecretBox.keyFor("code-hash")`,
 * derived from the root secret — salted with the row id, so a dump alone cannot be brute-forced into usable codes.
 */
export const codeHash = (code: string, salt: string, key: Uint8Array): string =>
  createHmac("sha256", key).update(salt).update("\u0000").update(code).digest("hex")

/** Constant-time equality of two strings (false on length mismatch, without an early exit on content). */
export const constantTimeEqual = (a: string, b: string): boolean => {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  if (left.length !== right.length) {
    timingSafeEqual(left, left)
    return false
  }
  return timingSafeEqual(left, right)
}
