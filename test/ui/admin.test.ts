/**
 * The admin console in Chromium: the first user of the default app (the owner) uses it; every tab passes axe-core
 * without a CSP violation; a user without the permissions gets no console.
 */
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startReceiver } from "../support/webhooks.js"
import { Client, signUpAndSignIn, strongPassword, uniqueEmail } from "../support/http.js"
import {
  accessibilityProblems,
  hasChromium,
  launch,
  openPage,
  pageBytes,
  screenshot,
  startUiServer,
  type UiServer,
} from "./browser.js"

describe.skipIf(!hasChromium)("the admin console in Chromium", () => {
  let server: UiServer
  let browser: Browser
  const contexts: Array<BrowserContext> = []
  let owner: string
  let ownerToken: string

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([
      startUiServer({
        webhooks: { allowPrivateTargets: true, retrySchedule: ["100 millis"], pollInterval: "100 millis" },
      }),
      launch(),
    ])
    owner = uniqueEmail("ui-owner")
    const client = new Client(server.base)
    const { session_token: token } = await signUpAndSignIn(server, client, owner)
    ownerToken = token
    const org = await client.post("/orgs", { name: "Console Org", slug: "console-org" }, { token, cookies: false })
    expect(org.status).toBe(201)
  }, 60_000)

  afterAll(async () => {
    for (const context of contexts) await context.close()
    await browser?.close()
    await server?.close()
  })

  const signedInPage = async (email: string) => {
    const context = await browser.newContext()
    contexts.push(context)
    const opened = await openPage(context)
    await opened.page.goto(`${server.pages}/sign-in`)
    await opened.page.getByRole("form", { name: "Sign in" }).getByLabel("Email").fill(email)
    await opened.page.getByLabel("Password").fill(strongPassword)
    await opened.page.getByRole("button", { name: "Sign in", exact: true }).click()
    await expect.poll(() => opened.page.url()).toBe(`${server.pages}/account`)
    return opened
  }

  const checkPage = async (page: Page) => {
    expect(await accessibilityProblems(page), page.url()).toEqual([])
    expect(await pageBytes(page)).toBeLessThan(100_000)
  }

  it("every tab renders accessibly; roles: the built-in ones with their permissions, a new role with a permission", async () => {
    const { page, problems } = await signedInPage(owner)
    for (const tab of [
      "/admin",
      "/admin/users",
      "/admin/organizations",
      "/admin/webhooks",
      "/admin/audit",
      "/admin/apps",
    ]) {
      await page.goto(`${server.pages}${tab}`)
      await expect.poll(() => page.getByRole("heading", { name: "Administration" }).count()).toBe(1)
      await checkPage(page)
      if (tab === "/admin/organizations") {
        expect(await page.getByRole("cell", { name: "console-org", exact: true }).count()).toBe(1)
      }
    }
    await page.getByRole("link", { name: "Roles" }).click()
    for (const slug of ["user", "admin", "owner"]) {
      expect(await page.getByRole("cell", { name: slug, exact: true }).count()).toBe(1)
    }
    expect(await page.getByText("*:*").count()).toBeGreaterThan(0)
    await checkPage(page)
    const slug = `auditor-${Date.now()}`
    await page.getByRole("form", { name: "Roles" }).getByLabel("Name").fill("Auditor")
    await page.getByRole("form", { name: "Roles" }).getByLabel("Slug").fill(slug)
    await page.getByRole("button", { name: "Create" }).click()
    await expect.poll(() => page.getByRole("cell", { name: slug, exact: true }).count()).toBe(1)
    await page.getByRole("textbox", { name: `Permissions (${slug})` }).fill("audit:read")
    await page
      .getByRole("row", { name: new RegExp(slug) })
      .getByRole("button", { name: "Add" })
      .click()
    await expect
      .poll(() =>
        page
          .getByRole("row", { name: new RegExp(slug) })
          .getByText("audit:read")
          .count(),
      )
      .toBe(1)
    const member = uniqueEmail("ui-auditor")
    const { user } = await signUpAndSignIn(server, new Client(server.base), member)
    await page.getByRole("textbox", { name: `Give this role to (email) (${slug})` }).fill(member)
    await page
      .getByRole("row", { name: new RegExp(slug) })
      .getByRole("button", { name: "Assign" })
      .click()
    await expect.poll(() => page.getByText("Saved.").count()).toBe(1)
    const given = await new Client(server.base).get(`/users/${user.id}/roles`, { token: ownerToken, cookies: false })
    expect(JSON.stringify(given.body)).toContain(slug)
    await screenshot(page, "admin-roles")
    expect(problems).toEqual([])
  })

  it("an admin bans a user: the user's open page loses its session on its next request", async () => {
    const email = uniqueEmail("ui-banned")
    await signUpAndSignIn(server, new Client(server.base), email)
    const user = await signedInPage(email)
    const admin = await signedInPage(owner)
    await admin.page.getByRole("link", { name: "Admin" }).click()
    await admin.page.getByRole("link", { name: "Users" }).click()
    await admin.page.getByRole("searchbox", { name: "Email" }).fill(email)
    await admin.page.getByRole("button", { name: "Search" }).click()
    await expect.poll(() => admin.page.getByRole("row").count()).toBe(2)
    await checkPage(admin.page)
    await screenshot(admin.page, "admin-users")
    await admin.page.getByRole("textbox", { name: `Reason (${email})` }).fill("spam")
    await admin.page.getByRole("button", { name: `Ban ${email}` }).click()
    await expect.poll(() => admin.page.getByText("banned", { exact: true }).count()).toBe(1)

    await user.page.reload()
    expect(user.page.url()).toBe(`${server.pages}/sign-in?redirect_to=${encodeURIComponent("/account")}`)
    await user.page.getByRole("form", { name: "Sign in" }).getByLabel("Email").fill(email)
    await user.page.getByLabel("Password").fill(strongPassword)
    await user.page.getByRole("button", { name: "Sign in", exact: true }).click()
    await expect.poll(() => user.page.getByRole("alert").first().textContent()).toBe("This account is suspended.")
    expect(user.problems).toEqual([])
    expect(admin.problems).toEqual([])
  })

  it("impersonation: the admin acts as the user with a banner, then stops and is the admin again", async () => {
    const email = uniqueEmail("ui-acted")
    await signUpAndSignIn(server, new Client(server.base), email)
    const { page, problems } = await signedInPage(owner)
    await page.goto(`${server.pages}/admin/users?email=${encodeURIComponent(email)}`)
    await page.getByRole("button", { name: "Impersonate" }).click()
    await expect.poll(() => page.url()).toBe(`${server.pages}/account`)
    expect(await page.getByRole("status").filter({ hasText: "You are acting as" }).textContent()).toContain(email)
    await checkPage(page)
    await page.getByRole("button", { name: "Stop impersonating" }).click()
    await expect.poll(() => page.url()).toBe(`${server.pages}/admin/users`)
    await page.goto(`${server.pages}/account`)
    expect(await page.getByText(owner).count()).toBeGreaterThan(0)
    expect(await page.getByText("You are acting as").count()).toBe(0)
    expect(problems).toEqual([])
  })

  it("the statistics: real counts, and the hour's sign-ins and failures in the chart", async () => {
    const failing = await browser.newContext()
    contexts.push(failing)
    const { page: other } = await openPage(failing)
    await other.goto(`${server.pages}/sign-in`)
    await other.getByRole("form", { name: "Sign in" }).getByLabel("Email").fill(owner)
    await other.getByLabel("Password").fill("a wrong password")
    await other.getByRole("button", { name: "Sign in", exact: true }).click()
    await expect.poll(() => other.getByRole("alert").count()).toBeGreaterThan(0)

    const { page, problems } = await signedInPage(owner)
    await page.goto(`${server.pages}/admin`)
    const stats = await new Client(server.base).get("/admin/stats", {
      token: (await new Client(server.base).post("/signin", { email: owner, password: strongPassword })).body
        .session_token,
    })
    const figure = (label: string) => page.locator("dl div").filter({ hasText: label }).locator("dd").textContent()
    expect(Number(await figure("Users"))).toBe(stats.body.users)
    const bars = async (kind: string) =>
      Number(
        await page
          .locator(`rect.${kind}`)
          .last()
          .evaluate((rect) => rect.querySelector("title")?.textContent?.split(": ")[1]),
      )
    expect(await bars("signin")).toBeGreaterThan(0)
    expect(await bars("failure")).toBeGreaterThanOrEqual(1)
    await checkPage(page)
    await screenshot(page, "admin-stats")

    await page.getByRole("link", { name: "Audit log" }).click()
    await page.getByRole("textbox", { name: "Type" }).fill("auth.signin.failed")
    await page.getByRole("button", { name: "Filter" }).click()
    const types = await page.locator("tbody tr td:nth-child(2)").allTextContents()
    expect(types.length).toBeGreaterThan(0)
    expect(new Set(types)).toEqual(new Set(["auth.signin.failed"]))
    await checkPage(page)
    expect(problems).toEqual([])
  })

  it("webhooks: made on the console (secret shown once), a failed delivery in the log, retried once the target works", async () => {
    const receiver = await startReceiver()
    try {
      receiver.respond = () => 500
      const { page, problems } = await signedInPage(owner)
      await page.goto(`${server.pages}/admin/webhooks`)
      const create = page.getByRole("form", { name: "New webhook" })
      await create.getByLabel("URL").fill(receiver.url)
      await create.getByLabel("Events").fill("user.created, user.deleted")
      await create.getByRole("button", { name: "Create" }).click()
      const secret = /whsec_[A-Za-z0-9+/=]+/.exec((await page.getByRole("status").first().textContent()) ?? "")?.[0]
      expect(secret).toBeDefined()
      receiver.secret = secret
      await page.getByRole("button", { name: "Send a test event" }).click()
      await receiver.waitFor((calls) => calls.length >= 2)
      await expect
        .poll(
          async () => {
            await page.reload()
            return page.getByRole("button", { name: "Retry" }).count()
          },
          { timeout: 10_000 },
        )
        .toBe(1)
      await checkPage(page)
      await screenshot(page, "admin-webhooks")
      receiver.respond = () => 204
      await page.getByRole("button", { name: "Retry" }).click()
      await receiver.waitFor((calls) =>
        calls.some((call) => call.answered === 204 && call.payload?.type === "webhook.test"),
      )
      await expect
        .poll(async () => {
          await page.reload()
          return page.getByText("delivered", { exact: true }).count()
        })
        .toBe(1)
      const delivered = receiver.calls.filter((call) => call.payload?.type === "webhook.test")
      expect(new Set(delivered.map((call) => call.payload!.id)).size).toBe(1)
      expect(problems).toEqual([])
    } finally {
      await receiver.close()
    }
  })

  it("apps and environments: a new app with its publishable key, a new environment of this app", async () => {
    const { page, problems } = await signedInPage(owner)
    await page.goto(`${server.pages}/admin/apps`)
    const app = page.getByRole("form", { name: "Apps" })
    await app.getByLabel("Name").fill("Mobile")
    await app.getByLabel("Slug").fill("mobile")
    await app.getByRole("button", { name: "Create" }).click()
    await expect.poll(() => page.getByRole("row", { name: /mobile/ }).count()).toBe(1)
    expect(await page.getByRole("row", { name: /mobile/ }).textContent()).toMatch(/pk_/)
    const environment = page.getByRole("form", { name: "Environments" })
    await environment.getByLabel("Name").fill("QA")
    await environment.getByLabel("Slug").fill("qa")
    await environment.getByLabel("Type").selectOption("staging")
    await environment.getByRole("button", { name: "Create" }).click()
    await expect.poll(() => page.getByRole("row", { name: /QA/ }).count()).toBe(1)
    await checkPage(page)
    expect(problems).toEqual([])
  })

  it("a user without the permissions reads no admin data", async () => {
    const email = uniqueEmail("ui-plain")
    await signUpAndSignIn(server, new Client(server.base), email)
    const { page } = await signedInPage(email)
    expect(await page.getByRole("link", { name: "Admin" }).count()).toBe(0)
    await page.goto(`${server.pages}/admin/roles`)
    expect(await page.getByText("You may not do that.").count()).toBe(1)
    expect(await page.getByRole("cell", { name: "owner", exact: true }).count()).toBe(0)
  })
})
