/**
 * The admin console in Chromium: the first user of the default app (the owner) uses it; every tab passes axe-core
 * without a CSP violation; a user without the permissions gets no console.
 */
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
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

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startUiServer(), launch()])
    owner = uniqueEmail("ui-owner")
    await signUpAndSignIn(server, new Client(server.base), owner)
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
