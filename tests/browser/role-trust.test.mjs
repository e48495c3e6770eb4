// The role wizard's trusted-entity options and the trust-policy editor (as root):
//   "AWS account: another AWS account" 210987654321 with "Require external ID" and "Require
//     MFA": the review step shows the generated trust policy, with the other account's root
//     as principal, sts:ExternalId under StringEquals and aws:MultiFactorAuthPresent under
//     Bool, and the policy ticked in the permissions step; the role is created with exactly
//     that trust policy (checked with the CLI too) and that policy attached. The review's
//     "Back" returns to the wizard with every choice still made.
//   Missing pieces are refused with a message: a 2-digit account, an empty external ID.
//   "Custom trust policy": a draft with a `//` comment is flagged live and refused at review;
//     a valid one (a service principal) is reviewed and created.
//   The role page's "Edit trust policy" refuses a bad document and saves a good one.

import { account, alertText, assert, clickForPage, feature, iamArn, nav, openTab, rootCli, rootPage } from "./lib.mjs";

const OTHER = "210987654321";
const EXTERNAL_ID = "kagi-external-42";
const CROSS = "CrossAccountRole";
const CUSTOM = "Ec2ServiceRole";
const PERMISSIONS = "CrossAccountReadOnly";

const customTrust = JSON.stringify(
  {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
  },
  null,
  2,
);
const commentedTrust = customTrust.replace('"Statement"', '// EC2 may assume it\n  "Statement"');

