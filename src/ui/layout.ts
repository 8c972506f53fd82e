/** The frame of every page: head (style sheet, brand colour), header (brand, navigation, sign-out), main, script. */
import { assets } from "./assets.js"
import { csrfField, type PageContext, type SignedIn } from "./context.js"
import { type Fragment, html } from "./html.js"

const colour = /^#[0-9a-fA-F]{3,8}$/

/** The brand's logo only when it is an https URL (or one of ours); anything else is left out. */
const safeLogo = (url: string | null) => (url && /^(https:\/\/|\/)[^\s"']*$/.test(url) ? url : null)

export interface PageSpec {
  readonly title: string
  readonly body: Fragment
  readonly wide?: boolean
  /** Shows the account/admin links and the sign-out button. */
  readonly signedIn?: SignedIn | undefined
  readonly admin?: boolean
}

export const layout = (ctx: PageContext, spec: PageSpec) => {
  const { t, brand } = ctx
  const logo = safeLogo(brand.logoUrl)
  const primary = brand.primaryColor && colour.test(brand.primaryColor) ? brand.primaryColor : null
  return html`<!doctype html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${spec.title} · ${brand.name}</title>
<link rel="stylesheet" href="${ctx.url(`/ui-assets/${assets.style.file}`)}">
${primary ? html`<style nonce="${ctx.nonce}">:root{--brand:${primary}}</style>` : ""}
</head>
<body>
<a class="skip" href="#main">${t.skipToContent}</a>
<header class="top">
<a class="brand" href="${ctx.url("/")}">${logo ? html`<img src="${logo}" alt="">` : ""}<span>${brand.name}</span></a>
${
  spec.signedIn
    ? html`<nav aria-label="${t.accountTitle}"><a href="${ctx.url("/account")}">${t.accountTitle}</a>${
        spec.admin ? html`<a href="${ctx.url("/admin")}">${t.admin}</a>` : ""
      }<form method="post" action="${ctx.url("/sign-out")}" class="inline">${csrfField(ctx)}<button type="submit" class="small secondary">${t.signOut}</button></form></nav>`
    : ""
}
</header>
<main id="main" tabindex="-1"${spec.wide ? html` class="wide"` : ""}>
${
  spec.signedIn?.session.impersonated_by
    ? html`<div class="notice" role="status"><form method="post" action="${ctx.url("/admin/impersonate/stop")}" class="inline">${csrfField(ctx)}${t.impersonating} <strong>${spec.signedIn.user.email}</strong>. <button type="submit" class="small">${t.stopImpersonating}</button></form></div>`
    : ""
}
${spec.body}
</main>
<script nonce="${ctx.nonce}" src="${ctx.url(`/ui-assets/${assets.script.file}`)}" defer></script>
</body>
</html>
`
}
