import { connect, createServer, type Server, type Socket } from "node:net"

/**
 * A TCP proxy to PostgreSQL that can be taken down (closing every connection) and brought back, or pointed at another
 * server (a failover behind one address: new connections go to the new target).
 */
export const makeProxy = (host: string, port: number) => {
  let target = { host, port }
  let server: Server | undefined
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => socket.destroy())
  }
  return {
    start: (listenPort: number) =>
      new Promise<number>((resolve, reject) => {
        server = createServer((downstream) => {
          const upstream = connect(target.port, target.host)
          track(downstream)
          track(upstream)
          downstream.pipe(upstream).on("close", () => downstream.destroy())
          upstream.pipe(downstream).on("close", () => upstream.destroy())
          upstream.on("close", () => downstream.destroy())
          downstream.on("close", () => upstream.destroy())
        })
        server.once("error", reject)
        server.listen(listenPort, "127.0.0.1", () => {
          const address = server?.address()
          resolve(typeof address === "object" && address ? address.port : listenPort)
        })
      }),
    retarget: (host: string, port: number) => {
      target = { host, port }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        if (!server?.listening) return resolve()
        server.close(() => resolve())
      }),
  }
}

/** `databaseUrl` reached through a new proxy on a free port: the proxy, its port, and the URL that goes through it. */
export const proxied = async (databaseUrl: string) => {
  const target = new URL(databaseUrl)
  const proxy = makeProxy(target.hostname, Number(target.port || 5432))
  const port = await proxy.start(0)
  const url = new URL(databaseUrl)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  return { proxy, port, url: url.toString() }
}
