// Groups, by clicking, with two browsers side by side:
//   group-user (signed in, no policies) is denied the Users page (AccessDenied, 403).
//   root: creates the policy ListUsersAndGroups, the group Readers, adds group-user, attaches
//     the policy; the group's page lists both; the user's page lists the group.
//   group-user: the same page now shows the users (200), with no new sign-in: permissions are
//     evaluated per request.
//   root detaches the policy from the group: denied; attaches it again: allowed.
//   root creates second-reader with the Users page's form, naming the group and the policy:
//     the new user is in the group and has the policy attached.
//   root removes group-user from the group; group-user is denied again.

import {
  alertText,
  allow,
  assert,
  clickForPage,
  createPolicy,
  createUser,
  escapeRe,
  feature,
  iamArn,
  nav,
  openTab,
  rootPage,
  signedInAs,
  signIn,
} from "./lib.mjs";

const USER = "group-user";
const PASSWORD = "Group-User-Password-1!";
const GROUP = "Readers";
const POLICY = "ListUsersAndGroups";

await feature("groups", async (t) => {
  const root = await rootPage(t);
  await t.step("user-created", async () => {
    await createUser(root, USER, PASSWORD);
    await openTab(root, "Groups");
    await root.getByText("Not in any group.").waitFor();
  });

  const user = await t.newPage();
  const usersPage = () => clickForPage(user, nav(user).getByRole("link", { name: "Users" }), "/console/users");
  await t.step("user-denied-users-page", async () => {
    await signIn(user, USER, PASSWORD);
    await signedInAs(user, iamArn("user", USER));
    const resp = await usersPage();
    assert.equal(resp.status(), 403);
    assert.match(
      await alertText(user),
      new RegExp(`AccessDenied.*User: ${escapeRe(iamArn("user", USER))} is not authorized to perform: iam:ListUsers`, "s"),
    );
  });

  t.page = root;
  let policyArn;
  await t.step("policy-created", async () => {
    policyArn = await createPolicy(root, POLICY, allow(["iam:ListUsers", "iam:ListGroups"]));
  });

  await t.step("group-created", async () => {
    await nav(root).getByRole("link", { name: "Groups" }).click();
    await root.getByRole("heading", { name: "User groups" }).waitFor();
    await root.getByLabel("User group name").fill(GROUP);
    await root.getByRole("button", { name: "Create group" }).click();
    await root.getByRole("heading", { name: GROUP, exact: true }).waitFor();
    await root.getByText(iamArn("group", GROUP)).waitFor();
  });

  await t.step("member-added", async () => {
    await root.getByLabel("User name").fill(USER);
    await root.getByRole("button", { name: "Add user" }).click();
    await root.getByRole("heading", { name: GROUP, exact: true }).waitFor();
    await root.getByRole("button", { name: `Remove ${USER} from the group` }).waitFor();
  });

  await t.step("group-policy-attached", async () => {
    await root.getByLabel("Policy ARN").fill(policyArn);
    await root.getByRole("button", { name: "Attach policy" }).click();
    await root.getByRole("heading", { name: GROUP, exact: true }).waitFor();
    await root.getByRole("row", { name: new RegExp(POLICY) }).getByRole("button", { name: `Detach ${POLICY}` }).waitFor();
  }, { docs: "group" });

  await t.step("user-page-lists-group", async () => {
    await root.getByRole("link", { name: USER, exact: true }).click();
    await root.getByRole("heading", { name: USER, exact: true }).waitFor();
    // The policy is the group's, not attached to the user (its Permissions tab).
    await openTab(root, "Permissions");
    assert.equal(await root.getByRole("row", { name: new RegExp(POLICY) }).count(), 0);
    await openTab(root, "Groups");
    await root.getByRole("link", { name: GROUP, exact: true }).waitFor();
  });

  t.page = user;
  await t.step("user-allowed-through-group", async () => {
    const resp = await usersPage();
    assert.equal(resp.status(), 200);
    await user.getByRole("row", { name: new RegExp(escapeRe(iamArn("user", USER))) }).waitFor();
    // And the groups list (the policy's second action).
    const groups = await clickForPage(user, nav(user).getByRole("link", { name: "Groups" }), "/console/groups");
    assert.equal(groups.status(), 200);
    await user.getByRole("row", { name: new RegExp(GROUP) }).waitFor();
  });

  // Detaching the group's policy takes the permission away; attaching it again gives it back.
  t.page = root;
  await t.step("group-policy-detached", async () => {
    await nav(root).getByRole("link", { name: "Groups" }).click();
    await root.getByRole("link", { name: GROUP, exact: true }).click();
    await clickForPage(root, root.getByRole("button", { name: `Detach ${POLICY}` }), `/groups/${GROUP}`);
    assert.equal(await root.getByRole("button", { name: `Detach ${POLICY}` }).count(), 0);
    t.page = user;
    assert.equal((await usersPage()).status(), 403);
    t.page = root;
    await root.getByLabel("Policy ARN").fill(policyArn);
    await root.getByRole("button", { name: "Attach policy" }).click();
    await root.getByRole("button", { name: `Detach ${POLICY}` }).waitFor();
    t.page = user;
    assert.equal((await usersPage()).status(), 200);
    t.page = root;
  });

  // The Users page's create form does both at once: a new user straight into the group.
  t.page = root;
  await t.step("user-created-into-group", async () => {
    await nav(root).getByRole("link", { name: "Users" }).click();
    await root.getByLabel("User name").fill("second-reader");
    await root.getByLabel("Add to a group (group name)").fill(GROUP);
    await root.getByLabel("Attach a policy directly (policy ARN)").fill(policyArn);
    await root.getByRole("button", { name: "Create user" }).click();
    await root.getByRole("heading", { name: "second-reader", exact: true }).waitFor();
    await root.getByRole("row", { name: new RegExp(POLICY) }).waitFor();
    await openTab(root, "Groups");
    await root.getByRole("link", { name: GROUP, exact: true }).waitFor();
  });

  await t.step("member-removed", async () => {
    await root.getByRole("link", { name: GROUP, exact: true }).click();
    await clickForPage(root, root.getByRole("button", { name: `Remove ${USER} from the group` }), `/groups/${GROUP}`);
    assert.equal(await root.getByRole("button", { name: `Remove ${USER} from the group` }).count(), 0);
  });

  t.page = user;
  await t.step("user-denied-again", async () => {
    const resp = await usersPage();
    assert.equal(resp.status(), 403);
    assert.match(await alertText(user), /AccessDenied.*iam:ListUsers/s);
  });
});
