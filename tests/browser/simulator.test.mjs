// The policy simulator (as root) on the seed's role, made with the CLI as the seed makes it:
// ECRLoginAndPushRole trusts this account and has ECRPushAndLoginPolicy (push to test-repos,
// get an ECR token). Expected, as IAM's SimulatePrincipalPolicy answers:
//   ecr:PutImage on test-repos      allowed (matched ECRPushAndLoginPolicy)
//   ecr:PutImage on other-repos     implicitDeny
//   ecr:GetAuthorizationToken on *  allowed
//   iam:ListUsers on *              implicitDeny
// A principal that does not exist is IAM's NoSuchEntity in the page; a user without
// iam:SimulatePrincipalPolicy sees AccessDenied.

import {
  account,
  alertText,
  assert,
  clickForPage,
  feature,
  iamArn,
  nav,
  REGION,
  rootCli,
  rootPage,
  signIn,
  simulate, createRoleTrustingAccount } from "./lib.mjs";

const ROLE = "ECRLoginAndPushRole";
const POLICY = "ECRPushAndLoginPolicy";
const repo = (name) => `arn:aws:ecr:${REGION}:${account}:repository/${name}`;

await feature("simulator", async (t) => {
  const { Policy } = rootCli([
    "iam",
    "create-policy",
    "--policy-name",
    POLICY,
    "--policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "VisualEditor0",
          Effect: "Allow",
          Action: [
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:InitiateLayerUpload",
            "ecr:BatchCheckLayerAvailability",
            "ecr:PutImage",
          ],
          Resource: repo("test-repos"),
        },
        { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      ],
    }),
  ]);
  createRoleTrustingAccount(ROLE, account);
  rootCli(["iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", Policy.Arn]);

  const root = await rootPage(t);
  const decisions = (rows) => rows.map((r) => [r.action, r.resource, r.decision]);

  await t.step("push-to-repositories", async () => {
    const rows = await simulate(root, iamArn("role", ROLE), ["ecr:PutImage"], [repo("test-repos"), repo("other-repos")]);
    assert.deepEqual(decisions(rows), [
      ["ecr:PutImage", repo("test-repos"), "allowed"],
      ["ecr:PutImage", repo("other-repos"), "implicitDeny"],
    ]);
    assert.match(rows[0].matched, new RegExp(POLICY));
    assert.equal(rows[1].matched, "");
    // The form keeps what was asked, for the next run.
    assert.equal(await root.getByLabel(/^Principal/).inputValue(), iamArn("role", ROLE));
  }, { docs: "policy-simulator" });

  await t.step("token-and-iam", async () => {
    const rows = await simulate(root, iamArn("role", ROLE), ["ecr:GetAuthorizationToken", "iam:ListUsers"]);
    assert.deepEqual(decisions(rows), [
      ["ecr:GetAuthorizationToken", "*", "allowed"],
      ["iam:ListUsers", "*", "implicitDeny"],
    ]);
    // Decisions are coloured: allowed green, denied red (classes, no inline style).
    const colours = await root
      .getByRole("table")
      .last()
      .getByRole("cell", { name: /^(allowed|implicitDeny)$/ })
      .evaluateAll((tds) => tds.map((td) => getComputedStyle(td).color));
    assert.deepEqual(colours, ["rgb(29, 129, 2)", "rgb(209, 50, 18)"]);
  });

  await t.step("unknown-principal", async () => {
    await root.getByLabel(/^Principal/).fill(iamArn("role", "NoSuchRole"));
    const resp = await clickForPage(root, root.getByRole("button", { name: "Run simulation" }), "/console/simulator");
    assert.equal(resp.status(), 404);
    assert.match(await alertText(root), /NoSuchEntity/);
  });

  // A user with console access and no IAM permissions may not simulate.
  rootCli(["iam", "create-user", "--user-name", "sim-user"]);
  rootCli(["iam", "create-login-profile", "--user-name", "sim-user", "--password", "Sim-User-Password-1!"]);
  const user = await t.newPage();
  await t.step("user-denied-simulation", async () => {
    await signIn(user, "sim-user", "Sim-User-Password-1!");
    await nav(user).getByRole("link", { name: "Policy simulator" }).click();
    await user.getByLabel(/^Principal/).fill(iamArn("role", ROLE));
    await user.getByLabel(/^Actions/).fill("ecr:PutImage");
    const resp = await clickForPage(user, user.getByRole("button", { name: "Run simulation" }), "/console/simulator");
    assert.equal(resp.status(), 403);
    assert.match(await alertText(user), /AccessDenied.*iam:SimulatePrincipalPolicy/s);
  });
});
