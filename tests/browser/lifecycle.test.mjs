// The rest of an IAM user's life in the console, by clicking (root), with the user's own
// browser and the CLI as witnesses:
//   inline policy: a draft with a comment is flagged live and refused; a clean one lets the
//     user list users; deleting it takes that away again;
//   access key: created, then Deactivate (the CLI's calls with it fail), Activate (they work
//     again), Delete (gone, and the CLI fails);
//   console access: Disable (the password no longer signs in), Enable with a new password;
//   deleting the user: a wrong name typed is refused and nothing is deleted; the right name
//     removes the user with everything it had (key, inline policy, group, login profile);
//   deleting a group, a role and a customer managed policy attached to the role the same way.

import {
  account,
  alertText,
  allow,
  assert,
  clickForPage,
  createPolicy,
  createUser,
  escapeRe,
  feature,
  iamArn,
  nav,
  openTab,
  REGION,
  rootCli,
  rootPage,
  signedInAs,
  signIn,
  tempDir, createRoleTrustingAccount } from "./lib.mjs";
import { execFileSync } from "node:child_process";

const USER = "life-user";
const PASSWORD = "Life-User-Password-1!";
const NEW_PASSWORD = "Life-User-Password-2!";
const GROUP = "LifeGroup";
const ROLE = "LifeRole";
const POLICY = "LifePolicy";

const commented = `{
  "Version": "2012-10-17",
  // who may list users
  "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]
}`;

