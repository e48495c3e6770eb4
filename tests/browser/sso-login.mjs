// The person at the browser during `kagi sso login`: kagi opens this script as `$BROWSER`
// (`node sso-login.mjs LOG USER PASSWORD %s`) with the /authorize URL (PKCE) or the device
// code's verificationUriComplete. In Chromium it signs in to the access portal, clicks
// "Allow access", and waits for the end: kagi's loopback page (PKCE) or the portal's approval
// notice (device code). The outcome goes to LOG as one JSON line ({ok, url, text} or {error}).
//
// Run by crates/cli/tests/it/sso.rs (`sso_login_in_chromium`). Selectors are labels and
// visible text.

import { chromium } from "playwright-core";
import fs from "node:fs";

const [log, user, password, url] = process.argv.slice(2);
const executablePath = process.env.KAGI_CHROMIUM || "/usr/bin/chromium";

let browser;
let page;
const violations = [];
try {
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  page = await browser.newPage();
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(url);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Allow access" }).click();
  const done = page.getByText(/close this window|approved/i).first();
  await done.waitFor({ timeout: 15000 });
  fs.appendFileSync(
    log,
    JSON.stringify({ ok: true, url: page.url(), text: await done.innerText(), violations }) + "\n",
  );
} catch (e) {
  const at = page ? page.url() : "";
  fs.appendFileSync(log, JSON.stringify({ ok: false, error: String(e), url: at, violations }) + "\n");
} finally {
  if (browser) await browser.close();
}
