// The seed's console steps (shared/seed/walkthrough.md, steps 2–6, then the switch role) done by
// clicking in Debian's chromium, driven by playwright-core, against a real `kagi serve`:
//   root: sign in; create user-for-switch (console password); its access key (use case CLI,
//     secret read once from the page, the .csv checked, the key checked with the CLI);
//     SwitchRolePolicy; ECRPushAndLoginPolicy pasted first with the seed's `//` comments (flagged
//     live at line 3, refused on submit), then clean; ECRLoginAndPushRole ("this account", with
//     the ECR policy); SwitchRolePolicy attached to the user; ECR repository test-repos; sign out.
//   user-for-switch (keyboard sign-in): switch role (banner, colour), IAM pages AccessDenied,
//     the ECR repository by name with its push commands, switch back.
//   `kagi console --profile ECRLoginAndPushRoleProfile` (keys from the page): the URL lands a
//     fresh browser as the role session, once; the user's own long-term keys need
//     sts:GetFederationToken, which it lacks (AccessDenied, 254).
//   a phone-sized screen: no sideways scrolling.
//
// Run by tests/console_browser.rs, which starts the server and passes:
//   KAGI_ENDPOINT        http://127.0.0.1:PORT
//   KAGI_ACCOUNT         the account id
//   KAGI_ROOT_PASSWORD   the root user's console password
//   KAGI_BIN             the kagi binary (the CLI half: keys check, `kagi console`)
//   KAGI_SHOTS_DIR       where every step's screenshot goes (target/browser-shots)
//   KAGI_DOCS_DIR        docs/screenshots; written only with KAGI_UPDATE_SCREENSHOTS=1
//   KAGI_CHROMIUM        the browser (default /usr/bin/chromium)
//
// Selectors are labels, roles and visible text (what a user sees), never CSS paths. Any failed
// expectation throws; the script then saves a FAILED-*.png and exits 1.

