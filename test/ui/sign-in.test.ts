import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { strongPassword, uniqueEmail } from "../support/http.js"
import {
  accessibilityProblems,
  hasChromium,
  launch,
  linkIn,
  openPage,
  pageBytes,
  screenshot,
  startUiServer,
  type UiServer,
} from "./browser.js"

describe.skipIf(!hasChromium)("hosted sign-in pages in Chromium", () => {
  let server: UiServer
  let browser: Browser

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startUiServer(), launch()])
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("sign-up → the mailed link → confirm → signed in on the account page", async () => {
    const context = await browser.newContext()
    const { page, problems } = await openPage(context)
    const email = uniqueEmail("ui-signup")
    await page.goto(`${server.pages}/`)
    expect(page.url()).toBe(`${server.pages}/sign-in`)
    expect(await accessibilityProblems(page)).toEqual([])
    await screenshot(page, "sign-in")
    await page.getByRole("link", { name: "Create an account" }).click()
    expect(await accessibilityProblems(page)).toEqual([])
    await page.getByLabel("Email").fill(email)
    await page.getByLabel("Password").fill(strongPassword)
    await page.getByLabel("First name (optional)").fill("Ada")
    await screenshot(page, "sign-up")
    await page.getByRole("button", { name: "Create an account" }).click()
    await expect.poll(() => page.getByRole("heading", { name: "Verify your email" }).count()).toBe(1)
    expect(await accessibilityProblems(page)).toEqual([])
    await screenshot(page, "verify-email")

    const mail = await server.smtp.waitFor(email, /verif/i)
    await page.goto(linkIn(mail.text))
    expect(await accessibilityProblems(page)).toEqual([])
    await page.getByRole("button", { name: "Confirm my email" }).click()
    expect(page.url()).toBe(`${server.pages}/account`)
    await expect.poll(() => page.getByRole("heading", { name: "Your account" }).count()).toBe(1)
    expect(await page.getByText(email).count()).toBeGreaterThan(0)
    expect(await pageBytes(page)).toBeLessThan(100_000)
    expect(problems).toEqual([])
    await context.close()
  })
})
