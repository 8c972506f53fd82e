/**
 * The admin console: statistics with a chart of sign-ins and failures per hour (from the audit events), users (search,
 * ban, impersonate, revoke sessions), organizations, roles and permissions, webhooks with their delivery log, the
 * audit log with filters, apps and environments. Each tab reads the admin API with the visitor's own session, so
 * what the API refuses them (403) the console cannot show either; a tab whose API this server lacks says so.
 */
import { Effect } from "effect"
import { cookieNames } from "../../http/cookies.js"
import { type Cookie, withCookies } from "../../http/message.js"
import {
  actionButton,
  type ApiResult,
  alert,
  errorText,
  field,
  form,
  htmlResponse,
  notice,
  type PageContext,
  redirect,
  type SignedIn,
} from "../context.js"
import { type Fragment, html } from "../html.js"
import { layout } from "../layout.js"
import { fill } from "../text/en.js"
import { requireSignIn } from "./account.js"

const tabs = [
  ["/admin", "stats"],
  ["/admin/users", "users"],
  ["/admin/organizations", "organizations"],
  ["/admin/roles", "roles"],
  ["/admin/webhooks", "webhooks"],
  ["/admin/audit", "auditLog"],
  ["/admin/apps", "apps"],
] as const

const when = (date: string | null | undefined) =>
  date ? new Date(date).toISOString().slice(0, 16).replace("T", " ") : ""

const rows = <T>(result: ApiResult, key: string): ReadonlyArray<T> => (result.ok ? (result.body?.[key] ?? []) : [])

interface Flash {
  readonly notice?: string | undefined
  readonly error?: string | undefined
}

const adminPage = (
  ctx: PageContext,
  signedIn: SignedIn,
  current: string,
  body: Fragment,
  flash: Flash = {},
  status = 200,
) =>
  htmlResponse(
    status,
    layout(ctx, {
      title: ctx.t.adminTitle,
      wide: true,
      signedIn,
      admin: true,
      body: html`<h1>${ctx.t.adminTitle}</h1>
<nav class="tabs" aria-label="${ctx.t.adminTitle}">${tabs.map(
        ([path, key]) =>
          html`<a href="${ctx.url(path)}"${path === current ? html` aria-current="page"` : ""}>${ctx.t[key]}</a>`,
      )}</nav>${alert(flash.error)}${notice(flash.notice)}${body}`,
    }),
  )

/** The API's answer as a tab's content: its rows, or why there are none (forbidden, not on this server). */
const unavailable = (ctx: PageContext, result: ApiResult) =>
  html`<div class="card"><p role="status">${result.status === 404 ? ctx.t.notAvailable : errorText(ctx.t, result)}</p></div>`

const card = (title: string, content: Fragment) => html`<section class="card"><h2>${title}</h2>${content}</section>`

// --- stats and the chart -------------------------------------------------------------------------------------------

const hour = 60 * 60 * 1000

/** The audit events of one type in the last 24 hours (a few pages at most: the chart is an overview). */
const recentEvents = (ctx: PageContext, type: string, since: Date) =>
  Effect.gen(function* () {
    const times: Array<number> = []
    let cursor: string | undefined
    for (let page = 0; page < 10; page++) {
      const query = new URLSearchParams({ type, since: since.toISOString(), limit: "100" })
      if (cursor) query.set("cursor", cursor)
      const result = yield* ctx.api("GET", `/admin/audit-events?${query}`)
      if (!result.ok) return undefined
      for (const event of result.body.events ?? []) times.push(Date.parse(event.created_at))
      cursor = result.body.next_cursor
      if (!cursor) break
    }
    return times
  })

