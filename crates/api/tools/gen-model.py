#!/usr/bin/env python3
"""Transcribes botocore's service models into kagi-api's `.model` format.

Usage: gen-model.py [PYTHON_WITH_BOTOCORE]   (default: python3 on PATH)
Writes crates/api/model/{iam,sts,ecr}.model: every operation of the service and the shapes
they reach; see src/model.rs for the format. OPS lists the operations kagi must have (the
generator fails if botocore lost one); all the others are transcribed too, so the CLI can call
any of them against AWS.
The drift test (tests/drift.rs) checks the result against botocore again.
"""
import json, os, re, subprocess, sys, html

OPS = {
    "iam": """CreateUser GetUser ListUsers UpdateUser DeleteUser TagUser UntagUser ListUserTags
      CreateAccessKey ListAccessKeys UpdateAccessKey DeleteAccessKey GetAccessKeyLastUsed
      CreateGroup GetGroup ListGroups DeleteGroup AddUserToGroup RemoveUserFromGroup ListGroupsForUser
      CreatePolicy GetPolicy DeletePolicy ListPolicies CreatePolicyVersion GetPolicyVersion
      ListPolicyVersions SetDefaultPolicyVersion DeletePolicyVersion
      AttachUserPolicy DetachUserPolicy ListAttachedUserPolicies AttachGroupPolicy DetachGroupPolicy
      ListAttachedGroupPolicies AttachRolePolicy DetachRolePolicy ListAttachedRolePolicies ListEntitiesForPolicy
      PutUserPolicy GetUserPolicy ListUserPolicies DeleteUserPolicy PutGroupPolicy GetGroupPolicy
      ListGroupPolicies DeleteGroupPolicy PutRolePolicy GetRolePolicy ListRolePolicies DeleteRolePolicy
      CreateRole GetRole ListRoles UpdateRole UpdateAssumeRolePolicy DeleteRole TagRole UntagRole ListRoleTags
      PutRolePermissionsBoundary DeleteRolePermissionsBoundary PutUserPermissionsBoundary DeleteUserPermissionsBoundary
      SimulatePrincipalPolicy SimulateCustomPolicy GetContextKeysForCustomPolicy
      CreateVirtualMFADevice EnableMFADevice DeactivateMFADevice ListMFADevices ListVirtualMFADevices DeleteVirtualMFADevice
      CreateLoginProfile GetLoginProfile UpdateLoginProfile DeleteLoginProfile ChangePassword
      GetAccountPasswordPolicy UpdateAccountPasswordPolicy DeleteAccountPasswordPolicy
      GetAccountSummary ListAccountAliases
      TagPolicy UntagPolicy ListPolicyTags UpdateGroup UpdateRoleDescription
      CreateAccountAlias DeleteAccountAlias GetContextKeysForPrincipalPolicy""",
    "sts": "GetCallerIdentity AssumeRole GetSessionToken GetAccessKeyInfo DecodeAuthorizationMessage",
    "ecr": """CreateRepository DescribeRepositories DeleteRepository GetAuthorizationToken
      BatchCheckLayerAvailability InitiateLayerUpload UploadLayerPart CompleteLayerUpload PutImage
      BatchGetImage GetDownloadUrlForLayer ListImages DescribeImages BatchDeleteImage
      SetRepositoryPolicy GetRepositoryPolicy DeleteRepositoryPolicy TagResource UntagResource
      ListTagsForResource PutImageTagMutability PutLifecyclePolicy GetLifecyclePolicy
      DeleteLifecyclePolicy StartLifecyclePolicyPreview GetLifecyclePolicyPreview""",
}

LOADER = """
import json, sys, botocore.loaders
l = botocore.loaders.Loader()
out = {}
for name in sys.argv[1:]:
    out[name] = {"service": l.load_service_model(name, "service-2"),
                 "paginators": l.load_service_model(name, "paginators-1")}
print(json.dumps(out))
"""

TYPES = {"structure", "list", "map", "string", "integer", "long", "boolean",
         "timestamp", "blob", "double", "float"}


def one_line_doc(doc):
    if not doc:
        return ""
    m = re.search(r"<p>(.*?)</p>", doc, re.S)
    text = m.group(1) if m else doc
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = " ".join(text.split())
    m = re.match(r"(.+?\.)(\s|$)", text)
    return m.group(1) if m else text


