/**
 * The pages' only files: one style sheet and one script, served by the server itself (no CDN) with a content hash in
 * their names so they can be cached for a year. The script is progressive enhancement: passkeys (WebAuthn needs
 * JavaScript) and copy buttons; every other page works without it.
 */
import { createHash } from "node:crypto"

const style = `
:root{--brand:#3b4cca;--brand-text:#fff;--bg:#f6f7fb;--fg:#1d2130;--muted:#555b6e;--line:#d5d8e3;--error:#a4161a;--ok:#1e6b34}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--brand)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
header.top{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.75rem 1.25rem;background:#fff;border-bottom:1px solid var(--line)}
header.top .brand{display:flex;align-items:center;gap:.5rem;font-weight:600;color:var(--fg);text-decoration:none}
header.top img{height:28px;width:auto}
header.top nav{display:flex;gap:1rem;align-items:center}
main{max-width:26rem;margin:2rem auto;padding:0 1rem}
main.wide{max-width:60rem}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1.5rem;margin-bottom:1.25rem}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.15rem;margin:0 0 .75rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
.hint{color:var(--muted);font-size:.875rem;margin:.25rem 0 0}
input[type=email],input[type=password],input[type=text],input[type=search],input[type=datetime-local],select{width:100%;padding:.6rem .7rem;border:1px solid #8a90a3;border-radius:6px;font:inherit;background:#fff;color:var(--fg)}
input:focus-visible,button:focus-visible,a:focus-visible,select:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
button,.button{display:inline-block;margin-top:1rem;padding:.6rem 1rem;border:0;border-radius:6px;background:var(--brand);color:var(--brand-text);font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:var(--brand);border:1px solid var(--brand)}
button.danger{background:var(--error);color:#fff}
button.small{margin:0;padding:.3rem .6rem;font-size:.875rem}
.full{width:100%;text-align:center}
.alert{border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem;background:#fdecec;color:var(--error);border:1px solid #f3b7b9}
.notice{border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem;background:#e9f6ee;color:var(--ok);border:1px solid #b6dfc3}
.or{display:flex;align-items:center;gap:.75rem;color:var(--muted);margin:1.25rem 0 0}.or::before,.or::after{content:"";flex:1;border-top:1px solid var(--line)}
.links{margin-top:1.25rem;font-size:.95rem}
table{width:100%;border-collapse:collapse;font-size:.925rem}
th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
.inline{display:inline}.inline button{margin:0}
.row{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end}.row>*{flex:1}
.codes{font-family:ui-monospace,monospace;columns:2;padding-left:1.25rem}
code,.mono{font-family:ui-monospace,monospace;word-break:break-all}
.qr svg{width:200px;height:200px}
.tag{display:inline-block;font-size:.75rem;padding:0 .4rem;border-radius:4px;background:#e8eaf6;color:#26306b}
.tag.bad{background:#fdecec;color:var(--error)}
[hidden]{display:none!important}
nav.tabs{display:flex;gap:.25rem;flex-wrap:wrap;margin-bottom:1rem}nav.tabs a{padding:.35rem .7rem;border-radius:6px;text-decoration:none}nav.tabs a[aria-current=page]{background:var(--brand);color:var(--brand-text)}
.chart svg{width:100%;height:auto}.chart .key-signin{color:#3b4cca}.chart .key-failure{color:#c2410c}dd{margin:0}.chart .signin{fill:#3b4cca}.chart .failure{fill:#c2410c}.chart text{font-size:10px;fill:var(--muted)}
`

const script = `
"use strict";
(function () {
  var json = function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body } }) };
  var post = function (url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) }).then(json);
  };
  var canPasskey = !!(window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON && PublicKeyCredential.parseCreationOptionsFromJSON);
  var fail = function (el) { var out = document.getElementById(el.getAttribute("data-error")); if (out) { out.hidden = false; out.textContent = el.getAttribute("data-error-text"); } };
  document.querySelectorAll("[data-passkey]").forEach(function (el) {
    if (!canPasskey) return;
    el.hidden = false;
    var api = el.getAttribute("data-api");
    el.addEventListener("click", function (event) {
      event.preventDefault();
      if (el.getAttribute("data-passkey") === "login") {
        post(api + "/passkeys/login/begin", {}).then(function (begun) {
          if (!begun.ok) throw new Error("begin");
          var options = PublicKeyCredential.parseRequestOptionsFromJSON(begun.body.options);
          return navigator.credentials.get({ publicKey: options }).then(function (credential) {
            return post(api + "/passkeys/login/finish", { ceremony_id: begun.body.ceremony_id, response: credential.toJSON() });
          });
        }).then(function (finished) {
          if (!finished.ok) throw new Error("finish");
          window.location.assign(el.getAttribute("data-next"));
        }).catch(function () { fail(el); });
      } else {
        var nameField = document.getElementById(el.getAttribute("data-name"));
        post(api + "/passkeys/register/begin", {}).then(function (begun) {
          if (!begun.ok) throw new Error("begin");
          var options = PublicKeyCredential.parseCreationOptionsFromJSON(begun.body.options);
          return navigator.credentials.create({ publicKey: options }).then(function (credential) {
            var body = { response: credential.toJSON() };
            if (nameField && nameField.value) body.name = nameField.value;
            return post(api + "/passkeys/register/finish", body);
          });
        }).then(function (finished) {
          if (!finished.ok) throw new Error("finish");
          window.location.assign(el.getAttribute("data-next"));
        }).catch(function () { fail(el); });
      }
    });
  });
  document.querySelectorAll("[data-copy]").forEach(function (el) {
    if (!navigator.clipboard) return;
    el.hidden = false;
    el.addEventListener("click", function () {
      var source = document.getElementById(el.getAttribute("data-copy"));
      navigator.clipboard.writeText(source.textContent.trim()).then(function () { el.textContent = el.getAttribute("data-copied"); });
    });
  });
})();
`

const asset = (name: string, ext: string, body: string, type: string) => {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12)
  return { file: `${name}.${hash}.${ext}`, body, type }
}

export const assets = {
  style: asset("style", "css", style, "text/css; charset=utf-8"),
  script: asset("app", "js", script, "text/javascript; charset=utf-8"),
}

export const assetByFile = (file: string) => Object.values(assets).find((candidate) => candidate.file === file)
