// Policy versions, by clicking (as root):
//   VersionedPolicy v1 allows iam:ListUsers; it is attached to version-user (CLI).
//   The policy page's version editor flags a bad draft live (line and column) and refuses it on
//   submit, keeping the draft; v2 (adds iam:ListGroups) becomes the default; v3 is saved
//   without becoming the default; v1 is set as default again; v3 and v2 are deleted (the
//   default version offers no delete).
//   The simulator shows the effect on version-user: iam:ListGroups allowed while v2 is the
//   default, implicitDeny once v1 is again.

import {
  alertText,
  allow,
  assert,
  clickForPage,
  createPolicy,
  feature,
  iamArn,
  nav,
  openTab,
  rootCli,
  rootPage,
  simulate,
} from "./lib.mjs";

const POLICY = "VersionedPolicy";
const USER = "version-user";

// A draft as someone might type it: a `//` comment on line 3 (IAM refuses comments).
const badDraft = `{
  "Version": "2012-10-17",
  // also list groups
  "Statement": [{"Effect": "Allow", "Action": ["iam:ListUsers", "iam:ListGroups"], "Resource": "*"}]
}`;

await feature("policy-versions", async (t) => {
  const root = await rootPage(t);
  let arn;
  await t.step("policy-v1", async () => {
    arn = await createPolicy(root, POLICY, allow("iam:ListUsers"));
  });
  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli(["iam", "attach-user-policy", "--user-name", USER, "--policy-arn", arn]);

  const policyPage = async () => {
    await nav(root).getByRole("link", { name: "Policies" }).click();
    await root.getByRole("link", { name: POLICY, exact: true }).click();
    await root.getByRole("heading", { name: POLICY, exact: true }).waitFor();
  };
  const versionRow = (v) => root.getByRole("row", { name: new RegExp(`^${v}\\b`) });
  const editor = () => root.getByLabel("Policy document (JSON)");
  const defaultDocument = () =>
    root.getByRole("heading", { name: "Permissions (default version)" }).locator("xpath=following-sibling::pre[1]").innerText();

  await t.step("policy-page", async () => {
    await policyPage();
    await root.getByText("Default version: v1").waitFor();
    await openTab(root, "Policy versions");
    await versionRow("v1").getByText("Default").waitFor();
    assert.equal(await root.getByRole("button", { name: "Delete v1", exact: true }).count(), 0);
    // The editor (Permissions) starts from the default version's document.
    await openTab(root, "Permissions");
    assert.deepEqual(JSON.parse(await editor().inputValue()), JSON.parse(allow("iam:ListUsers")));
  });

  await t.step("bad-draft-flagged-live", async () => {
    await editor().fill(badDraft);
    await root.getByText(/Line 3, column 3: /).waitFor();
  });

  await t.step("bad-draft-refused", async () => {
    const resp = await clickForPage(root, root.getByRole("button", { name: "Save changes" }), "/versions");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /Line 3, column 3: /);
    assert.equal(await editor().inputValue(), badDraft, "the draft is kept for fixing");
  });

  await t.step("v2-default", async () => {
    await editor().fill(allow(["iam:ListUsers", "iam:ListGroups"]));
    await root.getByText("The policy engine has no findings.").waitFor();
    assert.ok(await root.getByLabel("Set as default").isChecked());
    await root.getByRole("button", { name: "Save changes" }).click();
    await root.getByText("Default version: v2").waitFor();
    assert.match(await defaultDocument(), /iam:ListGroups/);
    await openTab(root, "Policy versions");
    await versionRow("v2").getByText("Default").waitFor();
    await versionRow("v1").getByRole("button", { name: "Set v1 as default" }).waitFor();
  });

  await t.step("simulated-with-v2", async () => {
    const rows = await simulate(root, iamArn("user", USER), ["iam:ListGroups"]);
    assert.deepEqual(rows.map((r) => [r.action, r.decision]), [["iam:ListGroups", "allowed"]]);
    assert.match(rows[0].matched, new RegExp(POLICY));
  });

  await t.step("v3-not-default", async () => {
    await policyPage();
    await editor().fill(allow(["iam:ListUsers", "iam:ListRoles"]));
    await root.getByLabel("Set as default").uncheck();
    await root.getByRole("button", { name: "Save changes" }).click();
    await root.getByText("Policy version created.").waitFor();
    await openTab(root, "Policy versions");
    await versionRow("v3").getByRole("button", { name: "Set v3 as default" }).waitFor();
    await root.getByText("Default version: v2").waitFor();
  });

  await t.step("v1-default-again", async () => {
    await versionRow("v1").getByRole("button", { name: "Set v1 as default" }).click();
    await root.getByText("Default version: v1").waitFor();
    await versionRow("v1").getByText("Default").waitFor();
    await openTab(root, "Permissions");
    assert.doesNotMatch(await defaultDocument(), /iam:ListGroups/);
    await openTab(root, "Policy versions");
  }, { docs: "policy-versions" });

  await t.step("simulated-with-v1", async () => {
    const rows = await simulate(root, iamArn("user", USER), ["iam:ListGroups", "iam:ListUsers"]);
    assert.deepEqual(
      rows.map((r) => [r.action, r.decision]),
      [
        ["iam:ListGroups", "implicitDeny"],
        ["iam:ListUsers", "allowed"],
      ],
    );
  });

  await t.step("non-default-versions-deleted", async () => {
    await policyPage();
    // The user the policy is attached to, among its entities.
    await openTab(root, "Entities attached");
    await root.getByRole("table", { name: "Attached to (1)" }).getByRole("row", { name: new RegExp(`${USER} User`) }).waitFor();
    await openTab(root, "Policy versions");
    await clickForPage(root, root.getByRole("button", { name: "Delete v3", exact: true }), "");
    await clickForPage(root, root.getByRole("button", { name: "Delete v2", exact: true }), "");
    assert.equal(await versionRow("v2").count(), 0);
    assert.equal(await versionRow("v3").count(), 0);
    await versionRow("v1").getByText("Default").waitFor();
  });

  // The API agrees.
  const versions = rootCli(["iam", "list-policy-versions", "--policy-arn", arn]).Versions;
  assert.deepEqual(
    versions.map((v) => [v.VersionId, v.IsDefaultVersion]),
    [["v1", true]],
  );
  console.log("ok   iam list-policy-versions: v1 only, the default");
});
