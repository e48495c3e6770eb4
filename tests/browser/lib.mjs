// The shared harness of the console's feature tests (tests/browser/*.test.mjs; the seed's
// console.test.mjs, which predates it, uses only its guards): one chromium per feature, one
// screenshot per step, and checks that run on every page of every feature:
//   - no page error and no Content-Security-Policy violation (the DOM's
//     `securitypolicyviolation` event, reported through a CDP binding that CSP cannot block);
//   - every console response carries a strict CSP (checked by directive) and nosniff;
//   - every console cookie is HttpOnly and SameSite=Strict, scoped to /console;
//   - every form control on the page a step leaves has a name (a bound label or aria-label);
//   - axe-core (npm, pinned in package-lock.json) finds no serious or critical accessibility
//     violation: on every console page that finishes loading, and on the page each step leaves.
//
// Run by tests/console_browser.rs, which starts a fresh `kagi serve` per feature and passes:
//   KAGI_ENDPOINT, KAGI_ACCOUNT, KAGI_ROOT_PASSWORD, KAGI_BIN, KAGI_SHOTS_DIR (this feature's
//   own folder), KAGI_CHROMIUM, and the root's access key (KAGI_ROOT_ACCESS_KEY_ID,
//   KAGI_ROOT_SECRET_ACCESS_KEY) for setup done with the CLI rather than by clicking.
//
// Selectors are labels, roles and visible text (what a user sees), never CSS paths.

import { chromium } from "playwright-core";
import jsQR from "jsqr";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

