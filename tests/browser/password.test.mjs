// Passwords, by clicking:
//   root: the account password policy page (none set: IAM's default is described); sets a
//     minimum length of 14 and "Allow users to change their own password"; the page shows
//     what was saved.
//   root: creating pw-user with an 11-character password is refused with IAM's
//     PasswordPolicyViolation message and no user is left behind; a long one works; resetting
//     the user's password to a short one is refused the same way.
//   pw-user: the Password page (ChangePassword): a confirmation that differs is refused; a
//     too-short new password is refused with IAM's message; a good one is accepted; then the
//     old password no longer signs in and the new one does.
//   root: "User must create a new password at next sign-in": the user's next sign-in leads to
//     the password change, and no other page opens until it is done.
//   root: changes its own console password on the same page (the current one checked, AWS's
//     rules for the new one, not the account's policy); then only the new one signs in.
// As on AWS, "Allow users to change their own password" gives every IAM user
// iam:ChangePassword on their own user (and iam:GetAccountPasswordPolicy) without a policy.

import {
  account,
  accountMenu,
  alertNow,
  alertText,
  assert,
  clickForPage,
  createUser,
  endpoint,
  feature,
  iamArn,
  nav,
  openTab,
  rootPage,
  rootPassword,
  signedInAs,
  signIn,
  signOut,
} from "./lib.mjs";

const USER = "pw-user";
const FIRST = "First-Password-2026!";
const SECOND = "Second-Password-2026!";
const SHORT = "Short-Pw-1!"; // 11 characters, all four character classes
const TOO_SHORT = /PasswordPolicyViolation.*Password should have a minimum length of 14/s;