/** `kagi sts get-caller-identity` with a user's key: the ARN, or the error's text. */
function whoAmI(id, secret) {
  try {
    const out = execFileSync(
      process.env.KAGI_BIN,
      ["sts", "get-caller-identity", "--endpoint-url", process.env.KAGI_ENDPOINT, "--region", REGION, "--output", "json"],
      {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          HOME: tempDir("kagi-browser-life-"),
          AWS_ACCESS_KEY_ID: id,
          AWS_SECRET_ACCESS_KEY: secret,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    return JSON.parse(out).Arn;
  } catch (e) {
    return `error: ${e.stderr}`;
  }
}

await feature("lifecycle", async (t) => {
  const root = await rootPage(t);
  const userPage = async () => {
    await nav(root).getByRole("link", { name: "Users" }).click();
    await root.getByRole("link", { name: USER, exact: true }).click();
    await root.getByRole("heading", { name: USER, exact: true }).waitFor();
  };

  await t.step("user-in-group", async () => {
    await nav(root).getByRole("link", { name: "Groups" }).click();
    await root.getByLabel("User group name").fill(GROUP);
    await root.getByRole("button", { name: "Create group" }).click();
    await root.getByRole("heading", { name: GROUP, exact: true }).waitFor();
    await createUser(root, USER, PASSWORD);
    await openTab(root, "Groups");
    await root.getByLabel("Group name").fill(GROUP);
    await root.getByRole("button", { name: "Add user to group" }).click();
    await root.getByRole("link", { name: GROUP, exact: true }).waitFor();
  });

  // ---------------------------------------------------------------- inline policy
  const user = await t.newPage();
  const userLists = async () => (await clickForPage(user, nav(user).getByRole("link", { name: "Users" }), "/console/users")).status();
  await signIn(user, USER, PASSWORD);
  t.page = root;

  await t.step("inline-draft-flagged", async () => {
    await openTab(root, "Permissions");
    await root.locator("summary", { hasText: "Create inline policy" }).click();
    await root.getByLabel("Inline policy name").fill("ListUsersInline");
    await root.getByLabel("Inline policy document (JSON)").fill(commented);
    await root.locator("#inline-findings").getByText(/Line 3, column 3: /).waitFor();
    const resp = await clickForPage(root, root.getByRole("button", { name: "Create inline policy" }), "/inline");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /Line 3, column 3: /);
  });

  await t.step("inline-policy-added", async () => {
    await root.getByLabel("Inline policy document (JSON)").fill(allow("iam:ListUsers"));
    await root.getByRole("button", { name: "Create inline policy" }).click();
    await root.getByRole("heading", { name: USER, exact: true }).waitFor();
    await root.locator("summary", { hasText: "ListUsersInline" }).waitFor();
    t.page = user;
    assert.equal(await userLists(), 200);
    await user.getByRole("link", { name: USER, exact: true }).waitFor();
  });

  await t.step("inline-policy-deleted", async () => {
    t.page = root;
    await root.locator("summary", { hasText: "ListUsersInline" }).click();
    await root.getByRole("button", { name: "Delete inline policy ListUsersInline" }).click();
    await root.getByText("No inline policies.").waitFor();
    assert.equal(await userLists(), 403);
  });

  // ---------------------------------------------------------------- access key
  let keyId;
  let secret;
  const keyRow = () => root.getByRole("row", { name: new RegExp(escapeRe(keyId)) });
  await t.step("access-key-works", async () => {
    await openTab(root, "Security credentials");
    await root.getByRole("button", { name: "Create access key" }).click();
    keyId = (await root.getByRole("row", { name: /Access key ID/ }).getByRole("cell").innerText()).trim();
    secret = (await root.getByRole("row", { name: /Secret access key/ }).getByRole("cell").innerText()).trim();
    await clickForPage(root, root.getByRole("link", { name: "Done" }), `/users/${USER}`);
    assert.equal(whoAmI(keyId, secret), iamArn("user", USER));
    // Its last use, as GetAccessKeyLastUsed tells (service sts).
    await userPage();
    await openTab(root, "Security credentials");
    await keyRow().getByText(/\(sts in /).waitFor();
  });

  await t.step("access-key-deactivated", async () => {
    await keyRow().getByRole("button", { name: "Deactivate" }).click();
    await keyRow().getByText("Inactive").waitFor();
    assert.match(whoAmI(keyId, secret), /^error: .*InvalidClientTokenId/s);
  });

  await t.step("access-key-activated", async () => {
    await keyRow().getByRole("button", { name: "Activate" }).click();
    await keyRow().getByText("Active", { exact: true }).waitFor();
    assert.equal(whoAmI(keyId, secret), iamArn("user", USER));
  });

  await t.step("access-key-deleted", async () => {
    await clickForPage(root, keyRow().getByRole("button", { name: "Delete" }), `/users/${USER}`);
    assert.equal(await keyRow().count(), 0);
    assert.match(whoAmI(keyId, secret), /^error: .*InvalidClientTokenId/s);
  });

  // ---------------------------------------------------------------- console access
  const other = await t.newPage();
  t.page = root;
  await t.step("console-access-disabled", async () => {
    await root.locator("summary", { hasText: "Manage console access" }).click();
    await root.getByRole("button", { name: "Disable console access" }).click();
    await root.getByRole("button", { name: "Enable console access" }).waitFor();
    const resp = await signIn(other, USER, PASSWORD);
    assert.equal(resp.status(), 401);
  });

  await t.step("console-access-enabled", async () => {
    await root.locator("form", { has: root.getByRole("button", { name: "Enable console access" }) }).getByLabel("Console password").fill(NEW_PASSWORD);
    await root.getByRole("button", { name: "Enable console access" }).click();
    await root.getByText(/Enabled \(since/).waitFor();
    await signIn(other, USER, NEW_PASSWORD);
    await signedInAs(other, iamArn("user", USER));
  });

  // ---------------------------------------------------------------- deleting
  // The delete section's button opens a modal dialog that names what goes and asks for its name.
  const confirmDelete = async (what, typed) => {
    // The page's script turns the delete section into a dialog: wait for it before clicking
    // (on a busy machine it runs late, and the click would find the plain form's button).
    await root.locator("dialog.confirm-dialog").first().waitFor({ state: "attached" });
    await root.getByRole("button", { name: `Delete ${what}`, exact: true }).click();
    const dialog = root.getByRole("dialog", { name: new RegExp(`^Delete ${what} `) });
    await dialog.getByLabel(/To confirm, enter the/).fill(typed);
    return clickForPage(root, dialog.getByRole("button", { name: `Delete ${what}`, exact: true }), "");
  };

  await t.step("user-delete-wrong-name-refused", async () => {
    await userPage();
    // Give the user a key again, so that the deletion has dependents to remove.
    await openTab(root, "Security credentials");
    await root.getByRole("button", { name: "Create access key" }).click();
    await root.getByRole("link", { name: "Done" }).click();
    const resp = await confirmDelete("user", `${USER}x`);
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /Nothing was deleted/);
    assert.equal(rootCli(["iam", "get-user", "--user-name", USER]).User.UserName, USER);
  });

  await t.step("user-deleted", async () => {
    await userPage();
    const resp = await confirmDelete("user", USER);
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "Users" }).waitFor();
    assert.equal(await root.getByRole("link", { name: USER, exact: true }).count(), 0);
    // Its group lost a member; the group is still there.
    assert.deepEqual(rootCli(["iam", "get-group", "--group-name", GROUP]).Users, []);
  });

  await t.step("group-deleted", async () => {
    await nav(root).getByRole("link", { name: "Groups" }).click();
    await root.getByRole("link", { name: GROUP, exact: true }).click();
    await confirmDelete("group", GROUP);
    await root.getByRole("heading", { name: "User groups" }).waitFor();
    assert.equal(await root.getByRole("link", { name: GROUP, exact: true }).count(), 0);
  });

  let policyArn;
  await t.step("role-with-policy", async () => {
    policyArn = await createPolicy(root, POLICY, allow("iam:ListUsers"));
    createRoleTrustingAccount(ROLE, account);
    rootCli(["iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", policyArn]);
    await root.getByRole("link", { name: POLICY, exact: true }).click();
    await root.getByText("Attachments: 1").waitFor();
  });

  await t.step("attached-policy-deleted", async () => {
    // Detached from the role first, then deleted.
    await confirmDelete("policy", POLICY);
    await root.getByRole("heading", { name: "Policies" }).waitFor();
    assert.equal(await root.getByRole("link", { name: POLICY, exact: true }).count(), 0);
    assert.deepEqual(rootCli(["iam", "list-attached-role-policies", "--role-name", ROLE]).AttachedPolicies, []);
  });

  await t.step("role-deleted", async () => {
    await nav(root).getByRole("link", { name: "Roles" }).click();
    await root.getByRole("link", { name: ROLE, exact: true }).click();
    await confirmDelete("role", ROLE);
    await root.getByRole("heading", { name: "Roles" }).waitFor();
    assert.equal(await root.getByRole("link", { name: ROLE, exact: true }).count(), 0);
  });
});
