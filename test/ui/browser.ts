/**
 * Browser tests of the hosted pages: a real server (PostgreSQL, a real SMTP server, every built-in sign-in plugin,
 * the pages on) at `http://localhost:<port>` — passkeys need a host name, not an IP — driven by Debian's Chromium
 * through playwright-core. Every page a test visits can be checked with axe-core and for CSP violations.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import * as MagicLink from "../../src/plugins/magic-link/index.js"
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Passkey from "../../src/plugins/passkey/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { startServer, type TestServer } from "../support/http.js"
import { freePort } from "../support/smtp.js"

/** Debian's package (installed by `.ci/run`), or a Chromium named by `CHROMIUM`. */
export const chromiumPath = process.env["CHROMIUM"] ?? "/usr/bin/chromium"
export const hasChromium = existsSync(chromiumPath)
if (!hasChromium) console.warn(`browser tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium)`)

export interface UiServer extends TestServer {
  /** `http://localhost:<port>`: the pages' origin. */
  readonly pages: string
}

export const startUiServer = async (config: Record<string, unknown> = {}): Promise<UiServer> => {
  const port = await freePort()
  const pages = `http://localhost:${port}`
  const server = await startServer({
    port,
    config: {
      publicUrl: pages,
      ui: { enabled: true },
      plugins: [
        Password.plugin(),
        Organization.plugin(),
        Mfa.plugin(),
        Passkey.plugin(),
        MagicLink.plugin({ allowSignup: false }),
      ],
      ...config,
    },
  })
  return Object.assign(server, { pages })
}

export const launch = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-dev-shm-usage"] })

/** A page that records every CSP violation and page error it sees. */
export const openPage = async (context: BrowserContext) => {
  const page = await context.newPage()
  const problems: Array<string> = []
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(message.text())
  })
  page.on("pageerror", (error) => problems.push(error.message))
  return { page, problems }
}

const axeSource = readFileSync(
  join(dirname(createRequire(import.meta.url).resolve("axe-core/package.json")), "axe.min.js"),
  "utf8",
)

/** axe-core's serious and critical violations of the page (evaluated by the debugger: the page's CSP does not apply). */
export const accessibilityProblems = async (page: Page) => {
  await page.evaluate(`${axeSource};0`)
  const results = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as {
    violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: Array<string> }> }>
  }
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id}: ${violation.help} (${violation.nodes.map((n) => n.target.join(" ")).join(", ")})`,
    )
}

/** Every page's weight stays small (the limit is 100 KB, a slow phone's budget). */
export const pageBytes = async (page: Page) => (await page.content()).length

const screenshots = join(import.meta.dirname, "..", "..", "docs", "screenshots")

export const screenshot = async (page: Page, name: string) => {
  mkdirSync(screenshots, { recursive: true })
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })
}

/** The link of a mail (the first `{publicUrl}/...?token=...` in its text). */
export const linkIn = (text: string) => {
  const link = /https?:\/\/\S+\?token=[A-Za-z0-9_%-]+/.exec(text)?.[0]
  if (!link) throw new Error(`no link in the mail: ${text}`)
  return link
}
