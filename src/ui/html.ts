/**
 * A small typed HTML builder: `html` escapes every interpolated value unless it is already `Html` (built by `html`
 * itself or marked with `trusted`), so a page cannot carry markup from a user's input.
 */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value
  }
}

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => entities[c]!)

/** What may be interpolated: text (escaped), markup, lists of either, or nothing (`null`, `undefined`, `false`). */
export type Fragment = Html | string | number | null | undefined | false | ReadonlyArray<Fragment>

const render = (fragment: Fragment): string => {
  if (fragment === null || fragment === undefined || fragment === false) return ""
  if (fragment instanceof Html) return fragment.value
  if (Array.isArray(fragment)) return fragment.map(render).join("")
  return escapeHtml(String(fragment))
}

export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<Fragment>): Html => {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** Markup the server made itself (an SVG from `qrcode`): never user input. */
export const trusted = (markup: string) => new Html(markup)
