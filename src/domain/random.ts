/**
 * Cryptographically secure random bytes, drawn from a pool refilled 4 KiB at a time: every sign-in needs several
 * ids and tokens, and one `getrandom` call per value costs more than the rest of making them.
 */
import { randomFillSync } from "node:crypto"

const pool = Buffer.alloc(4096)
let offset = pool.length

/** Copies `length` fresh random bytes into `target` at `at`; no byte is handed out twice. */
export const fillRandom = (target: Uint8Array, at = 0, length = target.length - at): void => {
  if (length > pool.length) {
    randomFillSync(target, at, length)
    return
  }
  if (offset + length > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  pool.copy(target, at, offset, offset + length)
  // Used bytes are wiped so the pool never holds a value that left it.
  pool.fill(0, offset, offset + length)
  offset += length
}

export const randomBuffer = (length: number): Buffer => {
  const out = Buffer.allocUnsafe(length)
  fillRandom(out)
  return out
}
