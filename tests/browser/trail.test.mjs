// CloudTrail's Event history and "Generate policy" in the console (users and the role made
// with the CLI):
//   trail-user (may list users and switch to TrailRole; an explicit "NoRoles" deny on
//     iam:ListRoles; no cloudtrail:LookupEvents) is denied the Roles page and the Event
//     history (AWS's access-denied panel, 403), switches to TrailRole and lists users with it.
//   root opens Event history from the service switcher: events newest first; filters by event
//     name (ListRoles: the denied call, its error code) and by user name; a time range in the
//     past finds nothing; "Load more" pages with NextToken and keeps the filter.
//   root opens the denied event: kagi's explanation (the decision, the NoRoles statement with
//     its policy, line and column) and the record's JSON, escaped.
//   root generates a policy for TrailRole from its sessions' calls (last 1 day): the result
//     allows iam:ListUsers; named and created, it is attached to the role; the generation is
//     listed on the role's page.

import { account, assert, endpoint, clickForPage, escapeRe, feature, header, iamArn, nav, openTab, rootCli, rootPage, signedInAs, signIn } from "./lib.mjs";

const USER = "trail-user";
const PASSWORD = "Trail-User-Password-1!";
const ROLE = "TrailRole";
const GENERATED = "TrailRoleGenerated";