const env = process.env;
const need = (name) => {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set (tests/console_browser.rs sets it)`);
  return v;
};
export const endpoint = need("KAGI_ENDPOINT");
export const account = need("KAGI_ACCOUNT");
export const rootPassword = need("KAGI_ROOT_PASSWORD");
const kagiBin = need("KAGI_BIN");
const shotsDir = need("KAGI_SHOTS_DIR");
const docsDir = env.KAGI_DOCS_DIR;
const updateDocs = env.KAGI_UPDATE_SCREENSHOTS === "1";
const executablePath = env.KAGI_CHROMIUM || "/usr/bin/chromium";

export const REGION = "ap-northeast-1";
/**
 * What is wrong with a console response's Content-Security-Policy (empty: nothing). Required:
 * `default-src 'self'`, `frame-ancestors 'none'`, `form-action 'self'`; nothing `unsafe-*`, no
 * wildcard source. Further directives may be added (they only restrict more).
 */
export function cspProblems(header) {
  if (!header) return ["no Content-Security-Policy"];
  const dirs = new Map(
    header
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name.toLowerCase(), values]),
  );
  const out = [];
  const want = { "default-src": "'self'", "frame-ancestors": "'none'", "form-action": "'self'" };
  for (const [name, value] of Object.entries(want)) {
    if ((dirs.get(name) || []).join(" ") !== value) out.push(`${name} is not ${value}`);
  }
  for (const [name, values] of dirs) {
    if (values.some((v) => /unsafe-|^\*$|^https?:$|^data:$/i.test(v))) out.push(`${name} allows ${values.join(" ")}`);
  }
  return out;
}
assert.deepEqual(cspProblems("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"), []);
assert.equal(cspProblems("default-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'").length, 2);
assert.equal(cspProblems("default-src 'self'; script-src *; frame-ancestors 'none'; form-action 'self'").length, 1);
export const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
export const iamArn = (kind, name) => `arn:aws:iam::${account}:${kind}/${name}`;
export { assert };

/** A policy document allowing `actions` on `resource`. */
export const allow = (actions, resource = "*") =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: resource }] }, null, 2);

// ---------------------------------------------------------------- TOTP (RFC 6238), for MFA

/** RFC 4648 base32 (no padding) to bytes. */
export function base32Decode(s) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, "").toUpperCase()) {
    const v = abc.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The 6-digit TOTP code of `seed` (bytes) for 30-second time step `step` (HMAC-SHA1). */
export function totp(seed, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac("sha1", seed).update(counter).digest();
  const off = h[19] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 1_000_000).padStart(6, "0");
}
export const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// RFC 6238 Appendix B (SHA1, seed "12345678901234567890"): the last 6 digits. The harness
// checks its own TOTP before any feature relies on it.
assert.equal(totp(Buffer.from("12345678901234567890"), Math.floor(59 / 30)), "287082");
assert.equal(totp(Buffer.from("12345678901234567890"), Math.floor(1111111109 / 30)), "081804");
assert.equal(base32Decode("MZXW6YTBOI").toString(), "foobar");

/**
 * The text a QR code drawn as an SVG path of dark rectangles (`M{x} {y}h{w}v{h}H{x}V{y}`, as
 * the qrcode crate writes it) encodes, decoded by jsQR from the rasterised modules.
 */
export function qrText(svg) {
  const box = svg.match(/viewBox="0 0 (\d+) (\d+)"/);
  if (!box) throw new Error(`no viewBox in ${svg.slice(0, 200)}`);
  const [w, h] = [Number(box[1]), Number(box[2])];
  const rgba = new Uint8ClampedArray(w * h * 4).fill(255);
  const d = svg.match(/<path[^>]* d="([^"]*)"/)[1];
  for (const [, x, y, rw, rh] of d.matchAll(/M(\d+) (\d+)h(\d+)v(\d+)H\d+V\d+/g)) {
    for (let j = Number(y); j < Number(y) + Number(rh); j++) {
      for (let i = Number(x); i < Number(x) + Number(rw); i++) {
        rgba.fill(0, (j * w + i) * 4, (j * w + i) * 4 + 3);
      }
    }
  }
  const found = jsQR(rgba, w, h);
  if (!found) throw new Error("no QR code could be read from the SVG");
  return found.data;
}

// ---------------------------------------------------------------- temporary folders

const tempDirs = [];
process.on("exit", () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
/** A new empty folder under the system's temporary folder, removed when the script exits. */
export function tempDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

// ---------------------------------------------------------------- the CLI, as the root user

let cliHome;
/** Runs the CLI half of kagi as the account root (private HOME, JSON output), parsed. */
export function rootCli(args) {
  const out = execFileSync(
    kagiBin,
    [...args, "--endpoint-url", endpoint, "--region", REGION, "--output", "json"],
    {
      encoding: "utf8",
      env: {
        PATH: env.PATH,
        HOME: (cliHome ??= tempDir("kagi-browser-cli-")),
        AWS_ACCESS_KEY_ID: need("KAGI_ROOT_ACCESS_KEY_ID"),
        AWS_SECRET_ACCESS_KEY: need("KAGI_ROOT_SECRET_ACCESS_KEY"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return out.trim() ? JSON.parse(out) : {};
}

// ---------------------------------------------------------------- the harness

/**
 * Reports into `problems` every Content-Security-Policy violation in any page of `ctx`: the
 * DOM's `securitypolicyviolation` event, passed on through a CDP binding (which the page's CSP
 * cannot block). Call before the context's first page.
 */
/** Creates `role` trusting the account `account` (its root, so identity policies decide), as the root user. */
export function createRoleTrustingAccount(role, account) {
  rootCli([
    "iam",
    "create-role",
    "--role-name",
    role,
    "--assume-role-policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }],
    }),
  ]);
}

export async function guardContext(ctx, problems) {
  await ctx.exposeBinding("kagiCspViolation", (_source, what) => problems.push(`CSP violation: ${what}`));
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.kagiCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} on ${e.documentURI}`);
    });
  });
}

// ---------------------------------------------------------------- accessibility (axe-core)

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const axePending = new Set();

/**
 * The serious and critical axe-core violations of the console page `page` shows, one line each
 * (rule, impact, help, where). axe is put into the page through the DevTools protocol, as a
 * console evaluation (which the page's CSP does not govern: the page itself stays as strict),
 * and its runs on one page are queued (axe refuses two at once).
 */
export async function axeProblems(page) {
  const url = new URL(page.url());
  if (url.origin !== new URL(endpoint).origin || !url.pathname.startsWith("/console")) return [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("axe did not finish in 30 s")), 30_000);
  });
  const found = await Promise.race([timeout, runAxe(page)]).finally(() => clearTimeout(timer));
  return found.map((f) => `${url.pathname}${url.search}: axe: ${f}`);
}

