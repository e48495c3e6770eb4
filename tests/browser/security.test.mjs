// Web security as the browser sees it (the harness also checks, on every page of every feature,
// that no CSP violation happens, that console documents carry the CSP and nosniff headers, and
// that console cookies are HttpOnly and SameSite=Strict):
//   the harness's detectors themselves work: an unlabelled input is seen;
//   the CSP violation detector itself works: an inline script injected into a console page is
//     blocked by the page's CSP and reported (then that expected report is dropped);
//   cookies, from context.cookies(): the pre-session cookie on the sign-in page, the session
//     cookie after sign-in (HttpOnly, SameSite=Strict, Path=/console, expiring with the
//     session, within 12 hours); page script sees none of them (document.cookie is empty);
//   a form whose CSRF token was tampered with is refused (403 InvalidCsrfToken) and does
//     nothing; the same form with its token works;
//   a new access key's secret is never in a request the browser sends, and the page showing it
//     is no-store with no referrer;
//   after sign-out the old session cookie, put back into a fresh browser, opens nothing;
//   five wrong passwords lock a user's sign-in: then even the right password is refused (429),
//     while other users still sign in.

import {
  accountMenu,
  alertText,
  assert,
  clickForPage,
  endpoint,
  escapeRe,
  feature,
  nav,
  openTab,
  rootCli,
  rootPage,
  rootPassword,
  signedInAs,
  signIn,
  unnamedControls,
} from "./lib.mjs";

