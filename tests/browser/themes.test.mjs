// The design system in both themes: one page of every kind (sign-in, a list, a user, a role,
// the policy editor with a finding, an ECR repository), first in the light theme and then in
// the dark one (chromium told the OS prefers dark: the stylesheet follows prefers-color-scheme).
// axe-core checks every page in both (colour contrast included); the screenshots are the
// README's (docs/screenshots/light-*.png, dark-*.png, with KAGI_UPDATE_SCREENSHOTS=1).
// The Rust test pushed test-repos:v1 before this script starts.

import { account, assert, createUser, endpoint, feature, REGION, rootCli, rootPassword, signIn, createRoleTrustingAccount } from "./lib.mjs";

const USER = "design-user";
const ROLE = "DesignRole";
const POLICY = "DesignPolicy";

await feature("themes", async (t) => {
  const { Policy } = rootCli([
    "iam",
    "create-policy",
    "--policy-name",
    POLICY,
    "--policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" }],
    }),
  ]);
  createRoleTrustingAccount(ROLE, account);
  rootCli(["iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", Policy.Arn]);

  for (const scheme of ["light", "dark"]) {
    const page = await t.newPage({ colorScheme: scheme });
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

    await t.step(`${scheme}-signin`, async () => {
      await page.goto(`${endpoint}/console/signin`);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      // The theme follows the OS setting.
      assert.equal(await background(), scheme === "dark" ? "rgb(11, 21, 32)" : "rgb(244, 245, 247)");
      await page.getByLabel("Account ID").fill(account);
    }, { docs: `${scheme}-signin` });

    await t.step(`${scheme}-users`, async () => {
      await signIn(page, null, rootPassword);
      if (scheme === "light") await createUser(page, USER, "Design-User-Password-1!");
      await page.goto(`${endpoint}/console/users`);
      await page.getByRole("table", { name: /^Users \(\d+\)$/ }).waitFor();
    }, { docs: `${scheme}-users` });

    await t.step(`${scheme}-user`, async () => {
      await page.getByRole("link", { name: USER, exact: true }).click();
      await page.getByRole("heading", { name: USER, exact: true }).waitFor();
      const crumbs = page.getByRole("navigation", { name: "Breadcrumbs" });
      assert.deepEqual(await crumbs.getByRole("listitem").allInnerTexts(), ["IAM", "Users", USER]);
    }, { docs: `${scheme}-user` });

    await t.step(`${scheme}-role`, async () => {
      await page.goto(`${endpoint}/console/roles/${ROLE}`);
      await page.getByRole("heading", { name: ROLE, exact: true }).waitFor();
    }, { docs: `${scheme}-role` });

    await t.step(`${scheme}-policy-editor`, async () => {
      await page.goto(`${endpoint}/console/policies/new`);
      await page.getByLabel("Policy name").fill("Draft");
      await page
        .getByLabel("Policy document (JSON)")
        .fill('{\n  "Version": "2012-10-17",\n  // a comment\n  "Statement": []\n}\n');
      await page.getByText(/Line 3, column 3: /).waitFor();
      // The finding is pinned to its line: line 3's number is marked, with the message.
      const marked = page.locator(".code-gutter .has-error");
      await marked.waitFor();
      assert.equal(await marked.innerText(), "3");
      assert.match(await marked.getAttribute("title"), /^ERROR /);
      // No summary for a document that is not valid JSON.
      await page.getByText("The summary of what the draft allows appears when it is a valid policy document.").waitFor();
      // Bracket matching: the caret before the first brace pairs it with the last.
      const editor = page.getByLabel("Policy document (JSON)");
      await editor.focus();
      await editor.evaluate((e) => e.setSelectionRange(0, 0));
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowLeft");
      await page.getByText("Line 1, column 1 · “{” matches line 5").waitFor();
      assert.equal(await page.locator(".code-shade .bracket-match").count(), 2);
    }, { docs: `${scheme}-policy-editor` });

    if (scheme === "light") {
      await t.step("policy-summary", async () => {
        // A valid draft: what it allows, as a table, live; the policy's page shows the same.
        await page.getByLabel("Policy document (JSON)").fill(
          JSON.stringify(
            {
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Action: ["ecr:PutImage", "ecr:BatchGetImage"], Resource: `arn:aws:ecr:${REGION}:${account}:repository/test-repos` },
                { Effect: "Deny", Action: "iam:*", Resource: "*" },
              ],
            },
            null,
            2,
          ),
        );
        const summary = page.getByRole("table", { name: "What this draft allows" });
        await summary.getByRole("row", { name: /Allow ecr PutImage, BatchGetImage .*repository\/test-repos/ }).waitFor();
        await summary.getByRole("row", { name: /Deny iam All actions All resources/ }).waitFor();
        await page.getByText("The policy engine has no findings.").waitFor();
        assert.equal(await page.locator(".code-gutter .has-error").count(), 0);
        await page.getByRole("button", { name: "Create policy" }).click();
        await page.getByRole("link", { name: "Draft", exact: true }).click();
        await page
          .getByRole("table", { name: "Summary" })
          .getByRole("row", { name: /Allow ecr PutImage, BatchGetImage/ })
          .waitFor();
      });
    }

    await t.step(`${scheme}-ecr-repository`, async () => {
      await page.goto(`${endpoint}/console/ecr/repositories/test-repos?region=${REGION}`);
      await page.getByRole("heading", { name: "test-repos", exact: true }).waitFor();
      await page.getByRole("row", { name: /\bv1\b/ }).waitFor();
    }, { docs: `${scheme}-ecr-repository` });
  }
});
