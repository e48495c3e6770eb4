// Switch role beyond the seed's single switch (roles and the user made with the CLI):
//   a sign-in link (?account=&username=) fills the form but the password;
//   a switch-role link as the AWS console writes them (?account=&roleName=&displayName=&color=
//     with AWS's hex colour) fills the form; switching shows the banner in that colour and the
//     role's permissions (ReaderRole may list users);
//   switching again from the role session to PusherRole: the new session is assumed by the
//     user (not chained from the first role), with PusherRole's permissions only;
//   "Recent roles" offers both as one-click entries; one click switches back to ReaderRole;
//   "Switch back" returns to the user and its own permissions.

import { account, accountMenu, alertText, assert, clickForPage, endpoint, escapeRe, feature, header, iamArn, nav, rootCli, signedInAs } from "./lib.mjs";

const USER = "switch-user";
const PASSWORD = "Switch-User-Password-1!";
const thisAccount = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }],
});
const allow = (action, resource = "*") =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: resource }] });

await feature("switch-role", async (t) => {
  for (const [role, action] of [
    ["ReaderRole", "iam:ListUsers"],
    ["PusherRole", "iam:ListRoles"],
  ]) {
    rootCli(["iam", "create-role", "--role-name", role, "--assume-role-policy-document", thisAccount]);
    rootCli(["iam", "put-role-policy", "--role-name", role, "--policy-name", "Perm", "--policy-document", allow(action)]);
  }
  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli(["iam", "create-login-profile", "--user-name", USER, "--password", PASSWORD]);
  rootCli([
    "iam",
    "put-user-policy",
    "--user-name",
    USER,
    "--policy-name",
    "SwitchRoles",
    "--policy-document",
    allow("sts:AssumeRole", [iamArn("role", "ReaderRole"), iamArn("role", "PusherRole")]),
  ]);

  const page = await t.newPage();
  const banner = () => header(page).getByRole("status");
  const status = async (link, path) => (await clickForPage(page, nav(page).getByRole("link", { name: link }), path)).status();
  const sessionArn = (role) => new RegExp(`arn:aws:sts::${account}:assumed-role/${role}/${escapeRe(USER)}\\b`);

  await t.step("signin-link-prefills", async () => {
    await page.goto(`${endpoint}/console/signin?account=${account}&username=${USER}`);
    assert.equal(await page.getByLabel("Account ID").inputValue(), account);
    assert.equal(await page.getByLabel(/IAM user name/).inputValue(), USER);
    assert.equal(await page.getByLabel("Password", { exact: true }).inputValue(), "");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await signedInAs(page, iamArn("user", USER));
    assert.match(await alertText(page), /AccessDenied.*iam:ListUsers/s);
  });

  await t.step("switch-link-prefills", async () => {
    await page.goto(`${endpoint}/console/switch-role?account=${account}&roleName=ReaderRole&displayName=Reader&color=99BCF3`);
    assert.equal(await page.getByLabel("Account").inputValue(), account);
    assert.equal(await page.getByLabel("Role", { exact: true }).inputValue(), "ReaderRole");
    assert.equal(await page.getByLabel(/Display name/).inputValue(), "Reader");
    assert.ok(await page.getByRole("radio", { name: "Blue" }).isChecked());
  });

  await t.step("switched-to-reader", async () => {
    const resp = await clickForPage(page, page.getByRole("button", { name: "Switch role" }), "");
    assert.equal(resp.status(), 200);
    await banner().getByText("Reader").waitFor();
    assert.equal(await banner().evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(153, 188, 243)");
    assert.match(await header(page).textContent(), sessionArn("ReaderRole"));
    await page.getByRole("row", { name: new RegExp(escapeRe(iamArn("user", USER))) }).waitFor();
    assert.equal(await status("Roles", "/console/roles"), 403);
  });

  await t.step("switched-to-pusher-from-role-session", async () => {
    await accountMenu(page, "Switch role");
    await page.getByLabel("Role", { exact: true }).fill("PusherRole");
    await page.getByLabel(/Display name/).fill("Pusher");
    await page.getByRole("radio", { name: "Red" }).check();
    await page.getByRole("main").getByRole("button", { name: "Switch role" }).click();
    await banner().getByText("Pusher").waitFor();
    await page.waitForLoadState(); // the colour comes from the stylesheet: wait for the load event
    assert.equal(await banner().evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(242, 176, 169)");
    // Assumed by the user (its name is the session name), not by ReaderRole.
    assert.match(await header(page).textContent(), sessionArn("PusherRole"));
    assert.equal(await status("Users", "/console/users"), 403);
    assert.equal(await status("Roles", "/console/roles"), 200);
  });

  await t.step("recent-roles", async () => {
    await accountMenu(page, "Switch role");
    await page.getByRole("heading", { name: "Recent roles" }).waitFor();
    const recent = page.getByRole("list").filter({ has: page.getByRole("button", { name: "Reader", exact: true }) });
    await recent.getByRole("button", { name: "Pusher", exact: true }).waitFor();
    await recent.getByRole("button", { name: "Reader", exact: true }).click();
    await banner().getByText("Reader").waitFor();
    assert.match(await header(page).textContent(), sessionArn("ReaderRole"));
    await page.getByRole("row", { name: new RegExp(escapeRe(iamArn("user", USER))) }).waitFor();
  });

  await t.step("switched-back", async () => {
    await header(page).getByRole("button", { name: "Switch back" }).click();
    await signedInAs(page, iamArn("user", USER));
    assert.equal(await banner().count(), 0);
    assert.equal(await status("Users", "/console/users"), 403);
  });
});
