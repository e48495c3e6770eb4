// Virtual MFA, by clicking:
//   root: creates mfa-user (console password), assigns it a virtual MFA device: the QR code
//     (decoded here: the otpauth:// URI) and the secret shown once; two codes in the wrong order are refused and the same device is
//     offered again; two consecutive TOTP codes (computed here from the secret, RFC 6238)
//     enable it.
//   mfa-user: the password alone does not sign in (no session before the code); a wrong code
//     is refused; a right one lands; the same code again is refused (each time step once).
//   Root's role MfaRole trusts this account only with aws:MultiFactorAuthPresent: mfa-user,
//     signed in with MFA, may switch to it (as on AWS, where a console sign-in with MFA
//     carries MultiFactorAuthPresent into AssumeRole); a user signed in without MFA may not.
//   Root removes the device: the password alone signs in again.
//
// Codes: enabling takes the codes of steps T-2 and T-1 (two codes the user read one after the
// other, just now); sign-in then uses step T+1 (inside the ±1-step window, and later than any
// code used before), so no step boundary during the test can make a right code look reused.

import {
  account,
  accountMenu,
  alertNow,
  alertText,
  allow,
  assert,
  base32Decode,
  clickForPage,
  createUser,
  endpoint,
  escapeRe,
  feature,
  header,
  iamArn,
  nav,
  openTab,
  qrText,
  rootCli,
  rootPage,
  signedInAs,
  signIn,
  signOut,
  stepNow,
  totp,
} from "./lib.mjs";

const USER = "mfa-user";
const PASSWORD = "Mfa-User-Password-1!";
const ROLE = "MfaRole";

