/**
 * The SSRF guard of webhook targets (http-api.md §5): a target's host is resolved and refused when any of its
 * addresses is not a public unicast one — loopback, private, shared (CGNAT), link-local, unique-local, multicast,
 * unspecified, reserved, and IPv6 forms that embed such an IPv4 address (IPv4-mapped, NAT64). Delivery connects to
 * the address checked here (never resolving again), so a DNS answer changed after the check (rebinding) is not used.
 */
import { lookup } from "node:dns/promises"
import { BlockList, isIP } from "node:net"
import { Data, Effect } from "effect"

export class TargetRefused extends Data.TaggedError("TargetRefused")<{ readonly message: string }> {}

/** An address the target's host resolved to, all of which passed the guard. */
export interface CheckedTarget {
  readonly url: URL
  readonly address: string
  readonly family: 4 | 6
}

const blocked = new BlockList()
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (CGNAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, "ipv4")
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["100::", 64], // discard-only
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique-local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, "ipv6")
}

/** The 16 bytes of an IPv6 address (`isIP(address) === 6`). */
const ipv6Bytes = (address: string): Uint8Array => {
  let text = address.split("%")[0]!
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number)
    text = `${text.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`
  }
  const [head = "", tail] = text.split("::")
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16)))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...Array(8 - left.length - right.length).fill(0), ...right]
  const bytes = new Uint8Array(16)
  all.forEach((group, i) => {
    bytes[2 * i] = (group >> 8) & 0xff
    bytes[2 * i + 1] = group & 0xff
  })
  return bytes
}

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>) => prefix.every((byte, i) => bytes[i] === byte)

/** The IPv4 address an IPv6 one carries in its low 32 bits, for the forms that reach IPv4 hosts. */
const embeddedIpv4 = (address: string): string | undefined => {
  const bytes = ipv6Bytes(address)
  const mapped = startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) // ::ffff:a.b.c.d
  const compatible = startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) // ::a.b.c.d (deprecated)
  const nat64 = startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) // 64:ff9b::/96
  const translated = startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0]) // ::ffff:0:a.b.c.d (SIIT)
  if (!(mapped || compatible || nat64 || translated)) return undefined
  // `::` and `::1` are "compatible" in form but are their own (blocked) IPv6 addresses
  if (compatible && bytes[12] === 0 && bytes[13] === 0 && bytes[14] === 0) return undefined
  return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
}

/** Why `address` may not be a webhook target, or `undefined` for a public unicast address. */
export const refusalOf = (address: string): string | undefined => {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, "ipv4") ? `${address} is not a public address` : undefined
  if (family === 6) {
    const v4 = embeddedIpv4(address)
    if (v4 !== undefined) return blocked.check(v4, "ipv4") ? `${address} is not a public address` : undefined
    return blocked.check(address.split("%")[0]!, "ipv6") ? `${address} is not a public address` : undefined
  }
  return `${address} is not an IP address`
}

/** The URL of a target, or why it cannot be one: absolute http(s), with a host, without credentials. */
export const parseTargetUrl = (value: string): URL | string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return "must be an absolute URL"
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an https: or http: URL"
  if (url.hostname === "") return "must name a host"
  if (url.username !== "" || url.password !== "") return "must not carry credentials"
  return url
}

/** The URL's host as `lookup` and `isIP` take it (IPv6 literals without their brackets). */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1")

/**
 * Resolves the target's host (every address) and checks each; with `allowPrivate` only resolution is required.
 * Returns the first address, the one to connect to.
 */
export const checkTarget = (url: URL, allowPrivate: boolean): Effect.Effect<CheckedTarget, TargetRefused> =>
  Effect.gen(function* () {
    const host = hostOf(url)
    const literal = isIP(host)
    const addresses =
      literal !== 0
        ? [{ address: host, family: literal }]
        : yield* Effect.tryPromise({
            try: () => lookup(host, { all: true, verbatim: true }),
            catch: () => new TargetRefused({ message: `the host ${host} does not resolve` }),
          })
    if (addresses.length === 0) return yield* new TargetRefused({ message: `the host ${host} does not resolve` })
    if (!allowPrivate) {
      for (const { address } of addresses) {
        const refusal = refusalOf(address)
        if (refusal !== undefined) {
          return yield* new TargetRefused({
            message:
              literal !== 0
                ? `${refusal} (private targets are not allowed)`
                : `${host} resolves to ${address}: ${refusal} (private targets are not allowed)`,
          })
        }
      }
    }
    const first = addresses[0]!
    return { url, address: first.address, family: first.family === 6 ? 6 : 4 } satisfies CheckedTarget
  })
