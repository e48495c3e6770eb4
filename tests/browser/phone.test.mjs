// Every kind of console page on a phone-sized screen (390×844, touch): the page fits the width
// (no sideways scrolling), one screenshot each. The entities are made with the CLI (the Rust
// side made test-repos with an image); the root signs in by tapping.

import { account, assert, endpoint, feature, iamArn, REGION, rootCli, rootPassword, createRoleTrustingAccount } from "./lib.mjs";

const USER = "phone-user-with-a-rather-long-name-for-a-small-screen";
const GROUP = "PhoneGroupWithALongName";
const ROLE = "PhoneRoleWithAVeryLongNameThatMustWrap";
const POLICY = "PhonePolicyWithAVeryLongNameThatMustWrap";

await feature("phone", async (t) => {
  const doc = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["iam:ListUsers", "ecr:DescribeImages"], Resource: "*" }],
  });
  const { Policy } = rootCli(["iam", "create-policy", "--policy-name", POLICY, "--policy-document", doc]);
  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli(["iam", "create-login-profile", "--user-name", USER, "--password", "Phone-User-Password-1!"]);
  rootCli(["iam", "create-access-key", "--user-name", USER]);
  rootCli(["iam", "create-group", "--group-name", GROUP]);
  rootCli(["iam", "add-user-to-group", "--group-name", GROUP, "--user-name", USER]);
  rootCli(["iam", "attach-group-policy", "--group-name", GROUP, "--policy-arn", Policy.Arn]);
  rootCli(["iam", "attach-user-policy", "--user-name", USER, "--policy-arn", Policy.Arn]);
  rootCli(["iam", "put-user-policy", "--user-name", USER, "--policy-name", "Inline", "--policy-document", doc]);
  createRoleTrustingAccount(ROLE, account);
  rootCli(["iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", Policy.Arn]);
  rootCli(["iam", "create-policy-version", "--policy-arn", Policy.Arn, "--policy-document", doc]);

  const page = await t.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const fits = async () => {
    // Measured with the stylesheet applied (the load event waits for it).
    await page.waitForLoadState("load");
    const [scroll, width] = [await page.evaluate(() => document.documentElement.scrollWidth), page.viewportSize().width]; // not innerWidth: a mobile layout viewport widens to fit wide content
    const wide = scroll <= width ? "" : await page.evaluate((w) => {
      // The innermost elements that stick out, to name in the failure.
      const out = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > w + 1
        && ![...e.children].some((c) => c.getBoundingClientRect().right > w + 1));
      return out.slice(0, 3).map((e) => `<${e.tagName.toLowerCase()}${e.className ? "." + e.className : ""}> ${Math.round(e.getBoundingClientRect().right)}px "${(e.textContent || "").slice(0, 40)}"`).join("; ");
    }, width);
    assert.ok(scroll <= width, `${new URL(page.url()).pathname} is ${scroll}px wide on a ${width}px screen: ${wide}`);
  };

  await t.step("signin", async () => {
    await page.goto(`${endpoint}/console/signin`);
    await fits();
    await page.getByLabel("Account ID").fill(account);
    await page.getByLabel("Password", { exact: true }).fill(rootPassword);
    await page.getByRole("button", { name: "Sign in" }).tap();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await fits();
  });

  const pages = [
    ["user", `/console/users/${USER}`, USER],
    ["groups", "/console/groups", "User groups"],
    ["group", `/console/groups/${GROUP}`, GROUP],
    ["policies", "/console/policies", "Policies"],
    ["policy", `/console/policies/${encodeURIComponent(Policy.Arn)}`, POLICY],
    ["policy-new", "/console/policies/new", "Create policy"],
    ["roles", "/console/roles", "Roles"],
    ["role", `/console/roles/${ROLE}`, ROLE],
    ["role-wizard", "/console/roles/new", "Create role"],
    ["simulator", "/console/simulator", "Policy simulator"],
    ["ecr-repositories", `/console/ecr/repositories?region=${REGION}`, "ECR repositories"],
    ["ecr-repository", `/console/ecr/repositories/test-repos?region=${REGION}`, "test-repos"],
    ["switch-role", "/console/switch-role", "Switch role"],
    ["password", "/console/password", "Change password"],
    ["password-policy", "/console/password-policy", "Password policy"],
  ];
  for (const [name, url, heading] of pages) {
    await t.step(name, async () => {
      const resp = await page.goto(`${endpoint}${url}`);
      assert.equal(resp.status(), 200, url);
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      // Open every panel, so that what it holds is measured too.
      for (const d of await page.locator("details").all()) await d.evaluate((e) => (e.open = true));
      await fits();
    });
  }

  await t.step("simulator-results", async () => {
    await page.goto(`${endpoint}/console/simulator`);
    await page.getByLabel(/^Principal/).fill(iamArn("role", ROLE));
    await page.getByLabel(/^Actions/).fill("iam:ListUsers\necr:DescribeImages\necr:PutImage");
    await page.getByLabel(/^Resource ARNs/).fill(`arn:aws:ecr:${REGION}:${account}:repository/test-repos`);
    await page.getByRole("button", { name: "Run simulation" }).tap();
    await page.getByRole("heading", { name: "Results" }).waitFor();
    await fits();
  });

  await t.step("mfa-setup", async () => {
    await page.goto(`${endpoint}/console/users/${USER}`);
    await page.getByRole("tab", { name: "Security credentials" }).tap();
    await page.getByRole("button", { name: "Assign MFA device" }).tap();
    await page.getByRole("img", { name: "QR code for the authenticator app" }).waitFor();
    await page.getByText("Show secret key").tap();
    await fits();
  });

  await t.step("access-key-created", async () => {
    await page.goto(`${endpoint}/console/users/${USER}`);
    await page.getByRole("tab", { name: "Security credentials" }).tap();
    await page.getByRole("button", { name: "Create access key" }).tap();
    await page.getByRole("heading", { name: "Access key created" }).waitFor();
    await fits();
  });
});