const services = (page) => page.getByRole("navigation", { name: "Services" });
const eventsTable = (page) => page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: /Event name/ }) });
/** The rows of the events table (header row excluded) as `{time, user, name, source, error, key}`. */
const eventRows = (page) =>
  eventsTable(page)
    .locator("tbody tr")
    .evaluateAll((trs) =>
      trs.map((tr) => {
        const c = [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
        return { time: c[0], user: c[1], name: c[2], source: c[3], rtype: c[4], rname: c[5], error: c[6], key: c[7] };
      }),
    );
/** Applies the event history's filter form. */
async function filter(page, attribute, value, range = "") {
  await page.getByLabel("Lookup attribute").selectOption({ label: attribute });
  await page.getByLabel("Value", { exact: true }).fill(value);
  await page.getByLabel("Time range").selectOption(range);
  const resp = await clickForPage(page, page.getByRole("button", { name: "Apply filter" }), "/console/cloudtrail/events");
  assert.equal(resp.status(), 200);
  await page.getByRole("heading", { name: "Event history" }).waitFor();
}

await feature("trail", async (t) => {
  rootCli([
    "iam",
    "create-role",
    "--role-name",
    ROLE,
    "--assume-role-policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }],
    }),
  ]);
  rootCli([
    "iam",
    "put-role-policy",
    "--role-name",
    ROLE,
    "--policy-name",
    "ReadUsers",
    "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["iam:ListUsers", "iam:GetUser"], Resource: "*" }] }),
  ]);
  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli(["iam", "create-login-profile", "--user-name", USER, "--password", PASSWORD]);
  rootCli([
    "iam",
    "put-user-policy",
    "--user-name",
    USER,
    "--policy-name",
    "TrailUser",
    "--policy-document",
    JSON.stringify(
      {
        Version: "2012-10-17",
        Statement: [
          { Sid: "Switch", Effect: "Allow", Action: "sts:AssumeRole", Resource: iamArn("role", ROLE) },
          { Sid: "Read", Effect: "Allow", Action: ["iam:ListUsers", "iam:ListRoles"], Resource: "*" },
          { Sid: "NoRoles", Effect: "Deny", Action: "iam:ListRoles", Resource: "*" },
        ],
      },
      null,
      2,
    ),
  ]);
  // Enough events for more than one page of the history (50 a page).
  for (let i = 0; i < 60; i++) rootCli(["iam", "get-user", "--user-name", USER]);

  const user = await t.newPage();
  await t.step("user-denied-roles-and-event-history", async () => {
    await signIn(user, USER, PASSWORD);
    await signedInAs(user, iamArn("user", USER));
    const roles = await clickForPage(user, nav(user).getByRole("link", { name: "Roles" }), "/console/roles");
    assert.equal(roles.status(), 403);
    const trail = await clickForPage(user, services(user).getByRole("link", { name: "CloudTrail" }), "/console/cloudtrail/events");
    assert.equal(trail.status(), 403);
    await user.getByRole("heading", { name: "Event history" }).waitFor();
    assert.match(
      await user.getByRole("alert").first().innerText(),
      new RegExp(`AccessDenied.*${escapeRe(iamArn("user", USER))} is not authorized to perform: cloudtrail:LookupEvents`, "s"),
    );
  });

  await t.step("user-switched-to-role", async () => {
    await user.goto(`${endpoint}/console/switch-role?account=${account}&roleName=${ROLE}&displayName=Trail`);
    const resp = await clickForPage(user, user.getByRole("main").getByRole("button", { name: "Switch role" }), "");
    assert.equal(resp.status(), 200);
    await header(user).getByRole("status").getByText("Trail").waitFor();
    const users = await clickForPage(user, nav(user).getByRole("link", { name: "Users" }), "/console/users");
    assert.equal(users.status(), 200);
    await user.getByRole("row", { name: new RegExp(escapeRe(iamArn("user", USER))) }).waitFor();
  });

  const root = await rootPage(t);
  await t.step("event-history", async () => {
    const resp = await clickForPage(root, services(root).getByRole("link", { name: "CloudTrail" }), "/console/cloudtrail/events");
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "Event history" }).waitFor();
    await root.getByRole("navigation", { name: "CloudTrail" }).getByRole("link", { name: "Event history" }).waitFor();
    const rows = await eventRows(root);
    assert.equal(rows.length, 50, "a full first page");
    const times = rows.map((r) => r.time);
    assert.deepEqual(times, [...times].sort().reverse(), "newest first");
  });

  let deniedHref;
  await t.step("filtered-by-event-name", async () => {
    await filter(root, "Event name", "ListRoles");
    const rows = await eventRows(root);
    assert.ok(rows.length >= 1, "the denied ListRoles is there");
    assert.ok(rows.every((r) => r.name === "ListRoles"), JSON.stringify(rows));
    const denied = rows.find((r) => r.user === USER && r.error === "AccessDenied");
    assert.ok(denied, `a denied ListRoles by ${USER}: ${JSON.stringify(rows)}`);
    assert.match(denied.key, /^ASIA/, "the console session's key");
    assert.equal(denied.source, "iam.amazonaws.com");
    deniedHref = await eventsTable(root)
      .getByRole("row", { name: new RegExp(`${USER}.*ListRoles.*AccessDenied`) })
      .first()
      .getByRole("link", { name: "ListRoles" })
      .getAttribute("href");
    // The filter is the page's URL and stays in the form.
    assert.match(root.url(), /attribute=EventName&value=ListRoles/);
    assert.equal(await root.getByLabel("Value", { exact: true }).inputValue(), "ListRoles");
  });

  await t.step("filtered-by-user-name", async () => {
    await filter(root, "User name", USER, "1h");
    const rows = await eventRows(root);
    assert.ok(rows.length >= 3, JSON.stringify(rows));
    assert.ok(rows.every((r) => r.user === USER), JSON.stringify(rows));
    const names = new Set(rows.map((r) => r.name));
    for (const n of ["ListRoles", "LookupEvents", "AssumeRole", "ListUsers"]) assert.ok(names.has(n), `${n} in ${[...names]}`);
    assert.ok(rows.some((r) => r.name === "LookupEvents" && /^AccessDenied/.test(r.error)), "the denied event history");
  });

  await t.step("time-range-in-the-past", async () => {
    await root.getByLabel("Lookup attribute").selectOption({ label: "User name" });
    await root.getByLabel("Value", { exact: true }).fill("");
    await root.getByLabel("Time range").selectOption("custom");
    await root.getByLabel("Start (UTC)").fill("2020-01-01T00:00");
    await root.getByLabel("End (UTC)").fill("2020-01-02T00:00");
    await clickForPage(root, root.getByRole("button", { name: "Apply filter" }), "/console/cloudtrail/events");
    await root.getByText("No events match.").waitFor();
  });

  await t.step("load-more", async () => {
    await clickForPage(root, root.getByRole("link", { name: "Clear filters" }), "/console/cloudtrail/events");
    const first = await eventRows(root);
    assert.equal(first.length, 50);
    const resp = await clickForPage(root, root.getByRole("link", { name: /Load more/ }), "/console/cloudtrail/events");
    assert.equal(resp.status(), 200);
    assert.match(root.url(), /[?&]next=/);
    const second = await eventRows(root);
    assert.ok(second.length >= 1);
    assert.ok(second[0].time <= first[first.length - 1].time, "older than the first page");
    await root.getByRole("link", { name: "Newest events" }).waitFor();
  });

  await t.step("denied-event-explained", async () => {
    const resp = await root.goto(new URL(deniedHref, root.url()).href);
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "ListRoles", exact: true }).waitFor();
    await root.getByRole("heading", { name: "Why it was allowed or denied" }).waitFor();
    const decision = root.locator("section.decision").first();
    assert.match(await decision.innerText(), /iam:ListRoles/);
    assert.match(await decision.innerText(), /explicitDeny/);
    const statement = decision.getByRole("row", { name: /"NoRoles"/ });
    const cells = await statement.locator("td").allInnerTexts();
    assert.equal(cells[0], "Deny");
    assert.match(cells[2], /TrailUser/);
    assert.match(cells[6], /^\d+:\d+$/, `line:column, got ${cells[6]}`);
    const record = JSON.parse(await root.locator("#event-record").innerText());
    assert.equal(record.errorCode, "AccessDenied");
    assert.equal(record.userIdentity.arn, iamArn("user", USER));
    assert.equal(record.additionalEventData.kagiAuthorization[0].decision, "explicitDeny");
  });

  await t.step("policy-generated", async () => {
    await clickForPage(root, services(root).getByRole("link", { name: "IAM", exact: true }), "/console/users");
    await nav(root).getByRole("link", { name: "Roles" }).click();
    await root.getByRole("link", { name: ROLE, exact: true }).click();
    await root.getByRole("heading", { name: ROLE, exact: true }).waitFor();
    await openTab(root, "Permissions");
    await root.getByRole("heading", { name: "Generate policy based on CloudTrail events" }).waitFor();
    await root.getByText("No policies generated for this role yet.").waitFor();
    await root.getByLabel("Time period").selectOption("1");
    const resp = await clickForPage(root, root.getByRole("button", { name: "Generate policy" }), "");
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "Generated policy" }).waitFor();
    await root.getByText(`Policy generation started for role ${ROLE}`).waitFor();
    const doc = JSON.parse(await root.getByLabel("Policy document (JSON)").inputValue());
    const actions = doc.Statement.flatMap((s) => [s.Action].flat());
    assert.ok(actions.includes("iam:ListUsers"), JSON.stringify(doc));
    assert.ok(!actions.includes("iam:ListRoles"), "the role never listed roles");
  });

  await t.step("generated-policy-created-and-attached", async () => {
    await root.getByLabel("Policy name").fill(GENERATED);
    await root.getByText("The policy engine has no findings.").waitFor();
    await clickForPage(root, root.getByRole("button", { name: "Create and attach policy" }), `/console/roles/${ROLE}`);
    await root.getByText(`Policy ${GENERATED} created and attached to role ${ROLE}.`).waitFor();
    await openTab(root, "Permissions");
    await root.getByRole("button", { name: `Detach ${GENERATED}` }).waitFor();
    const generations = root.getByRole("table").filter({ has: root.getByText("Earlier policy generations") });
    assert.equal(await generations.locator("tbody tr").count(), 1);
    assert.match(await generations.locator("tbody tr").first().innerText(), /SUCCEEDED/);
    const attached = rootCli(["iam", "list-attached-role-policies", "--role-name", ROLE]);
    assert.deepEqual(
      attached.AttachedPolicies.map((p) => p.PolicyName),
      [GENERATED],
    );
  });
});