// axe's source, then its run on the page (queued: axe refuses two runs at once), in one
// evaluation so that both happen in the same document.
const axeScript = `${axeSource}
;(() => {
  const run = () =>
    window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => v.id + " (" + v.impact + "): " + v.help + ": " + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")),
    );
  window.kagiAxeQueue = (window.kagiAxeQueue || Promise.resolve()).then(run, run);
  return window.kagiAxeQueue;
})()`;

function runAxe(page) {
  return page.evaluate(axeScript);
}

/** Waits for the axe checks started by page loads (see [`watchPage`]). */
export async function axeSettled() {
  while (axePending.size) await Promise.all([...axePending]);
}

/** An axe check of `page` now, its violations into `problems`; a page that navigates away
 * meanwhile is not an error (the page it goes to is checked when it loads). */
function axeOnLoad(page, problems) {
  const p = axeProblems(page)
    .then((found) => problems.push(...found))
    .catch((e) => {
      if (!/Execution context was destroyed|Target page, context or browser has been closed|navigat/i.test(String(e))) {
        problems.push(`axe could not run on ${page.url()}: ${e.message}`);
      }
    })
    .finally(() => axePending.delete(p));
  axePending.add(p);
}

/**
 * Reports into `problems` a page's errors, chromium's CSP console errors, console
 * responses without the console's CSP or `X-Content-Type-Options: nosniff`, and the serious or
 * critical axe-core violations of every console page that loads.
 */
export function watchPage(page, problems) {
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) {
      problems.push(`CSP console error: ${m.text()}`);
    }
  });
  page.on("load", () => axeOnLoad(page, problems));
  page.on("response", (r) => {
    const url = new URL(r.url());
    if (url.origin !== new URL(endpoint).origin || !url.pathname.startsWith("/console")) return;
    const h = r.headers();
    for (const p of cspProblems(h["content-security-policy"])) {
      problems.push(`${r.status()} ${url.pathname}: Content-Security-Policy: ${p}`);
    }
    if (h["x-content-type-options"] !== "nosniff") {
      problems.push(`${url.pathname}: no X-Content-Type-Options: nosniff`);
    }
  });
}

/**
 * Form controls of `page` a keyboard or screen-reader user could not name: visible inputs,
 * selects and textareas without a bound label or aria-label, buttons without text. (The
 * console's invariant: labels bound to their inputs.)
 */
export async function unnamedControls(page) {
  if (!new URL(page.url()).pathname.startsWith("/console")) return [];
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("input, select, textarea, button")) {
      if (el.type === "hidden") continue;
      const named =
        el.tagName === "BUTTON"
          ? (el.textContent.trim() || el.getAttribute("aria-label") || "").length > 0
          : el.labels.length > 0 || !!el.getAttribute("aria-label");
      if (!named) out.push(`${location.pathname}: unnamed <${el.tagName.toLowerCase()} name=${el.name}>`);
    }
    return out;
  });
}

/** Console cookies in `cookies` that are not HttpOnly, SameSite=Strict, Path=/console. */
export function looseCookies(cookies) {
  return cookies
    .filter((c) => c.name.startsWith("kagi-console"))
    .filter((c) => !c.httpOnly || c.sameSite !== "Strict" || c.path !== "/console")
    .map((c) => `cookie ${c.name}: httpOnly=${c.httpOnly} sameSite=${c.sameSite} path=${c.path}`);
}

class Harness {
  constructor(feature, browser) {
    this.feature = feature;
    this.browser = browser;
    this.problems = [];
    this.shotNo = 0;
    /** The page steps screenshot (the last one opened, or set by the feature). */
    this.page = null;
    this.contexts = [];
  }

  /** A fresh browser (own cookies) with one page, watched by the harness. */
  async newPage(options = {}) {
    // Reduced motion: the console's 0.12 s colour transitions are off, so axe measures
    // contrast at rest, never halfway through a hover or focus change (CI saw that once).
    const ctx = await this.browser.newContext({
      viewport: { width: 1280, height: 800 },
      reducedMotion: "reduce",
      ...options,
    });
    this.contexts.push(ctx);
    await guardContext(ctx, this.problems);
    const page = await ctx.newPage();
    watchPage(page, this.problems);
    this.page = page;
    return page;
  }