/** Two bars per hour (sign-ins, failures), oldest on the left; each bar has its count as a tooltip. */
export const hourlyChart = (
  ctx: PageContext,
  now: number,
  signIns: ReadonlyArray<number>,
  failures: ReadonlyArray<number>,
) => {
  const start = Math.floor(now / hour) * hour - 23 * hour
  const bucket = (times: ReadonlyArray<number>) => {
    const counts = new Array<number>(24).fill(0)
    for (const time of times) {
      const index = Math.floor((time - start) / hour)
      if (index >= 0 && index < 24) counts[index]! += 1
    }
    return counts
  }
  const ok = bucket(signIns)
  const bad = bucket(failures)
  const max = Math.max(1, ...ok, ...bad)
  const [width, height, barWidth] = [480, 120, 8]
  const bar = (count: number, x: number, kind: string, label: string) => {
    const h = Math.round((count / max) * (height - 20))
    return html`<rect class="${kind}" x="${x}" y="${height - 20 - h}" width="${barWidth}" height="${h}"><title>${label}: ${count}</title></rect>`
  }
  const total = (counts: ReadonlyArray<number>) => counts.reduce((a, b) => a + b, 0)
  const summary = `${ctx.t.signInsPerHour}: ${total(ok)} ${ctx.t.signIns}, ${total(bad)} ${ctx.t.failures}`
  return html`<figure class="chart"><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${summary}">${ok.map(
    (count, i) => {
      const x = i * 20
      const label = new Date(start + i * hour).toISOString().slice(11, 16)
      return html`${bar(count, x, "signin", `${label} ${ctx.t.signIns}`)}${bar(bad[i]!, x + barWidth + 1, "failure", `${label} ${ctx.t.failures}`)}${
        i % 6 === 0 ? html`<text x="${x}" y="${height - 5}">${label}</text>` : ""
      }`
    },
  )}</svg><figcaption>${summary}. <span class="key-signin" aria-hidden="true">■</span> ${ctx.t.signIns} <span class="key-failure" aria-hidden="true">■</span> ${ctx.t.failures}</figcaption></figure>`
}

const stats = (ctx: PageContext, signedIn: SignedIn) =>
  Effect.gen(function* () {
    const result = yield* ctx.api("GET", "/admin/stats")
    if (!result.ok)
      return adminPage(ctx, signedIn, "/admin", unavailable(ctx, result), {}, result.status === 403 ? 403 : 200)
    const now = Date.now()
    const since = new Date(Math.floor(now / hour) * hour - 23 * hour)
    const [signIns, failures] = yield* Effect.all(
      [recentEvents(ctx, "auth.signin", since), recentEvents(ctx, "auth.signin.failed", since)],
      { concurrency: 2 },
    )
    const numbers = html`<dl class="row">${[
      [ctx.t.users, result.body.users],
      [ctx.t.activeSessions, result.body.active_sessions],
      [ctx.t.organizations, result.body.organizations],
    ].map(([label, value]) => html`<div><dt>${label}</dt><dd><strong>${value ?? 0}</strong></dd></div>`)}</dl>`
    return adminPage(
      ctx,
      signedIn,
      "/admin",
      html`${card(ctx.t.stats, numbers)}${card(
        ctx.t.signInsPerHour,
        signIns && failures ? hourlyChart(ctx, now, signIns, failures) : html`<p>${ctx.t.notAvailable}</p>`,
      )}`,
    )
  })

// --- users -----------------------------------------------------------------------------------------------------------

const users = (ctx: PageContext, signedIn: SignedIn, flash: Flash = {}, status = 200) =>
  Effect.gen(function* () {
    const { t } = ctx
    const email = ctx.query.get("email") ?? ""
    const query = new URLSearchParams({ limit: "50" })
    if (email) query.set("email", email)
    const cursor = ctx.query.get("cursor")
    if (cursor) query.set("cursor", cursor)
    const result = yield* ctx.api("GET", `/admin/users?${query}`)
    const search = html`<form method="get" action="${ctx.url("/admin/users")}" role="search" class="row"><div>${field({ name: "email", id: "f-user-search", label: t.email, type: "search", value: email })}</div><div><button type="submit">${t.search}</button></div></form>`
    if (!result.ok) return adminPage(ctx, signedIn, "/admin/users", unavailable(ctx, result), flash, status)
    const list = rows<any>(result, "users")
    const table = html`<table><thead><tr><th scope="col">${t.email}</th><th scope="col">${t.name}</th><th scope="col">${t.since}</th><th scope="col">${t.actions}</th></tr></thead><tbody>${list.map(
      (u) =>
        html`<tr><td>${u.email} ${u.banned ? html`<span class="tag bad">${t.banned}</span>` : ""}</td><td>${[u.first_name, u.last_name].filter(Boolean).join(" ")}</td><td>${when(u.created_at)}</td><td>${
          u.banned
            ? actionButton(ctx, "/admin/users/unban", t.unban, { id: u.id })
            : form(
                ctx,
                "/admin/users/ban",
                html`<input type="hidden" name="id" value="${u.id}"><label for="f-reason-${u.id}" class="skip">${t.reason} (${u.email})</label><input id="f-reason-${u.id}" name="reason" type="text" placeholder="${t.reason}"> <button type="submit" class="small danger" aria-label="${t.ban} ${u.email}">${t.ban}</button>`,
                { className: "inline" },
              )
        } ${actionButton(ctx, "/admin/users/revoke-sessions", t.revokeSessions, { id: u.id })} ${
          u.id === signedIn.user.id ? "" : actionButton(ctx, "/admin/users/impersonate", t.impersonate, { id: u.id })
        }</td></tr>`,
    )}</tbody></table>${
      result.body.next_cursor
        ? html`<p><a href="${ctx.url(`/admin/users?${new URLSearchParams({ ...(email ? { email } : {}), cursor: result.body.next_cursor })}`)}">${t.next}</a></p>`
        : ""
    }`
    return adminPage(
      ctx,
      signedIn,
      "/admin/users",
      card(t.users, html`${search}${list.length ? table : html`<p>${t.none}</p>`}`),
      flash,
      status,
    )
  })

