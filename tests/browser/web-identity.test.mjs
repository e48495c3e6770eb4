// Identity providers and the role wizard's "Web identity" trusted entity (as root):
//   "Identity providers" in the navigation → "Add provider": an OpenID Connect provider on a
//     loopback URL (kagi accepts http:// there) with two audiences; its page shows URL and ARN;
//     an audience is added and another removed.
//   Roles → "Create role" → "Web identity": the provider chosen from a select, the audience
//     from the chosen provider's client ids, a subject pattern; the live preview shows the
//     trust policy the IAM console writes (Federated provider, sts:AssumeRoleWithWebIdentity,
//     HOST:aud under StringEquals, HOST:sub under StringLike); the review shows the same,
//     "Back" keeps every choice, and the role is created with exactly that trust policy
//     (checked with the CLI too).

import { account, assert, clickForPage, feature, nav, openTab, rootCli, rootPage } from "./lib.mjs";

const HOST = "127.0.0.1:9/idp";
const URL_ = `http://${HOST}`;
const ARN = `arn:aws:iam::${account}:oidc-provider/${HOST}`;
const AUDIENCE = "sts.amazonaws.com";
const SUBJECT = "repo:org/repo:*";
const ROLE = "WebIdentityDeployRole";

const expected = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Federated: ARN },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: { [`${HOST}:aud`]: AUDIENCE },
        StringLike: { [`${HOST}:sub`]: SUBJECT },
      },
    },
  ],
};

await feature("web-identity", async (t) => {
  const root = await rootPage(t);

  await t.step("provider-added", async () => {
    await nav(root).getByRole("link", { name: "Identity providers" }).click();
    await root.getByRole("heading", { name: "Identity providers" }).waitFor();
    await root.getByText("No identity providers in this account.").waitFor();
    await root.getByRole("link", { name: "Add provider" }).click();
    await root.getByRole("heading", { name: "Add an identity provider" }).waitFor();
    await root.getByLabel(/^Provider URL/).fill(URL_);
    await root.getByLabel(/^Audience/).fill(`${AUDIENCE}\nsecond-app`);
    await root.getByRole("button", { name: "Add provider" }).click();
    await root.getByRole("heading", { name: HOST, exact: true }).waitFor();
    await root.getByText(ARN, { exact: true }).waitFor();
    await root.getByRole("row", { name: /second-app/ }).waitFor();
  });

  await t.step("audiences-changed", async () => {
    await root.getByLabel("Audience (client ID)").fill("third-app");
    await root.getByRole("button", { name: "Add audience" }).click();
    await root.getByRole("row", { name: /third-app/ }).waitFor();
    await root.getByRole("button", { name: "Remove audience second-app" }).click();
    await root.getByRole("row", { name: /third-app/ }).waitFor();
    assert.equal(await root.getByRole("row", { name: /second-app/ }).count(), 0);
    const got = rootCli(["iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", ARN]);
    assert.deepEqual(got.ClientIDList, [AUDIENCE, "third-app"]);
    // Listed.
    await nav(root).getByRole("link", { name: "Identity providers" }).click();
    await root.getByRole("link", { name: HOST, exact: true }).waitFor();
  });

  const preview = () => root.locator("#trust-preview");
  await t.step("wizard-web-identity-preview", async () => {
    await nav(root).getByRole("link", { name: "Roles" }).click();
    await root.getByRole("link", { name: "Create role" }).click();
    await root.getByRole("heading", { name: "Create role" }).waitFor();
    await root.getByRole("radio", { name: "Web identity" }).check();
    await root.locator("#trust-preview-label").getByText("Web identity").waitFor();
    await root.getByText("Choose an identity provider.").waitFor();
    await root.getByLabel("Identity provider").selectOption({ label: HOST });
    // The chosen provider's first audience is picked; its other one can be chosen.
    assert.equal(await root.getByLabel("Audience", { exact: true }).inputValue(), AUDIENCE);
    await root.getByLabel("Audience", { exact: true }).selectOption("third-app");
    await preview().getByText(`"${HOST}:aud": "third-app"`).waitFor();
    await root.getByLabel("Audience", { exact: true }).selectOption(AUDIENCE);
    await root.getByLabel(/^Subject/).fill(SUBJECT);
    await preview().getByText(`"${HOST}:sub": "${SUBJECT}"`).waitFor();
    assert.deepEqual(JSON.parse(await preview().innerText()), expected);
    await root.getByLabel("Role name").fill(ROLE);
  });

  const review = () => clickForPage(root, root.getByRole("button", { name: "Next: review" }), "");
  await t.step("reviewed", async () => {
    assert.equal((await review()).status(), 200);
    await root.getByRole("heading", { name: "Name, review, and create" }).waitFor();
    assert.deepEqual(JSON.parse(await root.locator("#review-trust").innerText()), expected);
  });

  await t.step("back-keeps-choices", async () => {
    const resp = await clickForPage(root, root.getByRole("button", { name: "Back" }), "");
    assert.equal(resp.status(), 200);
    await root.getByRole("heading", { name: "Create role" }).waitFor();
    assert.ok(await root.getByRole("radio", { name: "Web identity" }).isChecked());
    assert.equal(await root.getByLabel("Identity provider").inputValue(), ARN);
    assert.equal(await root.getByLabel("Audience", { exact: true }).inputValue(), AUDIENCE);
    assert.equal(await root.getByLabel(/^Subject/).inputValue(), SUBJECT);
    assert.equal(await root.getByLabel("Role name").inputValue(), ROLE);
    await preview().getByText(`"${HOST}:sub": "${SUBJECT}"`).waitFor();
    assert.equal((await review()).status(), 200);
    assert.deepEqual(JSON.parse(await root.locator("#review-trust").innerText()), expected);
  });

  await t.step("role-created", async () => {
    await root.getByRole("button", { name: "Create role" }).click();
    await root.getByRole("heading", { name: ROLE, exact: true }).waitFor();
    await openTab(root, "Trust relationships");
    const shown = JSON.parse(
      await root.getByRole("heading", { name: "Trust relationships" }).locator("xpath=following-sibling::pre[1]").innerText(),
    );
    assert.deepEqual(shown, expected);
  });
  {
    const got = rootCli(["iam", "get-role", "--role-name", ROLE]).Role.AssumeRolePolicyDocument;
    assert.deepEqual(typeof got === "string" ? JSON.parse(decodeURIComponent(got)) : got, expected);
    console.log("ok   iam get-role: the trust policy the wizard previewed");
  }
});
