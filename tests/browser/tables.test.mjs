// Data tables: the Users list with 120 users (made with the CLI) is filtered, sorted and paged
// in the browser (the console's script; 25 rows a page), by mouse and by keyboard; without the
// script the same page lists every user; two are selected and deleted together (the confirm
// dialog names them); an empty list says what to do next.

import { accountMenu, assert, endpoint, feature, nav, rootCli, rootPage, rootPassword, signIn } from "./lib.mjs";

const N = 120;
const names = Array.from({ length: N }, (_, i) => `user-${String(i).padStart(3, "0")}`);

await feature("tables", async (t) => {
  for (const n of names) rootCli(["iam", "create-user", "--user-name", n]);

  const page = await rootPage(t);
  const table = () => page.getByRole("table", { name: /^Users/ });
  /** The user names in the rows the table shows now (hidden rows are not in the table's rows). */
  const shown = async () =>
    (await table().getByRole("row").allInnerTexts()).slice(1).map((r) => r.trim().split(/\s+/)[0]);

  await t.step("users-120", async () => {
    await page.getByRole("heading", { name: "Users", exact: true }).waitFor();
    // The count is in the table's caption (its accessible name).
    await page.getByRole("table", { name: `Users (${N})` }).waitFor();
    await page.getByText(`Showing 1–25 of ${N} users.`).waitFor();
    assert.deepEqual(await shown(), names.slice(0, 25));
    await page.getByText("Page 1 of 5").waitFor();
    assert.equal(await page.getByRole("button", { name: "Previous page" }).isDisabled(), true);
  }, { docs: "users-list" });

  await t.step("next-pages", async () => {
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText(`Showing 26–50 of ${N} users.`).waitFor();
    assert.deepEqual(await shown(), names.slice(25, 50));
    for (let i = 0; i < 3; i++) await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText(`Showing 101–120 of ${N} users.`).waitFor();
    assert.deepEqual(await shown(), names.slice(100));
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
  });

  await t.step("sort-descending", async () => {
    const header = table().getByRole("columnheader", { name: /User name/ });
    // First click: ascending (and back to page 1); second: descending.
    await header.getByRole("button").click();
    assert.equal(await header.getAttribute("aria-sort"), "ascending");
    assert.deepEqual(await shown(), names.slice(0, 25));
    await header.getByRole("button").click();
    assert.equal(await header.getAttribute("aria-sort"), "descending");
    await page.getByText(`Showing 1–25 of ${N} users.`).waitFor();
    assert.deepEqual(await shown(), [...names].reverse().slice(0, 25));
  });

  await t.step("filter", async () => {
    await page.getByLabel("Filter users").fill("user-11");
    await page.getByText(`Showing 1–10 of 10 users matching “user-11”.`).waitFor();
    // Still sorted descending; one page, so no pager.
    assert.deepEqual(await shown(), names.slice(110).reverse());
    assert.equal(await page.getByRole("button", { name: "Next page" }).isVisible(), false);
    await page.getByLabel("Filter users").fill("nobody");
    await page.getByText("No users match “nobody”.").waitFor();
    assert.deepEqual(await shown(), []);
  });

  await t.step("keyboard", async () => {
    // Filter, sort and page with the keyboard only.
    await page.getByLabel("Filter users").focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("user-0");
    await page.getByText(`Showing 1–25 of 100 users matching “user-0”.`).waitFor();
    // Tab to the first column's sort button; Enter sorts ascending.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "User name");
    await page.keyboard.press("Enter");
    assert.deepEqual(await shown(), names.slice(0, 25));
    // The table drawn again with the same rows (here: the filter's input event with the text
    // unchanged; in life, the script's first drawing after a fast keyboard user reached a row)
    // keeps the focus on the link it was on.
    await table().getByRole("link", { name: "user-010" }).focus();
    await page.getByLabel("Filter users").dispatchEvent("input");
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "user-010");
    await page.getByRole("button", { name: "Next page" }).focus();
    await page.keyboard.press("Enter");
    await page.getByText(`Showing 26–50 of 100 users matching “user-0”.`).waitFor();
    assert.deepEqual(await shown(), names.slice(25, 50));
    // Opening a user by keyboard: focus its link, Enter.
    await table().getByRole("link", { name: "user-030" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "user-030", exact: true }).waitFor();
  });

  await t.step("without-script", async () => {
    // Progressive enhancement: with scripts off, the list is the server's, every row shown.
    // (A browser of its own, without the harness's in-page checks, which need scripts.)
    const ctx = await t.browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled: false });
    t.contexts.push(ctx);
    const plain = await ctx.newPage();
    await signIn(plain, null, rootPassword);
    await plain.getByRole("table", { name: `Users (${N})` }).waitFor();
    assert.equal(await plain.getByRole("row").count(), N + 1);
    assert.equal(await plain.getByLabel("Filter users").count(), 0);
    await t.shot("no-script-list", plain);
    await ctx.close();
  });

  await t.step("bulk-detach", async () => {
    // Two policies attached to one user; both detached at once from its Permissions tab.
    const arns = ["BulkOne", "BulkTwo"].map(
      (name) =>
        rootCli([
          "iam",
          "create-policy",
          "--policy-name",
          name,
          "--policy-document",
          JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }] }),
        ]).Policy.Arn,
    );
    for (const arn of arns) rootCli(["iam", "attach-user-policy", "--user-name", "user-000", "--policy-arn", arn]);
    await page.goto(`${endpoint}/console/users/user-000`);
    const policies = page.getByRole("table", { name: "Permissions policies (2)" });
    await policies.waitFor();
    await page.getByRole("checkbox", { name: "Select BulkOne" }).check();
    await page.getByRole("checkbox", { name: "Select BulkTwo" }).check();
    await page.getByRole("button", { name: "Detach selected" }).click();
    await page.getByRole("status").getByText("2 policies detached.").waitFor();
    await page.getByRole("table", { name: "Permissions policies (0)" }).getByText("No policies attached.").waitFor();
    assert.deepEqual(rootCli(["iam", "list-attached-user-policies", "--user-name", "user-000"]).AttachedPolicies, []);
  });

  await t.step("delete-selected", async () => {
    // Selection and bulk delete: the button opens only with rows chosen; its modal dialog names
    // them and asks for "delete"; Cancel leaves everything as it was.
    await nav(page).getByRole("link", { name: "Users" }).click();
    // The page's script disables the button until rows are chosen: wait until it has run.
    await page.waitForURL(/\/console\/users$/);
    await page.waitForLoadState("load");
    const open = page.getByRole("button", { name: "Delete selected users" });
    await page.waitForFunction(
      () => [...document.querySelectorAll("button")].some(
        (b) => b.textContent.trim() === "Delete selected users" && b.disabled),
      null,
      { timeout: 5000 },
    ).catch(() => {});
    assert.equal(await open.isDisabled(), true);
    await page.getByLabel("Filter users").fill("user-11");
    await page.getByRole("checkbox", { name: "Select user-118" }).check();
    await page.getByRole("checkbox", { name: "Select user-119" }).check();
    await open.click();
    const dialog = page.getByRole("dialog", { name: "Delete the selected users?" });
    assert.deepEqual(await dialog.getByRole("listitem").allInnerTexts(), ["user-118", "user-119"]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await open.click();
    await dialog.getByLabel(/To confirm deleting the selected users, enter/).fill("delete");
    await dialog.getByRole("button", { name: "Delete selected users" }).click();
    await page.getByRole("status").getByText("Deleted users: user-118, user-119.").waitFor();
    await page.getByRole("table", { name: `Users (${N - 2})` }).waitFor();
    assert.equal(rootCli(["iam", "list-users"]).Users.length, N - 2);
  });

  await t.step("empty-state", async () => {
    await nav(page).getByRole("link", { name: "User groups" }).click();
    await page.getByRole("table", { name: "User groups (0)" }).waitFor();
    await page.getByText("No user groups yet").waitFor();
    await page.getByRole("link", { name: "Create a group" }).click();
    await page.waitForURL(/#create-group$/);
    await page.getByLabel("User group name").fill("first-group");
    await page.getByRole("button", { name: "Create group" }).click();
    await page.getByRole("heading", { name: "first-group", exact: true }).waitFor();
    // The action says what it did, once.
    await page.getByRole("status").getByText("Group first-group created.").waitFor();
    await page.reload();
    assert.equal(await page.getByText("Group first-group created.").count(), 0);
    // The breadcrumbs lead back to the list, which now counts it.
    await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: "User groups" }).click();
    await page.getByRole("table", { name: "User groups (1)" }).waitFor();
    // The account menu is there on every page, as is its sign-out.
    await accountMenu(page, "Sign out");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/console/signin");
  });
});
