/**
 * The client's address and scheme. `X-Forwarded-For` / `X-Forwarded-Proto` are believed only when the socket peer is
 * a trusted proxy; then the client is the right-most hop that is not itself a trusted proxy.
 */
import { BlockList, isIP } from "node:net"

const normalize = (address: string) => {
  const trimmed = address.trim()
  return trimmed.startsWith("::ffff:") && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed
}

export const makeProxyMatcher = (cidrs: ReadonlyArray<string>) => {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [network, bits] = cidr.split("/")
    const family = isIP(network ?? "")
    if (family === 0) throw new Error(`invalid trusted proxy ${cidr}`)
    const type = family === 4 ? "ipv4" : "ipv6"
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits)
    list.addSubnet(network!, prefix, type)
  }
  // `BlockList.check` builds a SocketAddress per call; clients come back, so answers are remembered.
  const known = new Map<string, boolean>()
  return (address: string): boolean => {
    const cached = known.get(address)
    if (cached !== undefined) return cached
    const ip = normalize(address)
    const family = isIP(ip)
    const trusted = family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6")
    if (known.size >= 10_000) known.clear()
    known.set(address, trusted)
    return trusted
  }
}

export interface ClientAddress {
  readonly ip: string | null
  readonly secure: boolean
}

export const clientAddress = (
  isTrusted: (address: string) => boolean,
  peer: string | undefined,
  forwardedFor: string | undefined,
  forwardedProto: string | undefined,
  directlySecure: boolean,
): ClientAddress => {
  if (peer === undefined) return { ip: null, secure: directlySecure }
  const socketIp = normalize(peer)
  if (!isTrusted(socketIp)) return { ip: socketIp, secure: directlySecure }
  let ip = socketIp
  if (forwardedFor) {
    const hops = forwardedFor
      .split(",")
      .map(normalize)
      .filter((hop) => isIP(hop) !== 0)
    for (let i = hops.length - 1; i >= 0; i--) {
      ip = hops[i]!
      if (!isTrusted(ip)) break
    }
  }
  const proto = forwardedProto?.split(",")[0]?.trim().toLowerCase()
  return { ip, secure: proto === undefined ? directlySecure : proto === "https" }
}