def gen(name, data):
    svc, pag = data["service"], data["paginators"].get("pagination", {})
    shapes = svc["shapes"]
    needed = OPS[name].split()
    missing = [o for o in needed if o not in svc["operations"]]
    assert not missing, (name, missing)
    ops = list(svc["operations"])
    used, order, errors = set(), [], []
    top = set()  # operation input/output shapes: their members carry a doc line
    for opname in ops:
        op = svc["operations"][opname]
        for k in ("input", "output"):
            if k in op:
                top.add(op[k]["shape"])

    def visit(sname):
        if sname in used:
            return
        used.add(sname)
        s = shapes[sname]
        order.append(sname)
        t = s["type"]
        if t == "structure":
            for m in s["members"].values():
                visit(m["shape"])
        elif t == "list":
            visit(s["member"]["shape"])
        elif t == "map":
            visit(s["key"]["shape"])
            visit(s["value"]["shape"])

    out = [f"# kagi-api model for {name}: transcribed by tools/gen-model.py from botocore "
           f"{data['version']} ({svc['metadata']['uid']}). Format: see src/model.rs."]
    for opname in ops:
        op = svc["operations"][opname]
        line = f"op {opname}"
        if "input" in op:
            line += f" in={op['input']['shape']}"
            visit(op["input"]["shape"])
        if "output" in op:
            line += f" out={op['output']['shape']}"
            if "resultWrapper" in op["output"]:
                line += f" wrap={op['output']['resultWrapper']}"
            visit(op["output"]["shape"])
        for e in op.get("errors", []):
            if e["shape"] not in errors:
                errors.append(e["shape"])
        out.append(line)
        d = one_line_doc(op.get("documentation", ""))
        if d:
            out.append(f"  doc {d}")
        p = pag.get(opname)
        if p:
            keys = p["result_key"] if isinstance(p["result_key"], list) else [p["result_key"]]
            assert isinstance(p["input_token"], str) and isinstance(p["output_token"], str)
            pl = f"  page in={p['input_token']} out={p['output_token']}"
            if "limit_key" in p:
                pl += f" limit={p['limit_key']}"
            if "more_results" in p:
                pl += f" more={p['more_results']}"
            pl += " keys=" + ",".join(keys)
            if p.get("non_aggregate_keys"):
                pl += " nonagg=" + ",".join(p["non_aggregate_keys"])
            out.append(pl)
    out.append("")
    for sname in order:
        s = shapes[sname]
        t = s["type"]
        assert t in TYPES, (sname, t)
        line = f"{t} {sname}"
        if t == "list":
            line += f" member={s['member']['shape']}"
        elif t == "map":
            line += f" key={s['key']['shape']} value={s['value']['shape']}"
        for k in ("min", "max"):
            if k in s:
                assert isinstance(s[k], int)
                line += f" {k}={s[k]}"
        if s.get("sensitive"):
            line += " sensitive"
        if s.get("union"):
            line += " union"
        if s.get("enum"):
            line += " enum=" + ",".join(s["enum"])
        if "pattern" in s:
            line += f" pattern={s['pattern']}"
        out.append(line)
        if t == "structure":
            req = set(s.get("required", []))
            for mname, m in s["members"].items():
                extra = [k for k in m if k not in ("shape", "documentation", "deprecated", "deprecatedMessage", "deprecatedSince")]
                assert not extra, (sname, mname, extra)
                line = f"  {mname} {m['shape']}" + (" required" if mname in req else "")
                d = one_line_doc(m.get("documentation", "")) if sname in top else ""
                if d:
                    line += f" -- {d}"
                out.append(line)
    out.append("")
    for ename in errors:
        s = shapes[ename]
        e = s.get("error", {})
        fault = bool(s.get("fault"))
        status = e.get("httpStatusCode", 500 if fault else 400)
        line = f"error {ename} code={e.get('code', ename)} status={status}"
        if e.get("senderFault") or ("error" not in s and not fault):
            line += " sender"
        out.append(line)
    return "\n".join(out) + "\n"


def main():
    py = sys.argv[1] if len(sys.argv) > 1 else "python3"
    raw = subprocess.run([py, "-c", LOADER, *OPS], check=True, capture_output=True, text=True).stdout
    version = subprocess.run([py, "-c", "import botocore; print(botocore.__version__)"],
                             check=True, capture_output=True, text=True).stdout.strip()
    models = json.loads(raw)
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model")
    for name, data in models.items():
        data["version"] = version
        with open(os.path.join(here, f"{name}.model"), "w") as f:
            f.write(gen(name, data))


if __name__ == "__main__":
    main()