const userAction =
  (
    method: string,
    path: (id: string) => string,
    body: (ctx: PageContext) => unknown,
    done: (ctx: PageContext) => string,
  ) =>
  (ctx: PageContext, signedIn: SignedIn) => {
    const id = encodeURIComponent(ctx.form.get("id") ?? "")
    return Effect.flatMap(ctx.api(method, path(id), body(ctx)), (result) =>
      result.ok
        ? Effect.succeed(redirect(`${ctx.url("/admin/users")}?done=${done(ctx)}`))
        : users(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
    )
  }

/** While acting as a user the browser keeps the admin's own session token aside, to return to it. */
const adminSessionCookie = (secure: boolean) => (secure ? "__Host-authsome_admin_session" : "authsome_admin_session")

const sessionCookie = (ctx: PageContext, name: string, value: string, maxAge: number): Cookie => ({
  name,
  value,
  options: { path: "/", secure: ctx.secure, httpOnly: true, sameSite: "lax", maxAge },
})

/** The impersonation's tokens come in the body only: the page makes its session the browser's, for its hour. */
const impersonate = (ctx: PageContext) =>
  Effect.map(ctx.api("POST", `/admin/users/${encodeURIComponent(ctx.form.get("id") ?? "")}/impersonate`), (result) => {
    if (!result.ok) return redirect(`${ctx.url("/admin/users")}?done=failed`)
    const names = cookieNames(ctx.secure)
    const own = ctx.request.cookies[names.session] ?? ""
    const seconds = Math.max(0, Math.floor((Date.parse(result.body.expires_at) - Date.now()) / 1000))
    return withCookies(redirect(ctx.url("/account")), [
      sessionCookie(ctx, names.session, result.body.session_token, seconds),
      sessionCookie(ctx, adminSessionCookie(ctx.secure), own, seconds),
    ])
  })

/** Ends the impersonation (revoked by the API) and gives the browser its admin session back. */
const stopImpersonation = (ctx: PageContext) =>
  Effect.map(ctx.api("POST", "/admin/impersonate/stop"), () => {
    const names = cookieNames(ctx.secure)
    const own = ctx.request.cookies[adminSessionCookie(ctx.secure)]
    return withCookies(redirect(ctx.url(own ? "/admin/users" : "/sign-in")), [
      sessionCookie(ctx, names.session, own ?? "", own ? 60 * 60 : 0),
      sessionCookie(ctx, adminSessionCookie(ctx.secure), "", 0),
    ])
  })

// --- organizations, roles, webhooks, audit, apps -------------------------------------------------------------------

const organizations = (ctx: PageContext, signedIn: SignedIn) =>
  Effect.map(ctx.api("GET", "/admin/organizations?limit=100"), (result) =>
    adminPage(
      ctx,
      signedIn,
      "/admin/organizations",
      result.ok
        ? card(
            ctx.t.organizations,
            html`<table><thead><tr><th scope="col">${ctx.t.name}</th><th scope="col">${ctx.t.slug}</th><th scope="col">${ctx.t.since}</th></tr></thead><tbody>${rows<any>(
              result,
              "organizations",
            ).map(
              (o) => html`<tr><td>${o.name}</td><td>${o.slug}</td><td>${when(o.created_at)}</td></tr>`,
            )}</tbody></table>`,
          )
        : unavailable(ctx, result),
    ),
  )

const roles = (ctx: PageContext, signedIn: SignedIn, flash: Flash = {}, status = 200) =>
  Effect.gen(function* () {
    const { t } = ctx
    const result = yield* ctx.api("GET", "/roles")
    if (!result.ok) return adminPage(ctx, signedIn, "/admin/roles", unavailable(ctx, result), flash, status)
    const list = rows<any>(result, "roles")
    const permissions = yield* Effect.forEach(list, (role) => ctx.api("GET", `/roles/${role.id}/permissions`), {
      concurrency: 4,
    })
    const table = html`<table><thead><tr><th scope="col">${t.name}</th><th scope="col">${t.slug}</th><th scope="col">${t.permissions}</th><th scope="col">${t.actions}</th></tr></thead><tbody>${list.map(
      (role, i) =>
        html`<tr><td>${role.name}</td><td>${role.slug}</td><td>${rows<any>(permissions[i]!, "permissions").map((p) => html`<span class="tag">${p.resource}:${p.action}</span> `)}</td><td>${form(
          ctx,
          "/admin/roles/permission",
          html`<input type="hidden" name="id" value="${role.id}"><label for="f-perm-${role.id}" class="skip">${t.permissions} (${role.slug})</label><input id="f-perm-${role.id}" name="permission" type="text" placeholder="resource:action" required> <button type="submit" class="small secondary">${t.add}</button>`,
          { className: "inline" },
        )}</td></tr>`,
    )}</tbody></table>`
    const create = form(
      ctx,
      "/admin/roles/create",
      html`<div class="row"><div>${field({ name: "name", id: "f-role-name", label: t.name, required: true })}</div><div>${field({ name: "slug", id: "f-role-slug", label: t.slug, required: true })}</div><div><button type="submit">${t.create}</button></div></div>`,
      { label: t.roles },
    )
    return adminPage(ctx, signedIn, "/admin/roles", card(t.roles, html`${table}${create}`), flash, status)
  })

const roleAction =
  (call: (ctx: PageContext) => [string, string, unknown]) => (ctx: PageContext, signedIn: SignedIn) => {
    const [method, path, body] = call(ctx)
    return Effect.flatMap(ctx.api(method, path, body), (result) =>
      result.ok
        ? Effect.succeed(redirect(`${ctx.url("/admin/roles")}?done=saved`))
        : roles(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
    )
  }

const webhooks = (ctx: PageContext, signedIn: SignedIn, flash: Flash = {}, status = 200) =>
  Effect.gen(function* () {
    const { t } = ctx
    const result = yield* ctx.api("GET", "/webhooks")
    if (!result.ok) return adminPage(ctx, signedIn, "/admin/webhooks", unavailable(ctx, result), flash, status)
    const list = rows<any>(result, "webhooks")
    const deliveries = yield* Effect.forEach(
      list,
      (hook) => ctx.api("GET", `/webhooks/${hook.id}/deliveries?limit=20`),
      {
        concurrency: 4,
      },
    )
    const hooks = list.map(
      (hook, i) =>
        html`<section class="card"><h2>${hook.url}</h2><p>${(hook.events ?? []).map((e: string) => html`<span class="tag">${e}</span> `)}</p>
${actionButton(ctx, "/admin/webhooks/test", t.sendTest, { id: hook.id })} ${actionButton(ctx, "/admin/webhooks/delete", t.remove, { id: hook.id }, { danger: true })}
<h3>${t.deliveries}</h3>${
          rows<any>(deliveries[i]!, "deliveries").length === 0
            ? html`<p>${t.none}</p>`
            : html`<table><thead><tr><th scope="col">${t.type}</th><th scope="col">${t.status}</th><th scope="col">${t.attempts}</th><th scope="col">${t.since}</th><th scope="col">${t.actions}</th></tr></thead><tbody>${rows<any>(
                deliveries[i]!,
                "deliveries",
              ).map(
                (d) =>
                  html`<tr><td>${d.event_type ?? d.type ?? ""}</td><td><span class="tag${d.status === "failed" ? " bad" : ""}">${d.status}</span> ${d.last_status_code ?? ""}</td><td>${d.attempts ?? ""}</td><td>${when(d.created_at)}</td><td>${
                    d.status === "failed"
                      ? actionButton(ctx, "/admin/webhooks/retry", t.retry, { id: hook.id, delivery_id: d.id })
                      : ""
                  }</td></tr>`,
              )}</tbody></table>`
        }</section>`,
    )
    const create = card(
      t.newWebhook,
      form(
        ctx,
        "/admin/webhooks/create",
        html`${field({ name: "url", id: "f-hook-url", label: "URL", type: "url", required: true })}${field({ name: "events", id: "f-hook-events", label: t.events, required: true, hint: "user.created, auth.signin, ..." })}<button type="submit">${t.create}</button>`,
        { label: t.newWebhook },
      ),
    )
    return adminPage(ctx, signedIn, "/admin/webhooks", html`${hooks}${create}`, flash, status)
  })

const webhookAction =
  (
    call: (ctx: PageContext, id: string) => [string, string, unknown?],
    show?: (ctx: PageContext, result: ApiResult) => string,
  ) =>
  (ctx: PageContext, signedIn: SignedIn) => {
    const id = encodeURIComponent(ctx.form.get("id") ?? "")
    const [method, path, body] = call(ctx, id)
    return Effect.flatMap(ctx.api(method, path, body), (result) =>
      result.ok
        ? show
          ? webhooks(ctx, signedIn, { notice: show(ctx, result) })
          : Effect.succeed(redirect(`${ctx.url("/admin/webhooks")}?done=saved`))
        : webhooks(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
    )
  }

const audit = (ctx: PageContext, signedIn: SignedIn) =>
  Effect.gen(function* () {
    const { t } = ctx
    const filters = ["user_id", "type", "since", "until", "cursor"] as const
    const query = new URLSearchParams({ limit: "50" })
    for (const name of filters) {
      const value = ctx.query.get(name)
      if (!value) continue
      query.set(name, name === "since" || name === "until" ? new Date(value).toISOString() : value)
    }
    const result = yield* ctx.api("GET", `/admin/audit-events?${query}`)
    const value = (name: string) => ctx.query.get(name) ?? ""
    const filterForm = html`<form method="get" action="${ctx.url("/admin/audit")}" class="row" aria-label="${t.filter}">
<div>${field({ name: "type", id: "f-audit-type", label: t.type, value: value("type") })}</div>
<div>${field({ name: "user_id", id: "f-audit-user", label: "User ID", value: value("user_id") })}</div>
<div>${field({ name: "since", id: "f-audit-since", label: t.since, type: "datetime-local", value: value("since") })}</div>
<div>${field({ name: "until", id: "f-audit-until", label: t.until, type: "datetime-local", value: value("until") })}</div>
<div><button type="submit">${t.filter}</button></div></form>`
    if (!result.ok)
      return adminPage(ctx, signedIn, "/admin/audit", html`${card(t.auditLog, filterForm)}${unavailable(ctx, result)}`)
    const events = rows<any>(result, "events")
    const next = result.body.next_cursor
      ? (() => {
          const more = new URLSearchParams()
          for (const name of filters) if (name !== "cursor" && value(name)) more.set(name, value(name))
          more.set("cursor", result.body.next_cursor)
          return html`<p><a href="${ctx.url(`/admin/audit?${more}`)}">${t.next}</a></p>`
        })()
      : ""
    return adminPage(
      ctx,
      signedIn,
      "/admin/audit",
      card(
        t.auditLog,
        html`${filterForm}<table><thead><tr><th scope="col">${t.since}</th><th scope="col">${t.type}</th><th scope="col">User</th><th scope="col">IP</th></tr></thead><tbody>${events.map(
          (e) =>
            html`<tr><td>${when(e.created_at)}</td><td>${e.type}</td><td><code>${e.user_id ?? ""}</code></td><td>${e.ip_address ?? ""}</td></tr>`,
        )}</tbody></table>${events.length === 0 ? html`<p>${t.none}</p>` : ""}${next}`,
      ),
    )
  })

const apps = (ctx: PageContext, signedIn: SignedIn, flash: Flash = {}, status = 200) =>
  Effect.gen(function* () {
    const { t } = ctx
    const [appsResult, environments] = yield* Effect.all(
      [ctx.api("GET", "/admin/apps"), ctx.api("GET", "/environments")],
      {
        concurrency: 2,
      },
    )
    const appsCard = appsResult.ok
      ? card(
          t.apps,
          html`<table><thead><tr><th scope="col">${t.name}</th><th scope="col">${t.slug}</th><th scope="col">${t.publishableKey}</th></tr></thead><tbody>${rows<any>(
            appsResult,
            "apps",
          ).map(
            (a) => html`<tr><td>${a.name}</td><td>${a.slug}</td><td><code>${a.publishable_key}</code></td></tr>`,
          )}</tbody></table>${form(
            ctx,
            "/admin/apps/create",
            html`<div class="row"><div>${field({ name: "name", id: "f-app-name", label: t.name, required: true })}</div><div>${field({ name: "slug", id: "f-app-slug", label: t.slug, required: true })}</div><div><button type="submit">${t.create}</button></div></div>`,
            { label: t.apps },
          )}`,
        )
      : unavailable(ctx, appsResult)
    const environmentsCard = environments.ok
      ? card(
          t.environments,
          html`<table><thead><tr><th scope="col">${t.name}</th><th scope="col">${t.slug}</th><th scope="col">${t.type}</th></tr></thead><tbody>${rows<any>(
            environments,
            "environments",
          ).map(
            (e) =>
              html`<tr><td>${e.name} ${e.is_default ? html`<span class="tag">default</span>` : ""}</td><td>${e.slug}</td><td>${e.type}</td></tr>`,
          )}</tbody></table>`,
        )
      : unavailable(ctx, environments)
    return adminPage(ctx, signedIn, "/admin/apps", html`${appsCard}${environmentsCard}`, flash, status)
  })

const admin = (handler: (ctx: PageContext, signedIn: SignedIn) => Effect.Effect<ReturnType<typeof htmlResponse>>) =>
  requireSignIn(handler)

const withDone =
  (handler: (ctx: PageContext, signedIn: SignedIn, flash?: Flash) => Effect.Effect<ReturnType<typeof htmlResponse>>) =>
  (ctx: PageContext, signedIn: SignedIn) => {
    const done = ctx.query.get("done")
    return handler(
      ctx,
      signedIn,
      done === "failed" ? { error: ctx.t.genericError } : done ? { notice: ctx.t.saved } : {},
    )
  }

export const adminPages = {
  "GET /admin": admin(stats),
  "GET /admin/users": admin(withDone(users)),
  "POST /admin/users/ban": admin(
    userAction(
      "POST",
      (id) => `/admin/users/${id}/ban`,
      (ctx) => (ctx.form.get("reason") ? { reason: ctx.form.get("reason") } : {}),
      () => "banned",
    ),
  ),
  "POST /admin/users/unban": admin(
    userAction(
      "POST",
      (id) => `/admin/users/${id}/unban`,
      () => undefined,
      () => "unbanned",
    ),
  ),
  "POST /admin/users/revoke-sessions": admin(
    userAction(
      "DELETE",
      (id) => `/admin/users/${id}/sessions`,
      () => undefined,
      () => "revoked",
    ),
  ),
  "POST /admin/users/impersonate": admin((ctx) => impersonate(ctx)),
  "POST /admin/impersonate/stop": admin((ctx) => stopImpersonation(ctx)),
  "GET /admin/organizations": admin(organizations),
  "GET /admin/roles": admin(withDone(roles)),
  "POST /admin/roles/create": admin(
    roleAction((ctx) => ["POST", "/roles", { name: ctx.form.get("name") ?? "", slug: ctx.form.get("slug") ?? "" }]),
  ),
  "POST /admin/roles/permission": admin(
    roleAction((ctx) => [
      "POST",
      `/roles/${encodeURIComponent(ctx.form.get("id") ?? "")}/permissions`,
      { permission: ctx.form.get("permission") ?? "" },
    ]),
  ),
  "GET /admin/webhooks": admin(withDone(webhooks)),
  "POST /admin/webhooks/create": admin(
    webhookAction(
      (ctx) => [
        "POST",
        "/webhooks",
        {
          url: ctx.form.get("url") ?? "",
          events: (ctx.form.get("events") ?? "").split(/[\s,]+/).filter((e) => e !== ""),
        },
      ],
      (ctx, result) => fill(ctx.t.webhookSecret, { secret: String(result.body?.secret ?? "") }),
    ),
  ),
  "POST /admin/webhooks/test": admin(webhookAction((_, id) => ["POST", `/webhooks/${id}/test`])),
  "POST /admin/webhooks/delete": admin(webhookAction((_, id) => ["DELETE", `/webhooks/${id}`])),
  "POST /admin/webhooks/retry": admin(
    webhookAction((ctx, id) => [
      "POST",
      `/webhooks/${id}/deliveries/${encodeURIComponent(ctx.form.get("delivery_id") ?? "")}/retry`,
    ]),
  ),
  "GET /admin/audit": admin(audit),
  "GET /admin/apps": admin(withDone(apps)),
  "POST /admin/apps/create": admin((ctx, signedIn) =>
    Effect.flatMap(
      ctx.api("POST", "/admin/apps", { name: ctx.form.get("name") ?? "", slug: ctx.form.get("slug") ?? "" }),
      (result) =>
        result.ok
          ? Effect.succeed(redirect(`${ctx.url("/admin/apps")}?done=saved`))
          : apps(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
    ),
  ),
}
