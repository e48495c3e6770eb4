// Access Advisor and a role's sessions:
//   outside the console: the user runner (may assume Deployer) assumes the role Deployer; the
//     session calls ECR.
//   root, the role's "Access Advisor" tab: ECR accessed by the role, STS allowed and "Not
//     accessed in the tracking period"; the user's tab: STS accessed by runner.
//   the role's "Sessions" tab lists the session (name, who assumed it, source IP).
//   "Revoke active sessions": a wrong name is refused (nothing revoked); the role's name
//     confirms; the session shows Revoked and its credentials are denied at once; a session
//     started afterwards works.
//   without scripts: the tabs are sections of the page, and revoking is a plain form.

import { assert, endpoint, escapeRe, feature, iamArn, openTab, REGION, rootCli, rootPage, rootPassword, signIn, tempDir } from "./lib.mjs";
import { execFileSync } from "node:child_process";

const ROLE = "Deployer";
const USER = "runner";

/** The CLI with the given credentials: the parsed answer, or `{error}` with its stderr. */
function cli(creds, args) {
  try {
    const out = execFileSync(
      process.env.KAGI_BIN,
      [...args, "--endpoint-url", endpoint, "--region", REGION, "--output", "json"],
      {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          HOME: tempDir("kagi-browser-advisor-"),
          AWS_ACCESS_KEY_ID: creds.AccessKeyId,
          AWS_SECRET_ACCESS_KEY: creds.SecretAccessKey,
          ...(creds.SessionToken ? { AWS_SESSION_TOKEN: creds.SessionToken } : {}),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    return out.trim() ? JSON.parse(out) : {};
  } catch (e) {
    return { error: String(e.stderr) };
  }
}

const assume = (key, name) =>
  cli(key, ["sts", "assume-role", "--role-arn", iamArn("role", ROLE), "--role-session-name", name]).Credentials;

await feature("access-advisor", async (t) => {
  rootCli(["iam", "create-user", "--user-name", USER]);
  const key = rootCli(["iam", "create-access-key", "--user-name", USER]).AccessKey;
  rootCli([
    "iam", "put-user-policy", "--user-name", USER, "--policy-name", "assume",
    "--policy-document", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] }),
  ]);
  rootCli([
    "iam", "create-role", "--role-name", ROLE,
    "--assume-role-policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: iamArn("user", USER) }, Action: "sts:AssumeRole" }] }),
  ]);
  rootCli([
    "iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "deploy",
    "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["ecr:DescribeRepositories", "sts:GetCallerIdentity"], Resource: "*" }] }),
  ]);
  const old = assume(key, "deploy-1");
  assert.ok(old, "runner assumes Deployer");
  assert.ok(!cli(old, ["ecr", "describe-repositories"]).error, "the session may call ECR");

  const root = await rootPage(t);
  await t.step("role-access-advisor", async () => {
    await root.goto(`${endpoint}/console/roles/${ROLE}`);
    await openTab(root, "Access Advisor");
    const ecr = root.getByRole("row", { name: /Amazon Elastic Container Registry/ });
    await ecr.waitFor();
    assert.match(await ecr.innerText(), new RegExp(`${escapeRe(iamArn("role", ROLE))} in ${REGION}`));
    assert.match(await ecr.innerText(), /deploy/);
    const sts = root.getByRole("row", { name: /AWS Security Token Service/ });
    assert.match(await sts.innerText(), /Not accessed in the tracking period/);
  }, { docs: "access-advisor" });

  await t.step("user-access-advisor", async () => {
    await root.goto(`${endpoint}/console/users/${USER}`);
    await openTab(root, "Access Advisor");
    const sts = root.getByRole("row", { name: /AWS Security Token Service/ });
    await sts.waitFor();
    assert.match(await sts.innerText(), new RegExp(escapeRe(iamArn("user", USER))));
    assert.match(await sts.innerText(), /assume \(inline, runner\)/);
  });

  await t.step("role-sessions", async () => {
    await root.goto(`${endpoint}/console/roles/${ROLE}`);
    await openTab(root, "Sessions");
    const row = root.getByRole("row", { name: /deploy-1/ });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(escapeRe(iamArn("user", USER))));
    assert.match(await row.innerText(), /127\.0\.0\.1/);
    assert.match(await row.innerText(), /Active/);
  }, { docs: "role-sessions" });

  // Session tokens carry their issue time in seconds: revoke in a later second than deploy-1's.
  await new Promise((r) => setTimeout(r, 1100));
  await t.step("revoke-needs-the-name", async () => {
    await root.getByLabel(/To confirm, type the role name/).fill("not-the-role");
    await root.getByRole("button", { name: "Revoke active sessions" }).click();
    await root.getByRole("alert").getByText(/Nothing was revoked/).waitFor();
    assert.ok(!cli(old, ["ecr", "describe-repositories"]).error, "nothing was revoked");
  });

  await t.step("revoked", async () => {
    await root.goto(`${endpoint}/console/roles/${ROLE}#sessions`);
    await root.getByLabel(/To confirm, type the role name/).fill(ROLE);
    await root.getByRole("button", { name: "Revoke active sessions" }).click();
    await root.getByRole("status").getByText(/are revoked/).waitFor();
    await openTab(root, "Sessions");
    await root.getByRole("row", { name: /deploy-1/ }).getByText("Revoked").waitFor();
    const denied = cli(old, ["ecr", "describe-repositories"]);
    assert.match(denied.error || "", /AccessDenied/, "the old session is denied at once");
    assert.match(cli(old, ["sts", "get-caller-identity"]).Arn || "", /assumed-role/, "GetCallerIdentity is always allowed");
  });

  await new Promise((r) => setTimeout(r, 1100));
  const fresh = assume(key, "deploy-2");
  assert.ok(!cli(fresh, ["ecr", "describe-repositories"]).error, "a session started after the revocation works");

  await t.step("without-script", async () => {
    const ctx = await t.browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled: false });
    t.contexts.push(ctx);
    const plain = await ctx.newPage();
    await signIn(plain, null, rootPassword);
    await plain.goto(`${endpoint}/console/roles/${ROLE}`);
    await plain.getByRole("row", { name: /deploy-2/ }).getByText("Active").waitFor();
    await plain.getByRole("row", { name: /Amazon Elastic Container Registry/ }).waitFor();
    await new Promise((r) => setTimeout(r, 1100));
    await plain.getByLabel(/To confirm, type the role name/).fill(ROLE);
    await plain.getByRole("button", { name: "Revoke active sessions" }).click();
    await plain.getByText(/are revoked/).first().waitFor();
    await t.shot("no-script-revoked", plain);
    await ctx.close();
    assert.match(cli(fresh, ["ecr", "describe-repositories"]).error || "", /AccessDenied/);
  });

  // Before console.js has made the tabs (here: it never loads), the page shows the first
  // section and the one its URL names, not every section at once.
  await t.step("before-the-script", async () => {
    const ctx = await t.browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.contexts.push(ctx);
    const page = await ctx.newPage();
    await page.route("**/console/static/console.js", (r) => r.abort());
    await signIn(page, null, rootPassword);
    await page.goto(`${endpoint}/console/roles/${ROLE}`);
    await page.getByRole("heading", { name: ROLE, exact: true }).waitFor();
    const advisor = page.getByRole("row", { name: /Amazon Elastic Container Registry/ });
    assert.equal(await advisor.isVisible(), false, "Access Advisor's rows wait for their tab");
    assert.equal(await page.locator("[data-tabs] > .tab-panel").first().isVisible(), true);
    await page.goto(`${endpoint}/console/roles/${ROLE}#access-advisor`);
    await advisor.waitFor();
    await t.shot("before-the-script", page);
    await ctx.close();
  });
});