await feature("mfa", async (t) => {
  const root = await rootPage(t);
  let secret;
  let seed;

  await t.step("user-created", async () => {
    await createUser(root, USER, PASSWORD);
    await openTab(root, "Security credentials");
    await root.getByText("No MFA device assigned.").waitFor();
  });

  await t.step("mfa-device-qr-and-secret", async () => {
    assert.equal(await root.getByLabel("Device name").inputValue(), USER);
    await openTab(root, "Security credentials");
    await root.getByRole("button", { name: "Assign MFA device" }).click();
    await root.getByRole("heading", { name: "Set up virtual MFA device" }).waitFor();
    await root.getByRole("img", { name: "QR code for the authenticator app" }).waitFor();
    await root.getByText("Show secret key").click();
    secret = (await root.locator("details", { hasText: "Show secret key" }).locator("code").innerText()).trim();
    // 40 random bytes in base32, as IAM's Base32StringSeed.
    assert.match(secret, /^[A-Z2-7]{64}$/, "the seed in base32");
    seed = base32Decode(secret);
    // The QR code is the otpauth:// URI an authenticator app reads, with that same secret.
    const svg = await root.getByRole("img", { name: "QR code for the authenticator app" }).evaluate((e) => e.outerHTML);
    const uri = new URL(qrText(svg));
    assert.equal(uri.protocol, "otpauth:");
    assert.equal(uri.host, "totp");
    assert.equal(decodeURIComponent(uri.pathname), `/kagi:${USER}@${account}`);
    assert.equal(uri.searchParams.get("secret"), secret);
    assert.equal(uri.searchParams.get("issuer"), "kagi");
  }, { docs: "mfa-assign-device" });

  await t.step("mfa-codes-in-wrong-order-refused", async () => {
    const T = stepNow();
    await root.getByLabel("MFA code 1").fill(totp(seed, T - 1));
    await root.getByLabel("MFA code 2").fill(totp(seed, T - 2));
    const resp = await clickForPage(root, root.getByRole("button", { name: "Add MFA" }), "/mfa/enable");
    assert.equal(resp.status(), 403);
    assert.match(await alertText(root), /InvalidAuthenticationCode/);
    // The same device again, ready for another try (no new secret).
    await root.getByText("Show secret key").click();
    assert.equal((await root.locator("details", { hasText: "Show secret key" }).locator("code").innerText()).trim(), secret);
  });

  const serial = iamArn("mfa", USER);
  await t.step("mfa-device-enabled", async () => {
    const T = stepNow();
    await root.getByLabel("MFA code 1").fill(totp(seed, T - 2));
    await root.getByLabel("MFA code 2").fill(totp(seed, T - 1));
    await root.getByRole("button", { name: "Add MFA" }).click();
    await root.getByRole("heading", { name: USER, exact: true }).waitFor();
    await root.getByRole("row", { name: new RegExp(escapeRe(serial)) }).waitFor();
    // The secret is never shown again.
    assert.equal(await root.getByText(secret).count(), 0);
    assert.equal(await root.getByText("Show secret key").count(), 0);
  });

  // The API agrees: one device, enabled for the user.
  {
    const listed = rootCli(["iam", "list-mfa-devices", "--user-name", USER]);
    assert.deepEqual(listed.MFADevices.map((d) => d.SerialNumber), [serial]);
    console.log("ok   iam list-mfa-devices shows the device");
  }

  // A role only an MFA-authenticated principal of this account may assume, with a policy to
  // show it worked (iam:ListUsers).
  rootCli([
    "iam",
    "create-role",
    "--role-name",
    ROLE,
    "--assume-role-policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: "sts:AssumeRole",
          Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
        },
      ],
    }),
  ]);
  rootCli(["iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "ListUsers", "--policy-document", allow("iam:ListUsers")]);
  rootCli([
    "iam",
    "put-user-policy",
    "--user-name",
    USER,
    "--policy-name",
    "MayAssumeMfaRole",
    "--policy-document",
    allow("sts:AssumeRole", iamArn("role", ROLE)),
  ]);

  // ---------------------------------------------------------------- mfa-user signs in
  const user = await t.newPage();
  await t.step("password-then-code-asked", async () => {
    const resp = await signIn(user, USER, PASSWORD);
    assert.equal(resp.status(), 200);
    assert.match(new URL(user.url()).pathname, /\/console\/signin\/mfa$/);
    await user.getByRole("heading", { name: "Multi-factor authentication" }).waitFor();
    // No console session yet: only the pending sign-in's cookie.
    const names = (await user.context().cookies()).map((c) => c.name);
    assert.ok(names.includes("kagi-console-mfa"), names.join(","));
    assert.ok(!names.includes("kagi-console"), names.join(","));
  });

  await t.step("no-session-before-the-code", async () => {
    await user.goto(`${endpoint}/console/users`);
    assert.match(new URL(user.url()).pathname, /\/console\/signin$/);
    // The pending sign-in is still there: back to the code form.
    await user.goto(`${endpoint}/console/signin/mfa`);
    await user.getByLabel("MFA code").waitFor();
  });

  await t.step("wrong-code-refused", async () => {
    const T = stepNow();
    const near = new Set([-3, -2, -1, 0, 1, 2, 3].map((d) => totp(seed, T + d)));
    let wrong = (Number(totp(seed, T)) + 500_000) % 1_000_000;
    while (near.has(String(wrong).padStart(6, "0"))) wrong = (wrong + 1) % 1_000_000;
    await user.getByLabel("MFA code").fill(String(wrong).padStart(6, "0"));
    const resp = await clickForPage(user, user.getByRole("button", { name: "Submit" }), "/console/signin/mfa");
    assert.equal(resp.status(), 401);
    assert.match(await alertText(user), /The MFA code is not valid/);
  });

  let code;
  await t.step("right-code-signs-in", async () => {
    code = totp(seed, stepNow() + 1);
    // With the keyboard, as from an authenticator app: type the code, Enter.
    await user.getByLabel("MFA code").focus();
    await user.keyboard.type(code);
    await user.keyboard.press("Enter");
    await user.waitForURL(/\/console\/users$/);
    await signedInAs(user, iamArn("user", USER));
    // Signed in with the user's own permissions: none for IAM's user list.
    assert.match(await alertText(user), /AccessDenied.*iam:ListUsers/s);
  });

  // The same code from another browser: refused, and no session there.
  const other = await t.newPage();
  await t.step("reused-code-refused", async () => {
    await signIn(other, USER, PASSWORD);
    await other.getByLabel("MFA code").fill(code);
    const resp = await clickForPage(other, other.getByRole("button", { name: "Submit" }), "/console/signin/mfa");
    assert.equal(resp.status(), 401, "a code is accepted once");
    assert.match(await alertText(other), /The MFA code is not valid/);
    await other.goto(`${endpoint}/console/users`);
    assert.match(new URL(other.url()).pathname, /\/console\/signin$/);
  });

  // The control: a user of the same account, allowed to assume the role, signed in with a
  // password only, is refused by the role's trust policy.
  rootCli(["iam", "create-user", "--user-name", "no-mfa-user"]);
  rootCli(["iam", "create-login-profile", "--user-name", "no-mfa-user", "--password", PASSWORD]);
  rootCli([
    "iam",
    "put-user-policy",
    "--user-name",
    "no-mfa-user",
    "--policy-name",
    "MayAssumeMfaRole",
    "--policy-document",
    allow("sts:AssumeRole", iamArn("role", ROLE)),
  ]);
  await t.step("password-session-may-not-switch-to-it", async () => {
    await signIn(other, "no-mfa-user", PASSWORD);
    await signedInAs(other, iamArn("user", "no-mfa-user"));
    await accountMenu(other, "Switch role");
    await other.getByLabel("Role", { exact: true }).fill(ROLE);
    const resp = await clickForPage(other, other.getByRole("button", { name: "Switch role" }), "");
    assert.equal(resp.status(), 403);
    assert.match(await alertText(other), /AccessDenied.*sts:AssumeRole/s);
  });

  // Back in the browser signed in with the code.
  t.page = user;
  await t.step("mfa-session-switches-to-role-requiring-mfa", async () => {
    await accountMenu(user, "Switch role");
    await user.getByLabel("Role", { exact: true }).fill(ROLE);
    await user.getByLabel(/Display name/).fill("MFA role");
    const resp = await clickForPage(user, user.getByRole("button", { name: "Switch role" }), "");
    // The role's trust policy requires MFA, and this console session was signed in with it.
    assert.equal(resp.status(), 200, `switch role answered: ${await alertNow(user)}`);
    assert.match(new URL(user.url()).pathname, /\/console\/users$/);
    await header(user).getByRole("status").getByText("MFA role").waitFor();
    // With the role's permissions: the user list.
    await user.getByRole("link", { name: USER, exact: true }).waitFor();
    assert.match(await header(user).textContent(), new RegExp(`arn:aws:sts::${account}:assumed-role/${ROLE}/`));
  });

  // Removing the device (root): the user signs in with the password alone again.
  t.page = root;
  await t.step("mfa-device-removed", async () => {
    await nav(root).getByRole("link", { name: "Users" }).click();
    await root.getByRole("link", { name: USER, exact: true }).click();
    await openTab(root, "Security credentials");
    await root.getByRole("row", { name: new RegExp(escapeRe(serial)) }).getByRole("button", { name: "Remove" }).click();
    await root.getByText("No MFA device assigned.").waitFor();
    assert.deepEqual(rootCli(["iam", "list-mfa-devices", "--user-name", USER]).MFADevices, []);
    await signIn(other, USER, PASSWORD);
    await other.waitForURL(/\/console\/users$/);
    await signedInAs(other, iamArn("user", USER));
  });
});