await feature("password", async (t) => {
  const root = await rootPage(t);

  await t.step("policy-page-default", async () => {
    await accountMenu(root, "Security credentials");
    await root.getByRole("heading", { name: "Change password" }).waitFor();
    await root.getByRole("link", { name: "Account password policy" }).click();
    await root.getByRole("heading", { name: "Password policy" }).waitFor();
    await root.getByText(/No password policy is set/).waitFor();
  });

  await t.step("policy-saved", async () => {
    await root.getByLabel("Minimum password length").fill("14");
    await root.getByLabel("Allow users to change their own password").check();
    await root.getByRole("button", { name: "Save changes" }).click();
    await root.getByText("The password policy was saved.").waitFor();
    assert.equal(await root.getByLabel("Minimum password length").inputValue(), "14");
    assert.ok(await root.getByLabel("Allow users to change their own password").isChecked());
    assert.ok(!(await root.getByLabel("Require at least one number").isChecked()));
    assert.equal(await root.getByText(/No password policy is set/).count(), 0);
  });

  await t.step("short-password-refused-at-create", async () => {
    await nav(root).getByRole("link", { name: "Users" }).click();
    await root.getByLabel("User name").fill(USER);
    await root.getByLabel(/Console password/).fill(SHORT);
    const resp = await clickForPage(root, root.getByRole("button", { name: "Create user" }), "/console/users");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), TOO_SHORT);
    await root.getByText("The user was not created.").waitFor();
  });

  await t.step("user-created", async () => {
    await createUser(root, USER, FIRST);
    await openTab(root, "Security credentials");
    await root.getByText(/Enabled \(since/).waitFor();
  });

  await t.step("short-password-refused-at-reset", async () => {
    await openTab(root, "Security credentials");
    await root.getByText("Manage console access").click();
    await root.getByLabel("New console password").fill(SHORT);
    const resp = await clickForPage(root, root.getByRole("button", { name: "Reset password" }), "/login-profile/update");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), TOO_SHORT);
  });

  // ---------------------------------------------------------------- the user changes it
  const user = await t.newPage();
  const form = async (current, next, confirm = next) => {
    await user.getByLabel("Current password").fill(current);
    await user.getByLabel("New password", { exact: true }).fill(next);
    await user.getByLabel("Confirm new password").fill(confirm);
    return clickForPage(user, user.getByRole("button", { name: "Change password" }), "/console/password");
  };

  await t.step("user-password-page", async () => {
    await signIn(user, USER, FIRST);
    await signedInAs(user, iamArn("user", USER));
    await accountMenu(user, "Security credentials");
    await user.getByRole("heading", { name: "Change password" }).waitFor();
  });

  await t.step("confirmation-mismatch-refused", async () => {
    const resp = await form(FIRST, SECOND, `${SECOND}x`);
    assert.equal(resp.status(), 400);
    assert.match(await alertText(user), /do not match/);
  });

  await t.step("too-short-refused", async () => {
    const resp = await form(FIRST, SHORT);
    assert.equal(resp.status(), 400, `ChangePassword answered: ${await alertNow(user)}`);
    assert.match(await alertText(user), TOO_SHORT);
  });

  await t.step("password-changed", async () => {
    const resp = await form(FIRST, SECOND);
    assert.equal(resp.status(), 200, `ChangePassword answered: ${await alertNow(user)}`);
    await user.getByText("Your password has been changed.").waitFor();
  });

  await t.step("old-password-refused", async () => {
    await signOut(user);
    const resp = await signIn(user, USER, FIRST);
    assert.equal(resp.status(), 401);
    assert.match(await alertText(user), /Your authentication information is incorrect/);
  });

  await t.step("new-password-signs-in", async () => {
    await signIn(user, USER, SECOND);
    await signedInAs(user, iamArn("user", USER));
  });

  // ---------------------------------------------------------------- the root's own password
  t.page = root;
  const ROOT_NEW = "Root-Console-Pw-2027!";
  const rootForm = async (current, next) => {
    await root.getByLabel("Current password").fill(current);
    await root.getByLabel("New password", { exact: true }).fill(next);
    await root.getByLabel("Confirm new password").fill(next);
    return clickForPage(root, root.getByRole("button", { name: "Change password" }), "/console/password");
  };
  await t.step("root-wrong-current-refused", async () => {
    await accountMenu(root, "Security credentials");
    const resp = await rootForm(`${rootPassword}x`, ROOT_NEW);
    assert.equal(resp.status(), 403);
    assert.match(await alertText(root), /IncorrectPassword/);
  });

  await t.step("root-weak-password-refused", async () => {
    // 12 characters: below the account policy's 14, but the root follows AWS's own rules
    // (8 characters, three kinds), so "lowercase only" is what is refused here.
    const resp = await rootForm(rootPassword, "onlylowercase");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /PasswordPolicyViolation/);
  });

  await t.step("root-password-changed", async () => {
    const resp = await rootForm(rootPassword, ROOT_NEW);
    assert.equal(resp.status(), 200, await alertNow(root));
    await root.getByText("Your password has been changed.").waitFor();
    await signOut(root);
    const old = await signIn(root, null, rootPassword);
    assert.equal(old.status(), 401);
    await signIn(root, null, ROOT_NEW);
    await signedInAs(root, `arn:aws:iam::${account}:root`);
  });

  // "User must create a new password at next sign-in": as in the AWS console, the next
  // sign-in leads to the password change first, and nothing else opens until it is done.
  const THIRD = "Third-Password-2026!";
  const FOURTH = "Fourth-Password-2026!";
  t.page = root;
  await t.step("reset-required-set", async () => {
    await nav(root).getByRole("link", { name: "Users" }).click();
    await root.getByRole("link", { name: USER, exact: true }).click();
    await openTab(root, "Security credentials");
    await root.locator("summary", { hasText: "Manage console access" }).click();
    await root.getByLabel("New console password").fill(THIRD);
    await root.getByLabel("User must create a new password at next sign-in").check();
    await root.getByRole("button", { name: "Reset password" }).click();
    await root.getByText(/a new password is required at next sign-in/).waitFor();
  });

  t.page = user;
  await t.step("reset-required-sign-in-asks-for-new-password", async () => {
    await signIn(user, USER, THIRD);
    await signedInAs(user, iamArn("user", USER));
    assert.equal(new URL(user.url()).pathname, "/console/password", "the sign-in lands on the password change");
    await user.goto(`${endpoint}/console/users`);
    assert.equal(new URL(user.url()).pathname, "/console/password", "other pages wait for the new password");
  });

  await t.step("reset-required-cleared", async () => {
    const resp = await form(THIRD, FOURTH);
    assert.equal(resp.status(), 200, await alertNow(user));
    await user.getByText("Your password has been changed.").waitFor();
    const resp2 = await clickForPage(user, nav(user).getByRole("link", { name: "Users" }), "/console/users");
    assert.equal(new URL(user.url()).pathname, "/console/users");
    assert.notEqual(resp2.status(), 303);
  });
});
