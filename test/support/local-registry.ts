/**
 * An npm registry on 127.0.0.1 serving the packages installed in this project's `node_modules` (every version found
 * there, nested ones included), so a test can `npm install` a consumer project without any network: the packuments
 * are made from the installed `package.json`s, the tarballs packed on request from the installed folders.
 */
import { spawn } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { join } from "node:path"

interface Installed {
  readonly dir: string
  readonly manifest: Record<string, unknown>
}

/** What npm needs of a version's manifest to resolve and install it. */
const resolutionFields = [
  "name",
  "version",
  "dependencies",
  "optionalDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "bin",
  "engines",
  "os",
  "cpu",
  "libc",
] as const

const scan = (nodeModules: string, found: Map<string, Map<string, Installed>>) => {
  if (!existsSync(nodeModules)) return
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue
    const dirs = entry.name.startsWith("@")
      ? readdirSync(join(nodeModules, entry.name), { withFileTypes: true })
          .filter((inner) => inner.isDirectory())
          .map((inner) => join(nodeModules, entry.name, inner.name))
      : [join(nodeModules, entry.name)]
    for (const dir of dirs) {
      const file = join(dir, "package.json")
      if (existsSync(file)) {
        const manifest = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>
        const name = manifest.name as string | undefined
        const version = manifest.version as string | undefined
        if (name && version) {
          const versions = found.get(name) ?? new Map<string, Installed>()
          if (!versions.has(version)) versions.set(version, { dir, manifest })
          found.set(name, versions)
        }
      }
      scan(join(dir, "node_modules"), found)
    }
  }
}

const compareVersions = (a: string, b: string) => {
  const parts = (v: string) => v.split(/[.+-]/).map((part) => (/^\d+$/.test(part) ? Number(part) : part))
  const [x, y] = [parts(a), parts(b)]
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === y[i]) continue
    if (x[i] === undefined) return -1
    if (y[i] === undefined) return 1
    return typeof x[i] === "number" && typeof y[i] === "number"
      ? (x[i] as number) - (y[i] as number)
      : String(x[i]).localeCompare(String(y[i]))
  }
  return 0
}

export interface LocalRegistry {
  readonly url: string
  readonly close: () => Promise<void>
}

export const startLocalRegistry = async (projectRoot: string): Promise<LocalRegistry> => {
  const packages = new Map<string, Map<string, Installed>>()
  scan(join(projectRoot, "node_modules"), packages)

  let base = ""
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? "/").split("?")[0]!)
    const tarball = /^\/-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(path)
    if (tarball) {
      const installed = packages.get(tarball[1]!)?.get(tarball[2]!)
      if (!installed) return void response.writeHead(404).end()
      response.writeHead(200, { "content-type": "application/octet-stream" })
      // The folder as npm packs it: every file under `package/`, without its own installed dependencies.
      const tar = spawn("tar", [
        "-cz",
        "--exclude=./node_modules",
        "--transform=s,^\\.,package,",
        "-C",
        installed.dir,
        ".",
      ])
      tar.stdout.pipe(response)
      return
    }
    const name = path.slice(1)
    const versions = packages.get(name)
    if (!versions) return void response.writeHead(404, { "content-type": "application/json" }).end("{}")
    const sorted = [...versions.keys()].sort(compareVersions)
    const document = {
      name,
      "dist-tags": { latest: sorted.at(-1) },
      versions: Object.fromEntries(
        sorted.map((version) => {
          const { manifest } = versions.get(version)!
          const fields = Object.fromEntries(
            resolutionFields.flatMap((key) => (key in manifest ? [[key, manifest[key]]] : [])),
          )
          return [version, { ...fields, dist: { tarball: `${base}/-/tarball/${name}/${version}.tgz` } }]
        }),
      ),
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`
  return {
    url: base,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
