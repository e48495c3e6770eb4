// ECR pages beyond the seed's (the Rust side made test-repos and pushed test-repos:v1):
//   root creates the repository console-repo (tag immutability IMMUTABLE) in the console;
//   ecr-user (console access, no policy) may not open test-repos (AccessDenied);
//   root edits test-repos' repository policy: a draft with a comment is flagged live; a policy
//     granting ecr-user DescribeRepositories/DescribeImages/GetRepositoryPolicy is saved and
//     shown; ecr-user now sees the repository and its image (a resource policy grants access
//     within the account without any identity policy);
//   root deletes the image (gone from the page and from the CLI's list-images) and the
//     repository console-repo (its name typed to confirm);
//   a refused repository policy keeps the draft in the editor, as the other policy editors do.

import { alertText, assert, clickForPage, escapeRe, feature, iamArn, nav, openTab, REGION, rootCli, rootPage, signIn } from "./lib.mjs";

const USER = "ecr-user";
const PASSWORD = "Ecr-User-Password-1!";
const REPO = "test-repos";
const NEW_REPO = "console-repo";

const grant = JSON.stringify(
  {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EcrUserReads",
        Effect: "Allow",
        Principal: { AWS: iamArn("user", USER) },
        Action: ["ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:GetRepositoryPolicy"],
      },
    ],
  },
  null,
  2,
);
const commented = grant.replace('"Statement"', '// who may read\n  "Statement"');

await feature("ecr", async (t) => {
  const root = await rootPage(t);
  const repositories = async (page) => {
    await nav(page).getByRole("link", { name: "ECR" }).click();
    await page.getByLabel("Region").fill(REGION);
    await page.getByRole("button", { name: "Change region" }).click();
    await page.getByRole("heading", { name: "ECR repositories" }).waitFor();
  };
  const openRepo = async (page, name) => {
    await repositories(page);
    const open = page.locator("form", { has: page.getByRole("button", { name: "Open repository" }) });
    await open.getByLabel("Repository name").fill(name);
    return clickForPage(page, open.getByRole("button", { name: "Open repository" }), `/${name}`);
  };

  await t.step("repository-created", async () => {
    await repositories(root);
    const create = root.locator("form", { has: root.getByRole("button", { name: "Create repository" }) });
    await create.getByLabel("Repository name").fill(NEW_REPO);
    await create.getByLabel("Tag immutability").selectOption("IMMUTABLE");
    await create.getByRole("button", { name: "Create repository" }).click();
    await root.getByRole("heading", { name: NEW_REPO, exact: true }).waitFor();
    await root.getByRole("row", { name: /Tag immutability/ }).getByText("IMMUTABLE").waitFor();
    await openTab(root, "Permissions");
    await root.getByText("No repository policy.").waitFor();
    const described = rootCli(["ecr", "describe-repositories", "--repository-names", NEW_REPO]).repositories;
    assert.equal(described[0].imageTagMutability, "IMMUTABLE");
  });

  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli(["iam", "create-login-profile", "--user-name", USER, "--password", PASSWORD]);
  const user = await t.newPage();
  await t.step("user-denied-repository", async () => {
    await signIn(user, USER, PASSWORD);
    const resp = await openRepo(user, REPO);
    assert.equal(resp.status(), 403);
    assert.match(await alertText(user), new RegExp(`AccessDenied.*${escapeRe(iamArn("user", USER))}.*ecr:Describe`, "s"));
  });

  t.page = root;
  const policyEditor = () => root.getByLabel("Repository policy (JSON)");
  await t.step("repository-policy-flagged-live", async () => {
    await openRepo(root, REPO);
    await root.getByRole("row", { name: /\bv1\b.*sha256:[0-9a-f]{64}/ }).waitFor();
    await openTab(root, "Permissions");
    await root.locator("summary", { hasText: "Edit repository policy" }).click();
    await policyEditor().fill(commented);
    await root.locator("#repo-policy-findings").getByText(/Line 3, column 3: /).waitFor();
  });

  await t.step("repository-policy-saved", async () => {
    await policyEditor().fill(grant);
    await root.locator("#repo-policy-findings").getByText("The policy engine has no findings.").waitFor();
    await clickForPage(root, root.getByRole("button", { name: "Save repository policy" }), `/${REPO}`);
    const shown = await root.getByRole("heading", { name: "Repository policy" }).locator("xpath=following-sibling::pre[1]").innerText();
    assert.deepEqual(JSON.parse(shown), JSON.parse(grant));
  });

  t.page = user;
  await t.step("user-reads-through-repository-policy", async () => {
    const resp = await openRepo(user, REPO);
    assert.equal(resp.status(), 200);
    await user.getByRole("heading", { name: REPO, exact: true }).waitFor();
    await user.getByRole("row", { name: /\bv1\b.*sha256:[0-9a-f]{64}/ }).waitFor();
    assert.equal(await user.getByRole("alert").count(), 0, await user.locator("main").innerText());
  });

  t.page = root;
  await t.step("image-deleted", async () => {
    await openRepo(root, REPO);
    const row = root.getByRole("row", { name: /\bv1\b.*sha256:[0-9a-f]{64}/ });
    const digest = (await row.innerText()).match(/sha256:[0-9a-f]{64}/)[0];
    await clickForPage(root, row.getByRole("button", { name: `Delete image ${digest}` }), `/${REPO}`);
    assert.equal(await root.getByText(digest).count(), 0);
    assert.deepEqual(rootCli(["ecr", "list-images", "--repository-name", REPO]).imageIds, []);
  });

  await t.step("repository-deleted", async () => {
    await openRepo(root, NEW_REPO);
    await root.getByRole("button", { name: "Delete repository" }).click();
    const dialog = root.getByRole("dialog", { name: `Delete repository ${NEW_REPO} and its images?` });
    await dialog.getByLabel(/To confirm, enter the repository name/).fill(NEW_REPO);
    await dialog.getByRole("button", { name: "Delete repository" }).click();
    await root.getByRole("heading", { name: "ECR repositories" }).waitFor();
    assert.equal(await root.getByRole("link", { name: NEW_REPO, exact: true }).count(), 0);
    await root.getByRole("link", { name: REPO, exact: true }).waitFor();
  });

  await t.step("refused-repository-policy-keeps-draft", async () => {
    await openRepo(root, REPO);
    await openTab(root, "Permissions");
    await root.locator("summary", { hasText: "Edit repository policy" }).click();
    await policyEditor().fill(commented);
    const resp = await clickForPage(root, root.getByRole("button", { name: "Save repository policy" }), "/console/ecr/repository-policy");
    assert.equal(resp.status(), 400);
    assert.match(await alertText(root), /Line 3, column 3: /);
    // As in the other policy editors, the draft comes back for fixing.
    assert.equal(await root.getByLabel("Repository policy (JSON)").count(), 1, "the refused page has the editor with the draft");
    assert.equal(await root.getByLabel("Repository policy (JSON)").inputValue(), commented);
  });
});
