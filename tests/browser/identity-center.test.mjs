// IAM Identity Center in the console, by clicking, then the access portal as the new user:
//   root: the service switcher's "IAM Identity Center" says it is not enabled; Enable.
//   Users: add ic-alice (names, e-mail); Groups: create Builders, add ic-alice from its page.
//   Permission sets: create ReadIam (2 hours), its inline policy in the policy editor (live
//     findings, then none), saved and summarised.
//   AWS accounts: this account; assign ic-alice with ReadIam; listed, provisioned.
//   ic-alice's page: set the portal password (the confirmation must match).
//   A fresh browser: the AWS access portal (/start): ic-alice signs in and sees this account
//     with the permission set ReadIam.
//   MFA: ic-alice registers an authenticator app on the portal's "MFA devices" page (the QR
//     code, decoded here, and the secret; one code computed here, RFC 6238); root sets "Every
//     time they sign in" on the Settings page and sees the device on ic-alice's "MFA devices"
//     tab; ic-alice signs out and in again: the password, then a wrong code is refused, the
//     right one lands. Root deletes the device; the password alone signs in again.
//   Delete confirm dialogs: the permission set's delete opens a modal dialog naming it, Cancel
//     closes it, typing the name deletes it.

import {
  account,
  assert,
  base32Decode,
  clickForPage,
  endpoint,
  feature,
  qrText,
  rootPage,
  stepNow,
  totp,
} from "./lib.mjs";

const USER = "ic-alice";
const GROUP = "Builders";
const PS = "ReadIam";
const PASSWORD = "Portal-Passw0rd-2026!";
const INLINE = JSON.stringify(
  { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["iam:ListUsers", "iam:GetUser"], Resource: "*" }] },
  null,
  2,
);