import * as lib from "./lib.mjs";
import { accountMenu, axeProblems, openTab, axeSettled, escapeRe, guardContext, header, launchBrowser, looseCookies, signedInAs, tempDir, watchPage } from "./lib.mjs";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = process.env;
const need = (name) => {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set (tests/console_browser.rs sets it)`);
  return v;
};
const endpoint = need("KAGI_ENDPOINT");
const account = need("KAGI_ACCOUNT");
const rootPassword = need("KAGI_ROOT_PASSWORD");
const kagiBin = need("KAGI_BIN");
const shotsDir = need("KAGI_SHOTS_DIR");
const docsDir = env.KAGI_DOCS_DIR;
const update = env.KAGI_UPDATE_SCREENSHOTS === "1";

const USER = "user-for-switch";
const USER_PASSWORD = "Switch-Role-2026!pw";
const ROLE = "ECRLoginAndPushRole";
const ROLE_PROFILE = "ECRLoginAndPushRoleProfile";
const REPO = "test-repos";
const REGION = "ap-northeast-1";

// Screenshots copied to docs/screenshots/ (README's "Console" section) with KAGI_UPDATE_SCREENSHOTS=1.
const DOCS_SHOTS = new Set([
  "policy-editor-findings",
  "role-created",
  "switched-role-denied",
  "ecr-repository",
  "ecr-as-role",
  "federated-role-session",
]);

const switchRolePolicy = JSON.stringify(
  {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: "sts:AssumeRole",
        Resource: `arn:aws:iam::${account}:role/${ROLE}`,
      },
    ],
  },
  null,
  4,
);

// The seed's ECRPushAndLoginPolicy exactly as the tutorial prints it: `//` comments included
// (IAM rejects it; the editor must say where: line 3).
const ecrPolicyWithComments = `{
\t"Version": "2012-10-17",
        // ECRへのログインやプッシュに必要なアクションを指定
\t"Statement": [
\t\t{
\t\t\t"Sid": "VisualEditor0",
\t\t\t"Effect": "Allow",
\t\t\t"Action": [
\t\t\t\t"ecr:GetDownloadUrlForLayer",
\t\t\t\t"ecr:BatchGetImage",
\t\t\t\t"ecr:CompleteLayerUpload",
\t\t\t\t"ecr:UploadLayerPart",
\t\t\t\t"ecr:InitiateLayerUpload",
\t\t\t\t"ecr:BatchCheckLayerAvailability",
\t\t\t\t"ecr:PutImage"
\t\t\t],
                          // アクションの対象となるECRのリポジトリを指定
\t\t\t"Resource": "arn:aws:ecr:${REGION}:${account}:repository/${REPO}"
\t\t},
\t\t{
\t\t\t"Effect": "Allow",
\t\t\t"Action": "ecr:GetAuthorizationToken",
\t\t\t"Resource": "*"
\t\t}
\t]
}
`;
// The same document without the comment lines: what the user pastes after reading the finding.
const ecrPolicy = ecrPolicyWithComments
  .split("\n")
  .filter((l) => !l.trim().startsWith("//"))
  .join("\n");

const browser = await launchBrowser();

let shotNo = 0;
let page;
const problems = [];

/** A new browser context, guarded by the shared checks (tests/browser/lib.mjs): CSP
 * violations (the DOM's event), security headers, page errors; cookies are checked per step. */
const contexts = [];
async function newContext(options) {
  const ctx = await browser.newContext(options);
  await guardContext(ctx, problems);
  contexts.push(ctx);
  return ctx;
}
function watch(p) {
  watchPage(p, problems);
}

async function shot(name) {
  shotNo += 1;
  const file = path.join(shotsDir, `${String(shotNo).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file });
  if (update && docsDir && DOCS_SHOTS.has(name)) {
    fs.mkdirSync(docsDir, { recursive: true });
    fs.copyFileSync(file, path.join(docsDir, `${name}.png`));
  }
}

/** One step: run it, screenshot the page it leaves, report. */
async function step(name, fn) {
  try {
    await fn();
    for (const ctx of contexts) problems.push(...looseCookies(await ctx.cookies()));
    problems.push(...(await axeProblems(page)));
  } catch (e) {
    try {
      await page.screenshot({ path: path.join(shotsDir, `FAILED-${name}.png`) });
    } catch {}
    const text = page ? await page.locator("main").innerText().catch(() => "") : "";
    throw new Error(`step ${name} failed at ${page?.url()}: ${e.message}\n--- page ---\n${text}`);
  }
  await shot(name);
  console.log(`ok ${shotNo} ${name}`);
}

const nav = () => lib.nav(page);
const alertText = () => page.getByRole("alert").first().innerText();

/** Clicks `locator` and returns the HTTP response of the page it leads to (after redirects). */
async function clickForPage(locator, pathSuffix) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && new URL(r.url()).pathname.endsWith(pathSuffix) && r.status() !== 303),
    locator.click(),
  ]);
  await page.waitForLoadState();
  return resp;
}

function kagi(args, extraEnv) {
  return execFileSync(kagiBin, args, {
    encoding: "utf8",
    env: { PATH: env.PATH, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

let accessKeyId;
let secretAccessKey;

try {
  const context = await newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  page = await context.newPage();
  watch(page);

  // ---------------------------------------------------------------- root: the seed's steps 2–6
  await step("signin", async () => {
    await page.goto(`${endpoint}/console/`);
    assert.match(new URL(page.url()).pathname, /\/console\/signin$/, "signed out → sign-in page");
    await page.getByLabel("Account ID").fill(account);
    await page.getByLabel("Password", { exact: true }).fill(rootPassword);
  });

  await step("signed-in-root", async () => {
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForLoadState();
    await signedInAs(page, `arn:aws:iam::${account}:root`);
    await page.getByRole("heading", { name: "Users" }).waitFor();
  });

  await step("create-user", async () => {
    await page.getByLabel("User name").fill(USER);
    await page.getByLabel(/Console password/).fill(USER_PASSWORD);
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("heading", { name: USER }).waitFor();
    await page.getByText(`arn:aws:iam::${account}:user/${USER}`).waitFor();
  });

  await step("access-key-created", async () => {
    await openTab(page, "Security credentials");
    await page.getByRole("radio", { name: "Command Line Interface (CLI)" }).check();
    await page.getByRole("button", { name: "Create access key" }).click();
    await page.getByRole("heading", { name: "Access key created" }).waitFor();
    await page.getByText("This is the only time the secret access key can be viewed").waitFor();
    accessKeyId = (await page.getByRole("row", { name: /Access key ID/ }).getByRole("cell").innerText()).trim();
    secretAccessKey = (await page.getByRole("row", { name: /Secret access key/ }).getByRole("cell").innerText()).trim();
    assert.match(accessKeyId, /^AKIA[A-Z0-9]{16}$/);
    assert.equal(secretAccessKey.length, 40, "a secret access key has 40 characters");
    // Shown once, with a copy button (the console's script) and the .csv download.
    await page.getByRole("button", { name: "Copy secret access key" }).waitFor();
    // The .csv download, in the IAM console's format.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: /Download \.csv/ }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${USER}_accessKeys.csv`);
    const csv = fs.readFileSync(await download.path(), "utf8").split(/\r?\n/);
    assert.equal(csv[0], "Access key ID,Secret access key");
    assert.equal(csv[1], `${accessKeyId},${secretAccessKey}`);
  });

  // The key the page showed once really is the user's: the CLI signs with it.
  {
    const out = JSON.parse(
      kagi(["sts", "get-caller-identity", "--endpoint-url", endpoint, "--region", REGION, "--output", "json"], {
        HOME: tempDir("kagi-browser-"),
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
      }),
    );
    assert.equal(out.Arn, `arn:aws:iam::${account}:user/${USER}`);
    console.log(`ok   the new access key signs as ${out.Arn}`);
  }

  await step("access-key-listed", async () => {
    await page.getByRole("link", { name: "Done" }).click();
    await page.getByRole("heading", { name: USER }).waitFor();
    await page.getByRole("row", { name: new RegExp(accessKeyId) }).getByText("Active").waitFor();
    // The secret is never shown again.
    assert.equal(await page.getByText(secretAccessKey).count(), 0);
  });

  await step("switch-role-policy", async () => {
    await nav().getByRole("link", { name: "Policies" }).click();
    await page.getByRole("link", { name: "Create policy" }).click();
    await page.getByLabel("Policy name").fill("SwitchRolePolicy");
    await page.getByLabel("Policy document (JSON)").fill(switchRolePolicy);
    await page.getByText("The policy engine has no findings.").waitFor();
  });

  await step("switch-role-policy-created", async () => {
    await page.getByRole("button", { name: "Create policy" }).click();
    await page.getByRole("heading", { name: "Policies" }).waitFor();
    await page.getByRole("row", { name: /SwitchRolePolicy/ }).waitFor();
  });

  await step("policy-editor-findings", async () => {
    await page.getByRole("link", { name: "Create policy" }).click();
    await page.getByLabel("Policy name").fill("ECRPushAndLoginPolicy");
    const editor = page.getByLabel("Policy document (JSON)");
    await editor.fill(ecrPolicyWithComments);
    // Live findings while typing: the `//` comment is flagged at its line and column.
    await page.getByText(/Line 3, column 9: /).waitFor();
    // Show the flagged line in the screenshot (the editor scrolled to the end while filling).
    await editor.evaluate((e) => {
      e.setSelectionRange(0, 0);
      e.scrollTop = 0;
    });
  });

  await step("policy-rejected-on-submit", async () => {
    const resp = await clickForPage(page.getByRole("button", { name: "Create policy" }), "/console/policies");
    assert.equal(resp.status(), 400, "a document with comments is refused");
    assert.match(await alertText(), /Line 3, column 9: /);
    // The draft is kept for fixing.
    assert.equal(await page.getByLabel("Policy document (JSON)").inputValue(), ecrPolicyWithComments);
  });

  await step("ecr-policy-created", async () => {
    await page.getByLabel("Policy document (JSON)").fill(ecrPolicy);
    await page.getByText("The policy engine has no findings.").waitFor();
    await page.getByRole("button", { name: "Create policy" }).click();
    await page.getByRole("heading", { name: "Policies" }).waitFor();
    await page.getByRole("row", { name: /ECRPushAndLoginPolicy/ }).waitFor();
  });
  const policyArn = async (name) =>
    (await page.getByRole("row", { name: new RegExp(name) }).getByText(/^arn:aws:iam::/).innerText()).trim();
  const switchPolicyArn = await policyArn("SwitchRolePolicy");
  const ecrPolicyArn = await policyArn("ECRPushAndLoginPolicy");
  assert.equal(ecrPolicyArn, `arn:aws:iam::${account}:policy/ECRPushAndLoginPolicy`);

  await step("role-wizard", async () => {
    await nav().getByRole("link", { name: "Roles" }).click();
    await page.getByRole("link", { name: "Create role" }).click();
    await page.getByRole("radio", { name: "AWS account: this account" }).check();
    // The generated trust policy (pretty-printed) names this account's root, as in the seed.
    await page.getByText(new RegExp(`"AWS":\\s*"arn:aws:iam::${account}:root"`)).first().waitFor();
    await page.getByLabel("Role name").fill(ROLE);
    await page.getByLabel(/Permissions policy ARN/).fill(ecrPolicyArn);
  });

  await step("role-created", async () => {
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("heading", { name: ROLE }).waitFor();
    await page.getByText(`arn:aws:iam::${account}:role/${ROLE}`).first().waitFor();
    await page.getByRole("row", { name: /ECRPushAndLoginPolicy/ }).waitFor();
    await openTab(page, "Trust relationships");
    await page.getByRole("heading", { name: "Trust relationships" }).waitFor();
    await page.getByText(new RegExp(`"AWS":\\s*"arn:aws:iam::${account}:root"`)).first().waitFor();
  });

  await step("user-policy-attached", async () => {
    await nav().getByRole("link", { name: "Users" }).click();
    await page.getByRole("link", { name: USER }).click();
    await page.getByLabel("Policy ARN").fill(switchPolicyArn);
    await page.getByRole("button", { name: "Attach policy" }).click();
    await page.getByRole("heading", { name: USER }).waitFor();
    await page.getByRole("row", { name: /SwitchRolePolicy/ }).waitFor();
  });

  await step("ecr-repositories", async () => {
    await nav().getByRole("link", { name: "ECR" }).click();
    await page.getByLabel("Region").fill(REGION);
    await page.getByRole("button", { name: "Change region" }).click();
    await page.getByRole("heading", { name: "ECR repositories" }).waitFor();
    const row = page.getByRole("row", { name: new RegExp(escapeRe(REPO)) });
    await row.waitFor();
    // The URI names this server's registry, as a docker client would use it.
    await row.getByText(`${new URL(endpoint).host}/${REPO}`).waitFor();
  });

  await step("ecr-repository", async () => {
    await page.getByRole("link", { name: REPO, exact: true }).click();
    await page.getByRole("heading", { name: REPO }).waitFor();
    // The image the Rust test pushed, with its tag and digest.
    await page.getByRole("row", { name: /\bv1\b.*sha256:[0-9a-f]{64}/ }).waitFor();
  });

  await step("ecr-push-commands", async () => {
    await page.getByText("View push commands").click();
    await page
      .getByText(`aws ecr get-login-password --region ${REGION} --endpoint-url ${endpoint} | docker login --username AWS --password-stdin ${new URL(endpoint).host}`)
      .waitFor();
    await page.getByText(`docker push ${new URL(endpoint).host}/${REPO}:latest`).waitFor();
  });

  await step("signed-out", async () => {
    await accountMenu(page, "Sign out");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The old session is gone: a console page sends us back to sign-in.
    await page.goto(`${endpoint}/console/users`);
    assert.match(new URL(page.url()).pathname, /\/console\/signin$/);
  });

  // ---------------------------------------------------------------- user-for-switch
  await step("signed-in-user", async () => {
    // With the keyboard only: type, Tab to the next field, Enter submits.
    await page.goto(`${endpoint}/console/signin`);
    await page.getByLabel("Account ID").focus();
    await page.keyboard.type(account);
    await page.keyboard.press("Tab");
    await page.keyboard.type(USER);
    await page.keyboard.press("Tab");
    await page.keyboard.type(USER_PASSWORD);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/console\/users$/);
    await signedInAs(page, `arn:aws:iam::${account}:user/${USER}`);
    // The user may only assume the role: even its first page is AWS's AccessDenied.
    assert.match(
      await alertText(),
      new RegExp(
        `AccessDenied.*User: ${escapeRe(`arn:aws:iam::${account}:user/${USER}`)} is not authorized to perform: iam:ListUsers`,
        "s",
      ),
    );
  });

  await step("switch-role-form", async () => {
    await accountMenu(page, "Switch role");
    assert.equal(await page.getByLabel("Account").inputValue(), account);
    await page.getByLabel("Role", { exact: true }).fill(ROLE);
    await page.getByLabel(/Display name/).fill("ECR push");
    await page.getByRole("radio", { name: "Green" }).check();
  });

  const sessionArn = new RegExp(`arn:aws:sts::${account}:assumed-role/${ROLE}/[\\w+=,.@-]+`);
  await step("switched-role-denied", async () => {
    const resp = await clickForPage(page.getByRole("button", { name: "Switch role" }), "/console/users");
    // The banner shows the role session, and the page is the role's AccessDenied, with 403.
    const banner = header(page).getByRole("status");
    await banner.getByText("ECR push").waitFor();
    // In the colour chosen (the IAM console's "Green").
    assert.equal(await banner.evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(183, 202, 157)");
    assert.match(await header(page).textContent(), sessionArn);
    assert.equal(resp.status(), 403);
    assert.match(
      await alertText(),
      new RegExp(
        `AccessDenied.*User: ${sessionArn.source} is not authorized to perform: iam:ListUsers on resource: .* because no identity-based policy allows the iam:ListUsers action`,
        "s",
      ),
    );
  });

  await step("role-denied-roles-page", async () => {
    const resp = await clickForPage(nav().getByRole("link", { name: "Roles" }), "/console/roles");
    assert.equal(resp.status(), 403);
    assert.match(await alertText(), /AccessDenied.*iam:ListRoles/s);
  });

  await step("ecr-as-role", async () => {
    await nav().getByRole("link", { name: "ECR" }).click();
    await page.getByLabel("Region").fill(REGION);
    await page.getByRole("button", { name: "Change region" }).click();
    // The seed's policy allows pushing to test-repos, not listing repositories.
    assert.match(
      await alertText(),
      new RegExp(`AccessDenied.*User: ${sessionArn.source} is not authorized to perform: ecr:DescribeRepositories`, "s"),
    );
    const open = page.locator("form").filter({ has: page.getByRole("button", { name: "Open repository" }) });
    await open.getByLabel("Repository name").fill(REPO);
    await open.getByRole("button", { name: "Open repository" }).click();
    await page.getByRole("heading", { name: REPO }).waitFor();
    await page.getByText("View push commands").click();
    await page.getByText(`docker push ${new URL(endpoint).host}/${REPO}:latest`).waitFor();
  });

  await step("switched-back", async () => {
    // Wait for the page the button leads to (not the one it was on) before reading the header.
    await clickForPage(header(page).getByRole("button", { name: "Switch back" }), "/console/users");
    await signedInAs(page, `arn:aws:iam::${account}:user/${USER}`);
    assert.doesNotMatch(await header(page).textContent(), sessionArn);
  });

  // ---------------------------------------------------------------- `kagi console` (federation)
  // The seed's steps 7–8 with the keys the console showed, then `kagi console --profile` of the
  // role profile: the URL it prints signs a fresh browser in as the role session.
  const home = tempDir("kagi-browser-home-");
  fs.mkdirSync(path.join(home, ".aws"));
  fs.writeFileSync(
    path.join(home, ".aws/credentials"),
    `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`,
    { mode: 0o600 },
  );
  fs.writeFileSync(
    path.join(home, ".aws/config"),
    `[default]\nregion = ${REGION}\n\n[profile ${ROLE_PROFILE}]\nrole_arn = arn:aws:iam::${account}:role/${ROLE}\nsource_profile = default\n`,
  );
  const cliEnv = { HOME: home, AWS_ENDPOINT_URL: endpoint };
  const loginUrl = kagi(["console", "--profile", ROLE_PROFILE], cliEnv).trim();
  assert.ok(loginUrl.startsWith(`${endpoint}/federation?Action=login&`), loginUrl);
  assert.ok(!loginUrl.includes(secretAccessKey));
  console.log("ok   kagi console --profile printed a sign-in URL");

  const fresh = await newContext({ viewport: { width: 1280, height: 800 } });
  page = await fresh.newPage();
  watch(page);
  const cliSessionArn = new RegExp(`arn:aws:sts::${account}:assumed-role/${ROLE}/botocore-session-\\d+`);
  await step("federated-role-session", async () => {
    await page.goto(loginUrl);
    assert.match(new URL(page.url()).pathname, /^\/console\//, "landed in the console");
    assert.match(await header(page).textContent(), cliSessionArn);
    // With the role's permissions: AWS's AccessDenied for IAM, as in the API.
    assert.match(await alertText(), /AccessDenied.*is not authorized to perform: iam:ListUsers/s);
  });

  await step("federation-token-used", async () => {
    // A sign-in token works once.
    const again = await page.goto(loginUrl);
    assert.equal(again.status(), 400);
  });

  // With the user's long-term keys, `kagi console` first asks STS for a federation token (as
  // aws-vault does); user-for-switch may only assume the role, so STS answers AWS's
  // AccessDenied (the CLI's exit 254) and no URL is printed.
  try {
    const printed = kagi(["console"], cliEnv);
    assert.fail(`kagi console with the user's keys must be refused, printed: ${printed}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.equal(e.status, 254, String(e.stderr));
    assert.match(String(e.stderr), /AccessDenied.*not authorized to perform: sts:GetFederationToken/s);
    assert.equal(String(e.stdout), "");
  }
  console.log("ok   kagi console with the user's keys: GetFederationToken AccessDenied (exit 254)");

  // ---------------------------------------------------------------- on a phone
  // The same console on a phone-sized screen: pages fit the width (no sideways scrolling).
  const phone = await newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  });
  page = await phone.newPage();
  watch(page);
  const fitsWidth = async () => {
    const [scroll, width] = [await page.evaluate(() => document.documentElement.scrollWidth), page.viewportSize().width]; // not innerWidth: a mobile layout viewport widens to fit wide content
    assert.ok(scroll <= width, `page is ${scroll}px wide on a ${width}px screen`);
  };
  await step("phone-signin", async () => {
    await page.goto(`${endpoint}/console/signin`);
    await fitsWidth();
    await page.getByLabel("Account ID").fill(account);
    await page.getByLabel("Password", { exact: true }).fill(rootPassword);
    await page.getByRole("button", { name: "Sign in" }).tap();
    await page.getByRole("heading", { name: "Users" }).waitFor();
  });
  await step("phone-users", async () => {
    await page.getByRole("row", { name: new RegExp(USER) }).waitFor();
    await fitsWidth();
  });

  await axeSettled();
  assert.deepEqual([...new Set(problems)], [], "no page errors, CSP violations, missing security headers or loose cookies");
  console.log(`OK: ${shotNo} steps, screenshots in ${shotsDir}`);
} catch (e) {
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
