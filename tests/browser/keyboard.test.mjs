// The seed's console steps with the keyboard only: no click, no tap. Every control is reached by
// focusing it (as Tab would) and operated with the keys a keyboard user has: typing, Tab,
// Enter, Space. Root: sign in; the skip link; create user-for-switch with a console password
// (Enter in a field submits); its access key; SwitchRolePolicy and ECRPushAndLoginPolicy in the
// policy editor; ECRLoginAndPushRole trusting this account; the policy attached to the user;
// sign out through the account menu. The user: sign in, switch role, the repository's push
// commands, switch back. The Rust test pushed test-repos:v1 before this script starts.

import { account, assert, endpoint, feature, header, iamArn, REGION, rootPassword } from "./lib.mjs";

const USER = "user-for-switch";
const PASSWORD = "Keyboard-User-Pw-2026!";
const ROLE = "ECRLoginAndPushRole";
const REPO = "test-repos";

await feature("keyboard", async (t) => {
  const page = await t.newPage();
  const key = (k) => page.keyboard.press(k);
  /** Focuses `locator` and presses `k` on it (Enter by default). */
  const press = async (locator, k = "Enter") => {
    await locator.focus();
    await key(k);
  };
  /** Focuses the field and types `text` into it (replacing what it held). */
  const type = async (locator, text) => {
    await locator.focus();
    await key("Control+A");
    await key("Delete");
    await page.keyboard.type(text);
  };
  const nav = (name) => page.getByRole("navigation", { name: /^(Services|IAM|ECR)$/ }).getByRole("link", { name, exact: true });
  // A page counts as shown once loaded (its deferred script run): keys pressed while it still
  // loads can land before the browser handles them as a user would see (a fragment link's
  // focus move waits for the load).
  const heading = async (name) => {
    await page.getByRole("heading", { name, exact: true }).waitFor();
    await page.waitForLoadState("load");
  };
  const focused = () => page.evaluate(() => (document.activeElement.textContent || "").trim());
  const menu = async (item) => {
    await press(page.getByLabel(/^Signed in as /));
    await press(header(page).getByRole(item === "Sign out" ? "button" : "link", { name: item, exact: true }));
  };

  await t.step("root-signs-in", async () => {
    await page.goto(`${endpoint}/console/signin`);
    // The first Tab reaches the skip link.
    await key("Tab");
    assert.equal(await focused(), "Skip to main content");
    await type(page.getByLabel("Account ID"), account);
    await key("Tab");
    await key("Tab"); // the IAM user name stays empty: the root user
    await page.keyboard.type(rootPassword);
    await key("Enter");
    await heading("Users");
    await key("Tab");
    assert.equal(await focused(), "Skip to main content");
    await key("Enter");
    assert.equal(await page.evaluate(() => document.activeElement.id), "content");
  });

  await t.step("create-user", async () => {
    await press(page.getByRole("link", { name: "Create user", exact: true }));
    assert.equal(new URL(page.url()).hash, "#create-user");
    await type(page.getByLabel("User name"), USER);
    await key("Tab");
    await page.keyboard.type(PASSWORD);
    await key("Enter");
    await heading(USER);
    await page.getByRole("status").getByText(`User ${USER} created.`).waitFor();
  });

  await t.step("access-key", async () => {
    // The user's tabs: focus the selected one, End moves to the last, arrows between them.
    await press(page.getByRole("tab", { name: "Permissions" }), "End");
    assert.equal(await focused(), "Access Advisor");
    await key("ArrowLeft");
    assert.equal(await focused(), "Security credentials");
    await key("Enter");
    await press(page.getByRole("radio", { name: "Command Line Interface (CLI)" }), "Space");
    assert.ok(await page.getByRole("radio", { name: "Command Line Interface (CLI)" }).isChecked());
    await press(page.getByRole("button", { name: "Create access key" }));
    await heading("Access key created");
    await page.getByRole("button", { name: "Copy secret access key" }).waitFor();
    await press(page.getByRole("link", { name: "Done" }));
    await heading(USER);
  });

  const createPolicy = async (name, document) => {
    await press(nav("Policies"));
    await heading("Policies");
    await press(page.getByRole("link", { name: "Create policy", exact: true }));
    // The editor's script sets the page up on load; tabbing before it ran can land elsewhere.
    await page.waitForURL(/\/console\/policies\/new$/, { waitUntil: "load" });
    await type(page.getByLabel("Policy name"), name);
    await key("Tab"); // description
    await key("Tab"); // the editor
    assert.equal(await page.evaluate(() => document.activeElement.name), "PolicyDocument");
    await page.keyboard.type(document);
    await page.getByText("The policy engine has no findings.").waitFor();
    await key("Tab");
    assert.equal(await focused(), "Create policy");
    await key("Enter");
    await heading("Policies");
    await page.getByRole("status").getByText(`Policy ${name} created.`).waitFor();
  };

  await t.step("policies", async () => {
    await createPolicy(
      "SwitchRolePolicy",
      `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "${iamArn("role", ROLE)}"}]}`,
    );
    await createPolicy(
      "ECRPushAndLoginPolicy",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:UploadLayerPart",
              "ecr:InitiateLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"],
            Resource: `arn:aws:ecr:${REGION}:${account}:repository/${REPO}`,
          },
          { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        ],
      }),
    );
  });

  await t.step("role", async () => {
    await press(nav("Roles"));
    await press(page.getByRole("link", { name: "Create role", exact: true }));
    await heading("Create role");
    await press(page.getByRole("radio", { name: "AWS account: this account" }), "Space");
    await type(page.getByLabel("Role name"), ROLE);
    await type(page.getByLabel(/Permissions policy ARN/), iamArn("policy", "ECRPushAndLoginPolicy"));
    await press(page.getByRole("button", { name: "Create role" }));
    await heading(ROLE);
    await page.getByRole("row", { name: /ECRPushAndLoginPolicy/ }).waitFor();
  });

  await t.step("attach-to-user", async () => {
    await press(nav("Users"));
    await press(page.getByRole("link", { name: USER, exact: true }));
    await heading(USER);
    await type(page.getByLabel("Policy ARN"), iamArn("policy", "SwitchRolePolicy"));
    await key("Enter");
    await page.getByRole("status").getByText("Policy attached.").waitFor();
    await page.getByRole("row", { name: /SwitchRolePolicy/ }).waitFor();
    await menu("Sign out");
    await heading("Sign in");
  });

  await t.step("user-switches-role", async () => {
    await type(page.getByLabel("Account ID"), account);
    await key("Tab");
    await page.keyboard.type(USER);
    await key("Tab");
    await page.keyboard.type(PASSWORD);
    await key("Enter");
    await heading("Users");
    await menu("Switch role");
    await heading("Switch role");
    await type(page.getByLabel("Role", { exact: true }), ROLE);
    await type(page.getByLabel(/Display name/), "ECR push");
    await press(page.getByRole("radio", { name: "Green" }), "Space");
    await press(page.getByRole("button", { name: "Switch role" }));
    await header(page).getByRole("status").getByText("ECR push").waitFor();
  });

  await t.step("push-commands", async () => {
    await press(nav("ECR"));
    await type(page.getByLabel("Region"), REGION);
    await key("Enter");
    await type(page.getByLabel("Repository name").first(), REPO);
    await key("Enter");
    await heading(REPO);
    await press(page.getByText("View push commands"));
    await page.getByText(`docker push ${new URL(endpoint).host}/${REPO}:latest`).waitFor();
    await press(header(page).getByRole("button", { name: "Switch back" }));
    await heading("Users");
    assert.equal(await header(page).getByRole("status").count(), 0);
  });
});