await feature("identity-center", async (t) => {
  const root = await rootPage(t);
  const side = () => root.getByRole("navigation", { name: "IAM Identity Center" });

  await t.step("not-enabled", async () => {
    await root.getByRole("navigation", { name: "Services" }).getByRole("link", { name: "IAM Identity Center" }).click();
    await root.getByText(`IAM Identity Center is not enabled in this account (${account})`).waitFor();
    await clickForPage(root, root.getByRole("button", { name: "Enable", exact: true }), "/console/sso");
    await root.getByText("IAM Identity Center enabled.").waitFor();
    await root.getByText(/^\/start\/d-/).waitFor();
  });

  await t.step("user-added", async () => {
    await side().getByRole("link", { name: "Users" }).click();
    await root.getByText("No users yet").waitFor();
    await root.getByLabel("Username").fill(USER);
    await root.getByLabel("First name").fill("Alice");
    await root.getByLabel("Last name").fill("Liddell");
    await root.getByLabel(/Email address/).fill("alice@example.com");
    await clickForPage(root, root.getByRole("button", { name: "Add user" }), `/sso/users/${USER}`);
    await root.getByRole("heading", { name: USER, exact: true }).waitFor();
    await root.getByText(`User ${USER} added.`).waitFor();
  });

  await t.step("group-with-member", async () => {
    await side().getByRole("link", { name: "Groups" }).click();
    await root.getByLabel("Group name").fill(GROUP);
    await clickForPage(root, root.getByRole("button", { name: "Create group" }), `/sso/groups/${GROUP}`);
    await root.getByLabel("Add user").selectOption({ label: USER });
    await clickForPage(root, root.getByRole("button", { name: "Add user to group" }), `/sso/groups/${GROUP}`);
    await root.getByRole("button", { name: `Remove ${USER}` }).waitFor();
  }, { docs: "identity-center-group" });

  await t.step("permission-set-created", async () => {
    await side().getByRole("link", { name: "Permission sets" }).click();
    await root.getByText("No permission sets yet").waitFor();
    await root.getByLabel("Permission set name").fill(PS);
    await root.getByLabel(/^Description/).fill("Reads IAM users");
    await root.getByLabel("Session duration").selectOption("PT2H");
    await clickForPage(root, root.getByRole("button", { name: "Create permission set" }), "");
    await root.getByRole("heading", { name: PS, exact: true }).waitFor();
    await root.getByText("2 hours").first().waitFor();
  });

  await t.step("inline-policy", async () => {
    await root.getByText("Edit inline policy").click();
    const editor = root.getByLabel("Inline policy (JSON)");
    await editor.fill('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUser", "Resource": "*"}]}');
    await root.getByText(/iam:ListUser/).first().waitFor();
    await editor.fill(INLINE);
    await root.getByText("The policy engine has no findings.").waitFor();
    await clickForPage(root, root.getByRole("button", { name: "Save inline policy" }), "");
    await root.getByText("Inline policy saved.").waitFor();
    await root.getByRole("table", { name: /What the inline policy allows/ }).waitFor();
    await root.evaluate(() => window.scrollTo(0, 0)); // the redirect's #permissions scrolled
  }, { docs: "identity-center-permission-set" });

  await t.step("assigned", async () => {
    await side().getByRole("link", { name: "AWS accounts" }).click();
    await root.getByRole("link", { name: account }).first().click();
    await root.getByText("No users or groups assigned.").waitFor();
    await root.getByLabel(`${USER} (User)`).check();
    await root.getByLabel(PS, { exact: true }).check();
    await clickForPage(root, root.getByRole("button", { name: "Assign", exact: true }), `/sso/accounts/${account}`);
    await root.getByText("1 assignment(s) created and provisioned").waitFor();
    await root.getByRole("row", { name: new RegExp(`${USER}.*USER.*${PS}`) }).waitFor();
    await root.getByRole("row", { name: new RegExp(`${PS}.*Provisioned`) }).waitFor();
  }, { docs: "identity-center-account" });

  await t.step("portal-password", async () => {
    await side().getByRole("link", { name: "Users" }).click();
    await root.getByRole("link", { name: USER, exact: true }).click();
    await root.getByRole("tab", { name: "Portal password", exact: true }).click();
    await root.getByLabel("New password").fill(PASSWORD);
    await root.getByLabel("Confirm password").fill(`${PASSWORD}x`);
    const refused = await clickForPage(root, root.getByRole("button", { name: "Set password" }), "/password");
    assert.equal(refused.status(), 400);
    await root.goBack();
    await root.getByRole("tab", { name: "Portal password", exact: true }).click();
    await root.getByLabel("New password").fill(PASSWORD);
    await root.getByLabel("Confirm password").fill(PASSWORD);
    await clickForPage(root, root.getByRole("button", { name: "Set password" }), `/sso/users/${USER}`);
    await root.getByText(`Password set: ${USER} can sign in to the AWS access portal`).waitFor();
    await root.evaluate(() => window.scrollTo(0, 0));
  }, { docs: "identity-center-user" });

  const portal = await t.newPage();
  await t.step("portal-sign-in", async () => {
    await portal.goto(`${endpoint}/start`);
    await portal.getByLabel("Username").fill(USER);
    await portal.getByLabel("Password").fill(PASSWORD);
    await portal.getByRole("button", { name: "Sign in" }).click();
    await portal.getByText(`Signed in as ${USER}.`).waitFor();
    const row = portal.getByRole("row", { name: new RegExp(`${account}.*${PS}`) });
    await row.waitFor();
    await row.getByRole("button", { name: "Access keys" }).waitFor();
  });

  let seed;
  let registeredAt;
  await t.step("portal-mfa-registered", async () => {
    await portal.getByRole("link", { name: "MFA devices" }).click();
    await portal.getByText("You have no MFA devices registered.").waitFor();
    await portal.getByRole("button", { name: "Register device" }).click();
    await portal.getByRole("heading", { name: "Register an MFA device" }).waitFor();
    await portal.getByText("Show secret key").click();
    const secret = (await portal.locator("details", { hasText: "Show secret key" }).locator("code").innerText()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/, "a 160-bit seed in base32");
    seed = base32Decode(secret);
    const svg = await portal.getByRole("img", { name: "QR code for the authenticator app" }).evaluate((e) => e.outerHTML);
    const uri = new URL(qrText(svg));
    assert.equal(uri.protocol, "otpauth:");
    assert.equal(uri.searchParams.get("secret"), secret);
    assert.equal(uri.searchParams.get("issuer"), "kagi");
    assert.match(decodeURIComponent(uri.pathname), new RegExp(`^/kagi:${USER}@d-[0-9a-f]{10}$`));
    await portal.getByLabel("Device name").fill("phone");
    registeredAt = stepNow();
    await portal.getByLabel("Authenticator code").fill(totp(seed, registeredAt));
    await portal.getByRole("button", { name: "Assign MFA" }).click();
    await portal.getByText("MFA device registered.").waitFor();
    await portal.getByRole("row", { name: /phone.*Authenticator app/ }).waitFor();
  }, { docs: "identity-center-portal-mfa" });

  t.page = root;
  await t.step("console-mfa-settings", async () => {
    await side().getByRole("link", { name: "Settings" }).click();
    await root.getByRole("heading", { name: "Settings", exact: true }).waitFor();
    assert.ok(await root.getByLabel(/Only when their sign-in context changes/).isChecked(), "context-aware by default");
    await root.getByLabel(/Every time they sign in/).check();
    await clickForPage(root, root.getByRole("button", { name: "Save changes" }), "/console/sso/settings");
    await root.getByText("MFA settings saved.").waitFor();
    assert.ok(await root.getByLabel(/Every time they sign in/).isChecked());
    await side().getByRole("link", { name: "Users" }).click();
    await root.getByRole("link", { name: USER, exact: true }).click();
    await root.getByRole("tab", { name: "MFA devices", exact: true }).click();
    await root.getByRole("row", { name: /phone.*Authenticator app/ }).waitFor();
  }, { docs: "identity-center-user-mfa" });

  t.page = portal;
  await t.step("portal-sign-in-with-mfa", async () => {
    await portal.goto(`${endpoint}/start/`);
    await portal.getByRole("button", { name: "Sign out" }).click();
    await portal.getByLabel("Username").fill(USER);
    await portal.getByLabel("Password").fill(PASSWORD);
    await portal.getByRole("button", { name: "Sign in" }).click();
    await portal.getByRole("heading", { name: "Multi-factor authentication" }).waitFor();
    const right = totp(seed, Math.max(stepNow(), registeredAt + 1));
    const wrong = ["000000", "123456", "999999"].find((c) => c !== right && c !== totp(seed, registeredAt));
    await portal.getByLabel("MFA code").fill(wrong);
    await portal.getByRole("button", { name: "Sign in" }).click();
    await portal.getByText("The MFA code is incorrect. Try again.").waitFor();
    await portal.getByLabel("MFA code").fill(right);
    await portal.getByRole("button", { name: "Sign in" }).click();
    await portal.getByText(`Signed in as ${USER}.`).waitFor();
  });

  t.page = root;
  await t.step("console-mfa-device-deleted", async () => {
    await root.getByRole("button", { name: "Delete MFA device phone" }).click();
    await root.getByText(`MFA device deleted for ${USER}.`).waitFor();
    await root.getByRole("tab", { name: "MFA devices", exact: true }).click();
    await root.getByText("No MFA devices.").waitFor();
    const again = await t.newPage();
    await again.goto(`${endpoint}/start`);
    await again.getByLabel("Username").fill(USER);
    await again.getByLabel("Password").fill(PASSWORD);
    await again.getByRole("button", { name: "Sign in" }).click();
    await again.getByText(`Signed in as ${USER}.`).waitFor();
  });

  t.page = root;
  await t.step("delete-dialog", async () => {
    await side().getByRole("link", { name: "Permission sets" }).click();
    await root.getByRole("link", { name: PS, exact: true }).click();
    await root.getByRole("button", { name: "Delete permission set" }).click();
    const dialog = root.getByRole("dialog", { name: `Delete permission set ${PS}?` });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await root.getByRole("button", { name: "Delete permission set" }).click();
    await dialog.getByLabel(/To confirm, enter the permission set name/).fill(PS);
    await clickForPage(root, dialog.getByRole("button", { name: "Delete permission set" }), "/console/sso/permission-sets");
    await root.getByText(`Permission set ${PS} deleted.`).waitFor();
  });
});