await feature("security", async (t) => {
  const page = await t.newPage();

  await t.step("signin-page-cookie", async () => {
    await page.goto(`${endpoint}/console/signin`);
    const cookies = await page.context().cookies();
    const pre = cookies.find((c) => c.name === "kagi-console-pre");
    assert.ok(pre, JSON.stringify(cookies));
    assert.equal(pre.httpOnly, true);
    assert.equal(pre.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie), "", "no console cookie is visible to script");
  });

  await t.step("csp-detector-works", async () => {
    const before = t.problems.length;
    await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.kagiInlineRan = true;";
      document.body.appendChild(s);
    });
    // The reports (the DOM event through the binding, and chromium's console error) arrive
    // asynchronously: wait for both, a little.
    const both = () =>
      t.problems.slice(before).some((p) => p.startsWith("CSP violation")) &&
      t.problems.slice(before).some((p) => p.startsWith("CSP console error"));
    for (let i = 0; i < 100 && !both(); i++) await page.waitForTimeout(20);
    assert.equal(await page.evaluate(() => window.kagiInlineRan === true), false, "the CSP blocked the inline script");
    const seen = t.problems.splice(before);
    assert.ok(
      seen.some((p) => p.startsWith("CSP violation: script-src")) && seen.every((p) => /CSP/.test(p) && /script-src/.test(p)),
      `the detector reported the blocked inline script: ${JSON.stringify(seen)}`,
    );
  });

  await t.step("label-detector-works", async () => {
    // The harness checks that every control is named; this shows the check can see one that
    // is not (added here, then removed before the step ends).
    assert.deepEqual(await unnamedControls(page), []);
    await page.evaluate(() => {
      const i = document.createElement("input");
      i.name = "unlabelled";
      i.id = "kagi-unlabelled";
      document.querySelector("main").appendChild(i);
    });
    assert.deepEqual(await unnamedControls(page), ["/console/signin: unnamed <input name=unlabelled>"]);
    await page.evaluate(() => document.getElementById("kagi-unlabelled").remove());
  });

  let session;
  await t.step("session-cookie", async () => {
    await signIn(page, null, rootPassword);
    await page.getByRole("heading", { name: "Users" }).waitFor();
    const cookies = await page.context().cookies();
    session = cookies.find((c) => c.name === "kagi-console");
    assert.ok(session, JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    assert.equal(session.path, "/console");
    const now = Date.now() / 1000;
    assert.ok(session.expires > now && session.expires <= now + 12 * 3600 + 60, `expires ${session.expires}`);
    // The sign-in form's cookie is gone once signed in.
    assert.equal(cookies.filter((c) => c.name === "kagi-console-pre").length, 0);
    assert.equal(await page.evaluate(() => document.cookie), "");
  });

  await t.step("csrf-tampered-refused", async () => {
    await page.getByLabel("User name").fill("csrf-victim");
    await page
      .locator("form", { has: page.getByRole("button", { name: "Create user" }) })
      .locator("input[name=csrf]")
      .evaluate((i) => {
        i.value = "forged";
      });
    const resp = await clickForPage(page, page.getByRole("button", { name: "Create user" }), "/console/users");
    assert.equal(resp.status(), 403);
    assert.match(await alertText(page), /InvalidCsrfToken.*Nothing was done/s);
    await nav(page).getByRole("link", { name: "Users" }).click();
    assert.equal(await page.getByRole("link", { name: "csrf-victim" }).count(), 0, "no user was created");
  });

  await t.step("csrf-intact-works", async () => {
    await page.getByLabel("User name").fill("csrf-victim");
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("heading", { name: "csrf-victim" }).waitFor();
  });

  await t.step("secret-stays-in-the-page", async () => {
    const sent = [];
    const onRequest = (r) => sent.push(`${r.url()}\n${r.postData() || ""}\n${JSON.stringify(r.headers())}`);
    page.on("request", onRequest);
    await openTab(page, "Security credentials");
    const resp = await clickForPage(page, page.getByRole("button", { name: "Create access key" }), "/access-keys");
    const secret = (await page.getByRole("row", { name: /Secret access key/ }).getByRole("cell").innerText()).trim();
    assert.equal(secret.length, 40);
    const h = resp.headers();
    assert.equal(h["cache-control"], "no-store");
    assert.equal(h["referrer-policy"], "no-referrer");
    // Leave the page as a user would, through "Done".
    await page.getByRole("link", { name: "Done" }).click();
    await page.getByRole("heading", { name: "csrf-victim" }).waitFor();
    page.off("request", onRequest);
    assert.ok(sent.length >= 2, "requests were seen");
    const leaks = sent.filter((s) => s.includes(secret) || s.includes(encodeURIComponent(secret)));
    assert.deepEqual(leaks, [], "the secret was sent in a request");
  });

  await t.step("signed-out-cookie-dead", async () => {
    await accountMenu(page, "Sign out");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal((await page.context().cookies()).filter((c) => c.name === "kagi-console").length, 0);
    // The old cookie, replayed from another browser, is refused: the session ended server-side.
    const replay = await t.newPage();
    await replay.context().addCookies([{ ...session }]);
    await replay.goto(`${endpoint}/console/users`);
    assert.match(new URL(replay.url()).pathname, /\/console\/signin$/);
    assert.equal(await replay.getByRole("row", { name: new RegExp(escapeRe("csrf-victim")) }).count(), 0);
  });

  // A second root session is unaffected by the first one's sign-out.
  const other = await rootPage(t);
  await t.step("other-session-unaffected", async () => {
    await other.getByRole("row", { name: /csrf-victim/ }).waitFor();
  });

  rootCli(["iam", "create-login-profile", "--user-name", "csrf-victim", "--password", "Csrf-Victim-Password-1!"]);
  await t.step("lockout-after-five-failures", async () => {
    for (let i = 1; i <= 5; i++) {
      const resp = await signIn(page, "csrf-victim", `Wrong-Password-${i}!`);
      assert.equal(resp.status(), 401, `attempt ${i}`);
      assert.match(await alertText(page), /Your authentication information is incorrect/);
    }
    const resp = await signIn(page, "csrf-victim", "Csrf-Victim-Password-1!");
    assert.equal(resp.status(), 429);
    assert.match(await alertText(page), /Too many failed sign-in attempts.*try again in 15 minute/s);
    assert.equal((await page.context().cookies()).filter((c) => c.name === "kagi-console").length, 0);
  });

  await t.step("lockout-is-per-user", async () => {
    await signIn(page, null, rootPassword);
    await signedInAs(page, `:root`);
  });
});
