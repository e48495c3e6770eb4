// Cross-account switch role (issue 12's console): an organization and a member account made
// with the CLI beforehand (organizations create-organization, create-account); an IAM user of
// the management account who may assume OrganizationAccountAccessRole in any account:
//   signs in to the management account;
//   switches into OrganizationAccountAccessRole of the new account with a display name and a
//     colour: the band in that colour names the display name and the new account's id, the
//     header the role session of that account; the pages show that account's IAM (its roles)
//     and, on the Organizations page, the member account's read-only notice;
//   "Recent roles" remembers account and role;
//   "Switch back" returns to the user in the management account.
// Before that, the management account's root on the Organizations pages: the new account in
// the accounts table, an OU created and the account moved into it, SCPs enabled on the root
// and a policy created in the policy editor and attached to the OU.

import { accountMenu, alertText, assert, clickForPage, escapeRe, feature, header, iamArn, nav, rootCli, rootPage, signIn, signedInAs } from "./lib.mjs";

const USER = "org-switcher";
const PASSWORD = "Org-Switcher-Password-1!";
const ROLE = "OrganizationAccountAccessRole";

/** Chooses the option of `select` whose text contains `text`. */
const pick = async (select, text) =>
  select.selectOption(await select.locator("option", { hasText: text }).first().getAttribute("value"));

await feature("cross-account", async (t) => {
  rootCli(["organizations", "create-organization", "--feature-set", "ALL"]);
  const created = rootCli(["organizations", "create-account", "--email", "workload@example.com", "--account-name", "workload"]);
  const member = created.CreateAccountStatus.AccountId;
  assert.match(member, /^\d{12}$/);
  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli(["iam", "create-login-profile", "--user-name", USER, "--password", PASSWORD]);
  rootCli([
    "iam",
    "put-user-policy",
    "--user-name",
    USER,
    "--policy-name",
    "SwitchIntoMembers",
    "--policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: `arn:aws:iam::*:role/${ROLE}` }],
    }),
  ]);

  await t.step("organizations-as-management-account", async () => {
    const root = await rootPage(t);
    assert.equal((await clickForPage(root, nav(root).getByRole("link", { name: "Organizations" }), "/console/organizations")).status(), 200);
    await root.getByRole("row", { name: new RegExp(`workload ${member}`) }).waitFor();
    await root.getByLabel("Organizational unit name").fill("Workloads");
    await clickForPage(root, root.getByRole("button", { name: "Create organizational unit" }), "/console/organizations");
    await root.getByText("Organizational unit Workloads created.").waitFor();
    await root.getByLabel("Account", { exact: true }).selectOption(member);
    await pick(root.getByLabel("Destination"), "OU: Workloads");
    await clickForPage(root, root.getByRole("button", { name: "Move AWS account" }), "/console/organizations");
    await root.getByRole("row", { name: new RegExp(`workload ${member} .* Workloads ou-`) }).waitFor();
  });

  await t.step("service-control-policy-attached", async () => {
    const root = t.page;
    await clickForPage(root, root.getByRole("navigation", { name: "Organizations" }).getByRole("link", { name: "Policies" }), "/console/organizations/policies");
    await clickForPage(root, root.getByRole("button", { name: "Enable service control policies" }), "/console/organizations/policies");
    await root.getByRole("link", { name: "FullAWSAccess", exact: true }).waitFor();
    await clickForPage(root, root.getByRole("link", { name: "Create a service control policy" }), "/console/organizations/policies/new");
    await root.getByLabel("Policy name").fill("NoNewUsers");
    await root.getByText("The policy engine has no findings.").waitFor();
    await clickForPage(root, root.getByRole("button", { name: "Create policy" }), "");
    await root.getByRole("heading", { name: "NoNewUsers" }).waitFor();
    await pick(root.getByLabel("Target"), "OU: Workloads");
    await clickForPage(root, root.getByRole("button", { name: "Attach policy" }), "");
    await root.getByRole("row", { name: /Workloads ou-.* ORGANIZATIONAL_UNIT/ }).waitFor();
  });

  const page = await t.newPage();
  const band = () => header(page).getByRole("status");
  const sessionArn = `arn:aws:sts::${member}:assumed-role/${ROLE}/${USER}`;

  await t.step("signed-in-to-management-account", async () => {
    await signIn(page, USER, PASSWORD);
    await signedInAs(page, iamArn("user", USER));
    assert.match(await alertText(page), /AccessDenied.*iam:ListUsers/s);
  });

  await t.step("switch-role-form", async () => {
    await accountMenu(page, "Switch role");
    await page.getByLabel("Account ID or alias").fill(member);
    await page.getByLabel("Role", { exact: true }).fill(ROLE);
    await page.getByLabel(/Display name/).fill("Workload admin");
    await page.getByRole("radio", { name: "Green" }).check();
  });

  await t.step("switched-into-member-account", async () => {
    const resp = await clickForPage(page, page.getByRole("main").getByRole("button", { name: "Switch role" }), "");
    assert.equal(resp.status(), 200);
    await band().getByText("Workload admin").waitFor();
    await page.waitForLoadState(); // the colour comes from the stylesheet
    assert.equal(await band().evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(183, 202, 157)");
    const text = await header(page).textContent();
    assert.match(text, new RegExp(`Account ID: ${member}`));
    assert.match(text, new RegExp(escapeRe(sessionArn)));
    assert.ok(!text.includes(iamArn("user", USER)), "acting as the role, not the user");
    // The new account's users (none yet), then its roles: the role switched into.
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await page.getByText("No users yet").waitFor();
    assert.equal((await clickForPage(page, nav(page).getByRole("link", { name: "Roles" }), "/console/roles")).status(), 200);
    await page.getByRole("row", { name: new RegExp(escapeRe(`arn:aws:iam::${member}:role/${ROLE}`)) }).waitFor();
  });

  await t.step("organizations-page-of-a-member", async () => {
    const resp = await clickForPage(page, nav(page).getByRole("link", { name: "Organizations" }), "/console/organizations");
    assert.equal(resp.status(), 200);
    await page.getByText(/is a member of the organization/).waitFor();
    assert.equal(await page.getByRole("button", { name: "Create AWS account" }).count(), 0);
  });

  await t.step("recent-roles", async () => {
    await accountMenu(page, "Switch role");
    await page.getByRole("heading", { name: "Recent roles" }).waitFor();
    await page.getByText(`${ROLE} @ ${member}`).waitFor();
  });

  await t.step("switched-back", async () => {
    await header(page).getByRole("button", { name: "Switch back" }).click();
    await signedInAs(page, iamArn("user", USER));
    assert.equal(await band().count(), 0);
    assert.ok(!(await header(page).textContent()).includes(member));
    assert.match(await alertText(page), /AccessDenied.*iam:ListUsers/s);
  });
});