  /** Every console cookie of every open browser is HttpOnly, SameSite=Strict, Path=/console. */
  async checkCookies() {
    for (const ctx of this.contexts) {
      let cookies;
      try {
        cookies = await ctx.cookies();
      } catch {
        continue; // closed
      }
      this.problems.push(...looseCookies(cookies));
    }
  }

  /** Screenshots `page`; with `docs` (a file name) and KAGI_UPDATE_SCREENSHOTS=1, also into
   * docs/screenshots/ under that name. */
  async shot(name, page = this.page, docs = null) {
    this.shotNo += 1;
    const file = path.join(shotsDir, `${String(this.shotNo).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file });
    if (docs && updateDocs && docsDir) {
      fs.mkdirSync(docsDir, { recursive: true });
      fs.copyFileSync(file, path.join(docsDir, `${docs}.png`));
    }
  }

  /**
   * One step: run it, check cookies, screenshot the page it leaves, report. `options.docs`
   * names the screenshot's copy in docs/screenshots/ (made with KAGI_UPDATE_SCREENSHOTS=1).
   */
  async step(name, fn, options = {}) {
    const page = this.page;
    const started = Date.now();
    try {
      await fn();
      await this.checkCookies();
      if (this.page) this.problems.push(...(await unnamedControls(this.page)));
      if (this.page) this.problems.push(...(await axeProblems(this.page)));
    } catch (e) {
      try {
        await this.page.screenshot({ path: path.join(shotsDir, `FAILED-${name}.png`) });
      } catch {}
      const text = this.page ? await this.page.locator("main").innerText().catch(() => "") : "";
      throw new Error(`[${this.feature}] step ${name} failed at ${this.page?.url()}: ${e.message}\n--- page ---\n${text}`);
    }
    await this.shot(name, this.page || page, options.docs);
    console.log(`ok ${this.shotNo} ${this.feature}: ${name} (${Date.now() - started} ms)`);
  }
}

/** Empties the screenshot directory of an earlier run and starts headless chromium. */
export async function launchBrowser() {
  fs.mkdirSync(shotsDir, { recursive: true });
  for (const f of fs.readdirSync(shotsDir)) {
    if (f.endsWith(".png")) fs.rmSync(path.join(shotsDir, f));
  }
  return chromium.launch({
    executablePath,
    headless: true,
    // What works on this machine's closed network (see the README's test section).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Runs one feature: `body(t)` with a fresh harness. Prints `OK:` at the end, or the failure
 * (exit code 1). Problems seen on any page (CSP, headers, cookies, page errors) fail it too.
 */
export async function feature(name, body) {
  const browser = await launchBrowser();
  const t = new Harness(name, browser);
  try {
    await body(t);
    await axeSettled();
    assert.deepEqual([...new Set(t.problems)], [], "no page errors, CSP violations, missing headers or loose cookies");
    console.log(`OK: ${name}: ${t.shotNo} steps, screenshots in ${shotsDir}`);
  } catch (e) {
    console.error(e.stack || String(e));
    if (t.problems.length) console.error(`problems seen: ${JSON.stringify(t.problems, null, 2)}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------- page helpers

/** The console's navigation: the header's service switcher and the service's left navigation. */
export const nav = (page) => page.getByRole("navigation", { name: /^(Services|IAM|ECR)$/ });
/** The page's header (banner): service switcher, account menu, switch-role band. */
export const header = (page) => page.getByRole("banner");
/** Opens the tab `name` of a detail page ("Permissions", "Security credentials", ...). */
export const openTab = (page, name) => page.getByRole("tab", { name, exact: true }).click();
/** Waits until the header's account menu names `arn` (or a part of it) as the principal. */
export const signedInAs = (page, arn) => header(page).getByText(arn).first().waitFor({ state: "attached" });
/**
 * Opens the header's account menu (with the keyboard: focus, Enter) unless it is open, then
 * follows its entry `item` ("Switch role", "Security credentials", "Sign out", a recent role).
 */
export async function accountMenu(page, item) {
  const entry = header(page).getByRole(item === "Sign out" ? "button" : "link", { name: item, exact: true });
  if (!(await entry.isVisible())) {
    await page.getByLabel(/^Signed in as /).focus();
    await page.keyboard.press("Enter");
  }
  await entry.click();
}
export const alertText = (page) => page.getByRole("alert").first().innerText();
/** The page's first alert's text now, or "" (no waiting: for assertion messages). */
export const alertNow = async (page) => {
  const a = page.getByRole("alert");
  return (await a.count()) ? a.first().innerText() : "";
};

/** Clicks `locator` and returns the HTTP response of the page it leads to (after redirects). */
export async function clickForPage(page, locator, pathSuffix) {
  const [resp] = await Promise.all([
    page.waitForResponse(
      (r) =>
        r.request().isNavigationRequest() && new URL(r.url()).pathname.endsWith(pathSuffix) && r.status() !== 303,
    ),
    locator.click(),
  ]);
  await page.waitForLoadState();
  return resp;
}

/** Fills and sends the sign-in form (user `null` = the root user); returns the response. */
export async function signIn(page, user, password) {
  await page.goto(`${endpoint}/console/signin`);
  await page.getByLabel("Account ID").fill(account);
  if (user) await page.getByLabel(/IAM user name/).fill(user);
  await page.getByLabel("Password", { exact: true }).fill(password);
  return clickForPage(page, page.getByRole("button", { name: "Sign in" }), "");
}

export async function signOut(page) {
  await accountMenu(page, "Sign out");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
}

/** A new browser signed in as the root user (on the Users page). */
export async function rootPage(t) {
  const page = await t.newPage();
  await signIn(page, null, rootPassword);
  await signedInAs(page, `arn:aws:iam::${account}:root`);
  return page;
}

/** Creates a user on the Users page (with a console password when given); lands on its page. */
export async function createUser(page, name, password = "") {
  await nav(page).getByRole("link", { name: "Users" }).click();
  await page.getByLabel("User name").fill(name);
  await page.getByLabel(/Console password/).fill(password);
  await page.getByRole("button", { name: "Create user" }).click();
  await page.getByRole("heading", { name, exact: true }).waitFor();
}

/** Creates a customer managed policy with the editor; answers its ARN. */
export async function createPolicy(page, name, document) {
  await nav(page).getByRole("link", { name: "Policies" }).click();
  await page.getByRole("link", { name: "Create policy" }).click();
  await page.getByLabel("Policy name").fill(name);
  await page.getByLabel("Policy document (JSON)").fill(document);
  await page.getByText("The policy engine has no findings.").waitFor();
  await page.getByRole("button", { name: "Create policy" }).click();
  await page.getByRole("heading", { name: "Policies" }).waitFor();
  const arn = iamArn("policy", name);
  await page.getByRole("row", { name: new RegExp(escapeRe(name)) }).getByText(arn).waitFor();
  return arn;
}

/**
 * Runs the policy simulator page for `principal` (ARN) with `actions` and `resources` (arrays);
 * answers its results table as `[{action, resource, decision, matched}]`.
 */
export async function simulate(page, principal, actions, resources = []) {
  // Wait for each page itself (a results page already has both headings, and its colours need
  // the stylesheet, which only the load event guarantees).
  await clickForPage(page, nav(page).getByRole("link", { name: "Policy simulator" }), "/console/simulator");
  await page.getByLabel(/^Principal/).fill(principal);
  await page.getByLabel(/^Actions/).fill(actions.join("\n"));
  await page.getByLabel(/^Resource ARNs/).fill(resources.join("\n"));
  await clickForPage(page, page.getByRole("button", { name: "Run simulation" }), "/console/simulator");
  await page.getByRole("heading", { name: "Results" }).waitFor();
  const rows = await page
    .getByRole("table")
    .last()
    .getByRole("row")
    .evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())));
  return rows.map(([action, resource, decision, matched]) => ({ action, resource, decision, matched }));
}
