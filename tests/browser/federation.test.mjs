// Federation beyond the seed's `kagi console --profile` (a role profile):
//   `kagi console` with an IAM user's own long-term keys (fed-user may sts:GetFederationToken):
//     the printed URL lands a fresh browser as the federated user, with the user's permissions
//     (iam:ListUsers yes, iam:ListRoles no);
//   a tool that builds the console URL itself, as AWS documents it (temporary credentials from
//     sts assume-role → getSigninToken with SessionDuration → login with Issuer and
//     Destination): the browser lands on the Destination page as the role session;
//   a Destination on another site is not followed: the browser stays on kagi's console;
//   getSigninToken refuses long-term keys and a wrong secret without echoing the secret.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { account, alertText, assert, clickForPage, endpoint, feature, header, iamArn, nav, REGION, rootCli, signedInAs, tempDir, createRoleTrustingAccount } from "./lib.mjs";

const USER = "fed-user";
const ROLE = "FedToolRole";

/** The kagi CLI with `home` as HOME (its ~/.aws) and no other credentials. */
function kagi(home, args) {
  return execFileSync(process.env.KAGI_BIN, args, {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: home, AWS_ENDPOINT_URL: endpoint },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** getSigninToken for `creds` (an STS Credentials object) as a tool would ask it. */
async function signinToken(creds, extra = "") {
  const session = JSON.stringify({
    sessionId: creds.AccessKeyId,
    sessionKey: creds.SecretAccessKey,
    sessionToken: creds.SessionToken || "",
  });
  const r = await fetch(`${endpoint}/federation?Action=getSigninToken${extra}&Session=${encodeURIComponent(session)}`);
  return { status: r.status, body: await r.text() };
}

const loginUrl = (token, destination) =>
  `${endpoint}/federation?Action=login&Issuer=${encodeURIComponent("https://tool.example/")}` +
  `&Destination=${encodeURIComponent(destination)}&SigninToken=${encodeURIComponent(token)}`;

await feature("federation", async (t) => {
  rootCli(["iam", "create-user", "--user-name", USER]);
  rootCli([
    "iam",
    "put-user-policy",
    "--user-name",
    USER,
    "--policy-name",
    "Federate",
    "--policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["sts:GetFederationToken", "iam:ListUsers"], Resource: "*" },
        { Effect: "Allow", Action: "sts:AssumeRole", Resource: iamArn("role", ROLE) },
      ],
    }),
  ]);
  createRoleTrustingAccount(ROLE, account);
  rootCli(["iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "Roles", "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:ListRoles", Resource: "*" }] })]);
  const key = rootCli(["iam", "create-access-key", "--user-name", USER]).AccessKey;

  const home = tempDir("kagi-browser-fed-");
  fs.mkdirSync(path.join(home, ".aws"));
  fs.writeFileSync(
    path.join(home, ".aws/credentials"),
    `[default]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\n`,
    { mode: 0o600 },
  );
  fs.writeFileSync(path.join(home, ".aws/config"), `[default]\nregion = ${REGION}\n`);

  const fedArn = `arn:aws:sts::${account}:federated-user/${USER}`;
  const page = await t.newPage();
  const status = async (link, p) => (await clickForPage(page, nav(page).getByRole("link", { name: link }), p)).status();

  await t.step("kagi-console-long-term-keys", async () => {
    const url = kagi(home, ["console"]).trim();
    assert.ok(url.startsWith(`${endpoint}/federation?Action=login&`), url);
    assert.ok(!url.includes(key.SecretAccessKey));
    await page.goto(url);
    assert.match(new URL(page.url()).pathname, /^\/console\//);
    await signedInAs(page, fedArn);
    assert.equal(await status("Users", "/console/users"), 200);
    await page.getByRole("link", { name: USER, exact: true }).waitFor();
    assert.equal(await status("Roles", "/console/roles"), 403);
    assert.match(await alertText(page), /AccessDenied.*iam:ListRoles/s);
  });

  // A tool's way: temporary credentials of a role session, then the two federation requests.
  const assumed = JSON.parse(
    kagi(home, ["sts", "assume-role", "--role-arn", iamArn("role", ROLE), "--role-session-name", "tool-session", "--output", "json"]),
  ).Credentials;
  const tool = await t.newPage();
  await t.step("tool-built-url-lands-on-destination", async () => {
    const got = await signinToken(assumed, "&SessionDuration=3600");
    assert.equal(got.status, 200, got.body);
    const token = JSON.parse(got.body).SigninToken;
    assert.ok(token && !got.body.includes(assumed.SecretAccessKey));
    const resp = await tool.goto(loginUrl(token, `${endpoint}/console/roles`));
    assert.equal(resp.status(), 200);
    assert.equal(new URL(tool.url()).pathname, "/console/roles");
    // The role session, named in the header and in its banner.
    await header(tool).getByRole("status").getByText(`arn:aws:sts::${account}:assumed-role/${ROLE}/tool-session`).waitFor();
    await tool.getByRole("link", { name: ROLE, exact: true }).waitFor();
  });

  await t.step("foreign-destination-not-followed", async () => {
    const token = JSON.parse((await signinToken(assumed)).body).SigninToken;
    await tool.goto(loginUrl(token, "https://evil.example/console/"));
    assert.equal(new URL(tool.url()).origin, new URL(endpoint).origin);
    assert.match(new URL(tool.url()).pathname, /^\/console\//);
  });

  await t.step("signin-token-refusals", async () => {
    const longTerm = await signinToken({ AccessKeyId: key.AccessKeyId, SecretAccessKey: key.SecretAccessKey });
    assert.equal(longTerm.status, 400, longTerm.body);
    assert.ok(!longTerm.body.includes(key.SecretAccessKey));
    const forged = { ...assumed, SecretAccessKey: `${assumed.SecretAccessKey.slice(0, -4)}AAAA` };
    const wrong = await signinToken(forged);
    assert.equal(wrong.status, 400, wrong.body);
    assert.ok(!wrong.body.includes(forged.SecretAccessKey) && !wrong.body.includes(assumed.SecretAccessKey));
    await tool.goto(`${endpoint}/federation?Action=login&SigninToken=not-a-token`);
    await tool.getByText(/The sign-in token is invalid, expired or already used/).waitFor();
  });
});