await feature("role-trust", async (t) => {
  rootCli([
    "iam",
    "create-policy",
    "--policy-name",
    PERMISSIONS,
    "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }] }),
  ]);
  const root = await rootPage(t);
  const wizard = async () => {
    await nav(root).getByRole("link", { name: "Roles" }).click();
    await root.getByRole("link", { name: "Create role" }).click();
    await root.getByRole("heading", { name: "Create role" }).waitFor();
  };
  const review = () => clickForPage(root, root.getByRole("button", { name: "Next: review" }), "");
  const anotherAccount = async ({ id, externalId }) => {
    await root.getByRole("radio", { name: "AWS account: another AWS account" }).check();
    await root.getByLabel("Account ID (another AWS account)").fill(id);
    await root.getByRole("checkbox", { name: "Require external ID" }).check();
    await root.getByLabel("External ID", { exact: true }).fill(externalId);
    await root.getByRole("checkbox", { name: "Require MFA" }).check();
    await root.getByLabel("Role name").fill(CROSS);
  };

  await t.step("another-account-bad-id", async () => {
    await wizard();
    await anotherAccount({ id: "21", externalId: EXTERNAL_ID });
    const resp = await review();
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /12-digit ID of the AWS account/);
    // The choices are kept.
    assert.ok(await root.getByRole("radio", { name: "AWS account: another AWS account" }).isChecked());
    assert.ok(await root.getByRole("checkbox", { name: "Require MFA" }).isChecked());
  });

  await t.step("another-account-empty-external-id", async () => {
    await anotherAccount({ id: OTHER, externalId: "" });
    const resp = await review();
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /external ID/);
  });

  let reviewed;
  await t.step("another-account-review", async () => {
    await anotherAccount({ id: OTHER, externalId: EXTERNAL_ID });
    // The permissions step: the account's policies as checkboxes.
    await root.getByRole("checkbox", { name: PERMISSIONS }).check();
    const resp = await review();
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "Name, review, and create" }).waitFor();
    await root.getByText(CROSS, { exact: true }).waitFor();
    await root.getByText(iamArn("policy", PERMISSIONS), { exact: true }).waitFor();
    reviewed = JSON.parse(await root.locator("#review-trust").innerText());
    assert.deepEqual(reviewed, {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "sts:ExternalId": EXTERNAL_ID },
            Bool: { "aws:MultiFactorAuthPresent": "true" },
          },
        },
      ],
    });
  }, { docs: "role-review-external-id-mfa" });

  await t.step("another-account-back-keeps-choices", async () => {
    const resp = await clickForPage(root, root.getByRole("button", { name: "Back" }), "");
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "Create role" }).waitFor();
    assert.ok(await root.getByRole("radio", { name: "AWS account: another AWS account" }).isChecked());
    assert.equal(await root.getByLabel("Account ID (another AWS account)").inputValue(), OTHER);
    assert.ok(await root.getByRole("checkbox", { name: "Require external ID" }).isChecked());
    assert.equal(await root.getByLabel("External ID", { exact: true }).inputValue(), EXTERNAL_ID);
    assert.ok(await root.getByRole("checkbox", { name: "Require MFA" }).isChecked());
    assert.equal(await root.getByLabel("Role name").inputValue(), CROSS);
    assert.ok(await root.getByRole("checkbox", { name: PERMISSIONS }).isChecked());
    assert.equal((await review()).status(), 200);
    assert.deepEqual(JSON.parse(await root.locator("#review-trust").innerText()), reviewed);
  });

  await t.step("another-account-created", async () => {
    await root.getByRole("button", { name: "Create role" }).click();
    await root.getByRole("heading", { name: CROSS, exact: true }).waitFor();
    await root.getByText(iamArn("role", CROSS)).first().waitFor();
    // The Permissions tab's row (first in the page; Access Advisor's "Amazon S3" row names the
    // policy too, and is visible until the page's script has hidden the inactive tabs).
    await root.getByRole("row", { name: new RegExp(PERMISSIONS) }).first().waitFor();
    await openTab(root, "Trust relationships");
    const shown = JSON.parse(
      await root.getByRole("heading", { name: "Trust relationships" }).locator("xpath=following-sibling::pre[1]").innerText(),
    );
    assert.deepEqual(shown, reviewed);
  });
  {
    const got = rootCli(["iam", "get-role", "--role-name", CROSS]).Role.AssumeRolePolicyDocument;
    assert.deepEqual(typeof got === "string" ? JSON.parse(decodeURIComponent(got)) : got, reviewed);
    console.log("ok   iam get-role: the trust policy the review showed");
  }

  await t.step("custom-trust-flagged-live", async () => {
    await wizard();
    await root.getByRole("radio", { name: "Custom trust policy" }).check();
    await root.getByLabel("Custom trust policy (JSON)").fill(commentedTrust);
    await root.locator("#trust-findings").getByText(/Line 3, column 3: /).waitFor();
    await root.getByLabel("Role name").fill(CUSTOM);
  });

  await t.step("custom-trust-refused-at-review", async () => {
    const resp = await review();
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /The policy has problems.*Line 3, column 3: /s);
    assert.equal(await root.getByLabel("Custom trust policy (JSON)").inputValue(), commentedTrust);
  });

  await t.step("custom-trust-reviewed", async () => {
    await root.getByLabel("Custom trust policy (JSON)").fill(customTrust);
    await root.locator("#trust-findings").getByText("The policy engine has no findings.").waitFor();
    await review();
    await root.getByRole("heading", { name: "Name, review, and create" }).waitFor();
    assert.deepEqual(JSON.parse(await root.locator("#review-trust").innerText()), JSON.parse(customTrust));
  });

  await t.step("custom-trust-created", async () => {
    await root.getByRole("button", { name: "Create role" }).click();
    await root.getByRole("heading", { name: CUSTOM, exact: true }).waitFor();
    await openTab(root, "Trust relationships");
    await root.getByText('"Service": "ec2.amazonaws.com"').first().waitFor();
  });

  const trustEditor = () => root.getByLabel("Trust policy (JSON)");
  await t.step("trust-edit-refused", async () => {
    await root.locator("summary", { hasText: "Edit trust policy" }).click();
    await trustEditor().fill(commentedTrust);
    await root.getByText(/Line 3, column 3: /).first().waitFor();
    const resp = await clickForPage(root, root.getByRole("button", { name: "Update policy" }), "/trust");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /Line 3, column 3: /);
  });

  await t.step("trust-edited", async () => {
    const thisAccount = customTrust.replace('{\n        "Service": "ec2.amazonaws.com"\n      }', `{ "AWS": "arn:aws:iam::${account}:root" }`);
    assert.notEqual(thisAccount, customTrust);
    if (!(await trustEditor().isVisible())) await root.locator("summary", { hasText: "Edit trust policy" }).click();
    await trustEditor().fill(thisAccount);
    await root.getByRole("button", { name: "Update policy" }).click();
    await root.getByRole("heading", { name: CUSTOM, exact: true }).waitFor();
    await root.getByText(`"AWS": "arn:aws:iam::${account}:root"`).first().waitFor();
  });
});
