#!/usr/bin/env python3
"""Transcribes botocore's service models into kagi-api's `.model` format.

Usage: gen-model.py [PYTHON_WITH_BOTOCORE]   (default: python3 on PATH)
Writes, for every service of the installed botocore:
  crates/api/model/<name>.model   every operation and the shapes they reach (src/model.rs has
                                  the format); build.rs compresses each one into the binary
  crates/api/model/catalog.txt    the service table (metadata, CLI names, aliases), compiled in
                                  as text: choosing a service reads one line of it
  crates/api/model/endpoints.txt  botocore's endpoints.json as a compact table (src/endpoints.rs)
  crates/api/model/s3.endpoint-rules.json  S3's endpoint rule set (endpoint-rule-set-1.json)
  crates/api/model/partitions.json         botocore's partitions.json
                                  both as compact JSON, key order kept; build.rs deflates them
                                  for src/rules.rs (tests/endpoint_rules.rs checks the first
                                  against the pinned botocore)
OPS lists the operations kagi serve implements (the generator fails if botocore lost one).
The drift test (tests/drift.rs) checks the result against botocore again.
"""
import json, os, re, subprocess, sys, html, glob

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

# The AWS CLI's command names where they are not botocore's service names
# (awscli/customizations: s3/s3.py, configservice/rename_cmd.py, codedeploy/codedeploy.py).
RENAMES = {"s3": "s3api", "config": "configservice", "codedeploy": "deploy"}
# Hidden command aliases (awscli/customizations/sagemaker.py; botocore's SERVICE_NAME_ALIASES).
ALIASES = {"runtime.sagemaker": "sagemaker-runtime"}

# botocore's PRIORITY_ORDERED_SUPPORTED_PROTOCOLS (botocore/utils.py): a service listing several
# `protocols` is spoken in the first of these it lists (model.py, resolved_protocol).
PRIORITY = ("json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2")

LOADER = """
import json, sys, botocore, botocore.loaders
l = botocore.loaders.Loader()
out = {"version": botocore.__version__, "services": {},
       "endpoints": l.load_data("endpoints"),
       "partitions": l.load_data("partitions"),
       "s3_rules": l.load_service_model("s3", "endpoint-rule-set-1"),
       # botocore's xform_name exceptions (CreateOAuth2Token -> create-oauth2-token)
       "xform": {k[0]: v for k, v in botocore._xform_cache.items() if k[1] == "-"}}
for name in l.list_available_services("service-2"):
    svc = l.load_service_model(name, "service-2")
    try:
        pag = l.load_service_model(name, "paginators-1")
    except Exception:
        pag = {}
    try:
        waiters = l.load_service_model(name, "waiters-2")
    except Exception:
        waiters = {}
    out["services"][name] = {"service": svc, "paginators": pag, "waiters": waiters}
print(json.dumps(out))
"""

TYPES = {"structure", "list", "map", "string", "integer", "long", "boolean",
         "timestamp", "blob", "double", "float"}

# Member traits transcribed (see src/model.rs) and those deliberately left out: documentation
# and deprecation notes (help shows one line of the former), `box` (a Java-SDK nullability
# hint), `contextParam` (inputs of the endpoint rule sets; kagi resolves endpoints from
# endpoints.json's table), `enum` on two members (the shape carries the enum).
MEMBER_KEPT = {"shape", "location", "locationName", "queryName", "idempotencyToken",
               "hostLabel", "jsonvalue", "xmlAttribute", "xmlNamespace", "flattened",
               "eventpayload", "streaming"}
MEMBER_IGNORED = {"documentation", "deprecated", "deprecatedMessage", "deprecatedSince",
                  "box", "contextParam", "enum"}
SHAPE_KEPT = {"type", "members", "required", "max", "min", "member", "enum", "pattern",
              "sensitive", "key", "value", "union", "payload", "timestampFormat", "flattened",
              "eventstream", "event", "document", "streaming", "locationName", "xmlNamespace",
              "requiresLength", "error", "exception", "fault"}
# `retryable` (botocore's retry handler reads error codes, not this), `wrapper`, `synthetic`,
# `sparse`, `xmlOrder` (request element order follows the member order anyway), `box`.
SHAPE_IGNORED = {"documentation", "deprecated", "deprecatedMessage", "deprecatedSince", "box",
                 "retryable", "wrapper", "synthetic", "sparse", "xmlOrder"}

TOKEN = re.compile(r"^[^\s]*$")


def tok(v, what):
    """A value that must be one space-free token in the model's line format."""
    v = str(v)
    assert TOKEN.match(v), (what, v)
    return v


def enum_escape(v):
    """An enum value in the `enum=` list: `%`, space, `,`, `=` and control characters
    percent-encoded (src/model.rs decodes them)."""
    return "".join(f"%{ord(c):02X}" if c in "%,= " or ord(c) < 0x20 else c for c in v)


def one_line_doc(doc):
    if not doc:
        return ""
    m = re.search(r"<p>(.*?)</p>", doc, re.S)
    text = m.group(1) if m else doc
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = " ".join(text.split())
    m = re.match(r"(.+?\.)(\s|$)", text)
    return m.group(1) if m else text


def resolved_protocol(meta):
    if meta.get("protocols"):
        for p in PRIORITY:
            if p in meta["protocols"]:
                return p
        raise AssertionError(meta["protocols"])
    return meta["protocol"]


def member_attrs(m, where):
    extra = [k for k in m if k not in MEMBER_KEPT and k not in MEMBER_IGNORED]
    assert not extra, (where, extra)
    out = []
    if "location" in m:
        out.append("loc=" + tok(m["location"], where))
    if "locationName" in m:
        out.append("as=" + tok(m["locationName"], where))
    if "queryName" in m:
        out.append("qn=" + tok(m["queryName"], where))
    if m.get("idempotencyToken"):
        out.append("idem")
    if m.get("hostLabel"):
        out.append("host")
    if m.get("jsonvalue"):
        out.append("jsonvalue")
    if m.get("xmlAttribute"):
        out.append("xmlattr")
    if m.get("flattened"):
        out.append("flat")
    if m.get("eventpayload"):
        out.append("eventpayload")
    if m.get("streaming"):
        out.append("streaming")
    if "xmlNamespace" in m:
        ns = m["xmlNamespace"]
        ns = ns if isinstance(ns, dict) else {"uri": ns}  # a bare URI in some test models
        out.append("ns=" + tok(ns["uri"], where))
        if "prefix" in ns:
            out.append("nsprefix=" + tok(ns["prefix"], where))
    return out


XFORM = {}


def gen(name, data, version):
    svc, pag = data["service"], data["paginators"].get("pagination", {})
    waiters = data.get("waiters", {}).get("waiters", {})
    shapes = svc["shapes"]
    meta = svc["metadata"]
    protocol = resolved_protocol(meta)
    needed = OPS.get(name, "").split()
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
           f"{version} ({meta.get('uid', meta['apiVersion'])}). Format: see src/model.rs."]
    rest = protocol in ("rest-json", "rest-xml")
    for opname in ops:
        op = svc["operations"][opname]
        line = f"op {opname}"
        if opname in XFORM:
            line += " cli=" + tok(XFORM[opname], opname)
        if "input" in op:
            line += f" in={op['input']['shape']}"
            visit(op["input"]["shape"])
            extra = [k for k in op["input"] if k not in ("shape", "documentation", "locationName", "xmlNamespace")]
            assert not extra, (opname, extra)
            # rest-xml: the request body's root element and its namespace.
            if "locationName" in op["input"]:
                line += " inas=" + tok(op["input"]["locationName"], opname)
            if "xmlNamespace" in op["input"]:
                ns = op["input"]["xmlNamespace"]
                line += " inns=" + tok(ns["uri"] if isinstance(ns, dict) else ns, opname)
        if "output" in op:
            line += f" out={op['output']['shape']}"
            if "resultWrapper" in op["output"]:
                line += f" wrap={op['output']['resultWrapper']}"
            visit(op["output"]["shape"])
        http = op.get("http", {})
        if rest or http.get("method", "POST") != "POST" or http.get("requestUri", "/") != "/":
            line += f" http={tok(http['method'], opname)}:{tok(http['requestUri'], opname)}"
        if "responseCode" in http and http["responseCode"] != 200:
            line += f" code={int(http['responseCode'])}"
        if "endpoint" in op:
            line += " hostprefix=" + tok(op["endpoint"]["hostPrefix"], opname)
        auth = op.get("authtype") or ""
        if not auth and op.get("auth"):
            auth = "none" if op["auth"] == ["smithy.api#noAuth"] else ""
        if auth in ("none", "v4-unsigned-body"):
            line += f" auth={auth}"
        if op.get("unsignedPayload"):
            line += " auth=v4-unsigned-body" if "auth=" not in line else ""
        if op.get("httpChecksumRequired") or op.get("httpChecksum", {}).get("requestChecksumRequired"):
            line += " checksum"
        # Flexible checksums: the member naming the algorithm (botocore computes CRC32 when it
        # is unset, `request_checksum_calculation = when_supported`), and the member that asks
        # the server for a response checksum (set to ENABLED by default).
        hc = op.get("httpChecksum", {})
        if "requestAlgorithmMember" in hc:
            line += " algo=" + tok(hc["requestAlgorithmMember"], opname)
        if "requestValidationModeMember" in hc:
            line += " cmode=" + tok(hc["requestValidationModeMember"], opname)
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
            itok = p["input_token"] if isinstance(p["input_token"], list) else [p["input_token"]]
            otok = p["output_token"] if isinstance(p["output_token"], list) else [p["output_token"]]
            pl = f"  page in={','.join(map(enum_escape, itok))} out={','.join(map(enum_escape, otok))}"
            if "limit_key" in p:
                pl += f" limit={tok(p['limit_key'], opname)}"
            if "more_results" in p:
                pl += f" more={enum_escape(p['more_results'])}"
            pl += " keys=" + ",".join(map(enum_escape, keys))
            if p.get("non_aggregate_keys"):
                pl += " nonagg=" + ",".join(map(enum_escape, p["non_aggregate_keys"]))
            out.append(pl)
        # botocore's waiters on this operation (waiters-2.json), in the file's order:
        # `wait NAME delay=S max=N`, then one `acc STATE MATCHER EXPECTED [ARGUMENT]` per
        # acceptor (EXPECTED is compact JSON, %XX-escaped; ARGUMENT, a JMESPath expression,
        # is the rest of the line).
        for wname, w in waiters.items():
            if w["operation"] != opname:
                continue
            extra = [k for k in w if k not in ("operation", "delay", "maxAttempts", "acceptors", "description")]
            assert not extra, (name, wname, extra)
            out.append(f"  wait {tok(wname, wname)} delay={int(w['delay'])} max={int(w['maxAttempts'])}")
            for a in w["acceptors"]:
                extra = [k for k in a if k not in ("state", "matcher", "expected", "argument")]
                assert not extra, (name, wname, extra)
                al = f"  acc {tok(a['state'], wname)} {tok(a['matcher'], wname)} "
                al += enum_escape(json.dumps(a["expected"], separators=(",", ":")))
                if "argument" in a:
                    assert "\n" not in a["argument"], (name, wname)
                    al += " " + a["argument"]
                out.append(al)
    for wname, w in waiters.items():
        assert w["operation"] in svc["operations"], (name, wname)
    out.append("")
    for sname in order:
        s = shapes[sname]
        t = s["type"]
        assert t in TYPES, (sname, t)
        extra = [k for k in s if k not in SHAPE_KEPT and k not in SHAPE_IGNORED]
        assert not extra, (name, sname, extra)
        line = f"{t} {sname}"
        if t == "list":
            line += f" member={s['member']['shape']}"
            for k, v in s["member"].items():
                if k == "locationName":
                    line += " memberas=" + tok(v, sname)
                elif k == "jsonvalue":
                    line += " memberjsonvalue"
                else:
                    # (No real model puts a namespace on list items; some protocol tests do.)
                    assert k in ("shape", "documentation", "xmlNamespace"), (sname, k)
        elif t == "map":
            line += f" key={s['key']['shape']} value={s['value']['shape']}"
            for part in ("key", "value"):
                for k, v in s[part].items():
                    if k == "locationName":
                        line += f" {part}as=" + tok(v, sname)
                    else:
                        assert k in ("shape", "documentation", "xmlNamespace"), (sname, k)
        for k in ("min", "max"):
            if k in s:
                # Bounds of float/double shapes may be fractional: `fmin=`/`fmax=`.
                if isinstance(s[k], int):
                    line += f" {k}={s[k]}"
                else:
                    line += f" f{k}={float(s[k])!r}"
        if s.get("sensitive"):
            line += " sensitive"
        if s.get("union"):
            line += " union"
        if s.get("document"):
            line += " document"
        if s.get("flattened"):
            line += " flat"
        if s.get("streaming"):
            line += " streaming"
        if s.get("requiresLength"):
            line += " requireslength"
        if s.get("eventstream"):
            line += " eventstream"
        if s.get("event"):
            line += " event"
        if "payload" in s:
            line += " payload=" + tok(s["payload"], sname)
        if "timestampFormat" in s:
            line += " ts=" + tok(s["timestampFormat"], sname)
        if "locationName" in s:
            line += " as=" + tok(s["locationName"], sname)
        if "xmlNamespace" in s:
            ns = s["xmlNamespace"]
            line += " ns=" + tok(ns["uri"] if isinstance(ns, dict) else ns, sname)
        if s.get("enum"):
            line += " enum=" + ",".join(enum_escape(e) for e in s["enum"])
        if "pattern" in s:
            line += f" pattern={s['pattern']}"
        assert "\n" not in line, sname
        out.append(line)
        if t == "structure":
            req = set(s.get("required", []))
            for mname, m in s["members"].items():
                attrs = member_attrs(m, f"{name}.{sname}.{mname}")
                line = f"  {mname} {m['shape']}" + (" required" if mname in req else "")
                if attrs:
                    line += " " + " ".join(attrs)
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
        line = f"error {ename} code={tok(e.get('code', ename), ename)} status={status}"
        if e.get("senderFault") or ("error" not in s and not fault):
            line += " sender"
        out.append(line)
    return "\n".join(out) + "\n"


def rust_str(s):
    return json.dumps(s, ensure_ascii=False)


def global_endpoint(endpoints, prefix):
    """(credential scope region, hostname) of a service that is not regionalized in the aws
    partition (IAM: `us-east-1`, `iam.amazonaws.com`)."""
    aws = endpoints["partitions"][0]
    assert aws["partition"] == "aws"
    s = aws["services"].get(prefix)
    if not s or s.get("isRegionalized", True) or "partitionEndpoint" not in s:
        return None
    ep = s["endpoints"][s["partitionEndpoint"]]
    region = ep.get("credentialScope", {}).get("region", "us-east-1")
    host = ep.get("hostname") or aws["defaults"]["hostname"].format(
        service=prefix, region=s["partitionEndpoint"], dnsSuffix=aws["dnsSuffix"])
    return region, host


def catalog(models, endpoints):
    """The service table (src/lib.rs reads it): one tab-separated line per service, sorted by
    botocore's name: name, CLI name, serviceId, serviceFullName, apiVersion, protocol and its
    two parameters, signing name, endpoint prefix, global region and host (or empty),
    awsQueryCompatible (0/1). Then `alias<TAB>CLI name` lines for hidden aliases."""
    rows = []
    for name in sorted(models):
        meta = models[name]["service"]["metadata"]
        protocol = resolved_protocol(meta)
        prefix = meta["endpointPrefix"]
        ns = meta.get("xmlNamespace", "")
        ns = ns.get("uri", "") if isinstance(ns, dict) else ns
        params = {
            "query": (meta["apiVersion"], ns),
            "ec2": (meta["apiVersion"], ns),
            "json": (meta.get("targetPrefix", ""), meta.get("jsonVersion", "1.0")),
            "rest-json": ("", ""),
            "rest-xml": (ns, ""),
            "smithy-rpc-v2-cbor": (meta.get("targetPrefix", ""), ""),
        }[protocol]
        # STS: the AWS CLI v2 uses the regional endpoints although endpoints.json keeps
        # `sts.amazonaws.com` as aws-global (see src/endpoints.rs).
        g = (None if name == "sts" else global_endpoint(endpoints, prefix)) or ("", "")
        fields = [name, RENAMES.get(name, name), meta["serviceId"], meta["serviceFullName"],
                  meta["apiVersion"], protocol, *params, meta.get("signingName", prefix),
                  prefix, g[0], g[1], "1" if "awsQueryCompatible" in meta else "0"]
        assert all("\t" not in f and "\n" not in f for f in fields), fields
        rows.append("\t".join(fields))
    aliases = [f"{a}\t{RENAMES.get(t, t)}" for a, t in sorted(ALIASES.items())]
    return "\n".join(rows) + "\n" + "".join(f"alias\t{a}\n" for a in aliases)


def endpoint_table(endpoints):
    """endpoints.json as a compact table (src/endpoints.rs documents the format and the
    resolution). Only what differs from the partition's defaults is kept: a region endpoint
    whose hostname is the default template's, with no credential scope and no variant of its
    own, is what the resolver computes anyway; deprecated pseudo-regions (`fips-us-east-1`) are
    left out."""
    out = ["# botocore endpoints.json, compacted by tools/gen-model.py. Format: src/endpoints.rs."]

    def variants(vs, indent, default_suffix):
        lines = []
        for v in vs:
            line = f"{indent}variant {'+'.join(sorted(v['tags']))}"
            if "hostname" in v:
                line += " host=" + tok(v["hostname"], "variant")
            if "dnsSuffix" in v and v["dnsSuffix"] != default_suffix:
                line += " suffix=" + tok(v["dnsSuffix"], "variant")
            lines.append(line)
        return lines

    def default_variant(v, region, sname, sd, d, suffix):
        """Whether an endpoint's variant is what the service's or the partition's default
        variant of the same tags gives anyway."""
        tags = sorted(v["tags"])
        for defaults in (sd, d):
            for dv in defaults.get("variants", []):
                if sorted(dv["tags"]) == tags and "hostname" in dv:
                    host = dv["hostname"].format(service=sname, region=region,
                                                 dnsSuffix=dv.get("dnsSuffix", suffix))
                    return v.get("hostname") == host and "dnsSuffix" not in v
        return False

    for p in endpoints["partitions"]:
        d = p["defaults"]
        suffix = p["dnsSuffix"]
        out.append(f"partition {tok(p['partition'], 'p')} suffix={tok(suffix, 'p')} "
                   f"host={tok(d['hostname'], 'p')} regex={tok(p['regionRegex'], 'p')} "
                   f"regions={','.join(p['regions'])}")
        out.extend(variants(d.get("variants", []), "  ", None))
        for sname, s in sorted(p["services"].items()):
            sd = s.get("defaults", {})
            default_host = sd.get("hostname", d["hostname"])
            lines = []
            for ename, e in sorted(s.get("endpoints", {}).items()):
                if e.get("deprecated"):
                    continue
                host = e.get("hostname")
                expanded = default_host.format(service=sname, region=ename, dnsSuffix=suffix)
                cs = e.get("credentialScope", {})
                own = [v for v in e.get("variants", [])
                       if not default_variant(v, ename, sname, sd, d, suffix)]
                line = f"    endpoint {tok(ename, sname)}"
                if host and host != expanded:
                    line += " host=" + tok(host, sname)
                if "region" in cs:
                    line += " scope=" + tok(cs["region"], sname)
                if "service" in cs:
                    line += " scope-service=" + tok(cs["service"], sname)
                vlines = variants(own, "      ", suffix)
                if line != f"    endpoint {ename}" or vlines or ename == s.get("partitionEndpoint"):
                    lines.append(line)
                    lines.extend(vlines)
            line = f"  service {tok(sname, 's')}"
            if "partitionEndpoint" in s:
                line += " partition-endpoint=" + tok(s["partitionEndpoint"], sname)
            if s.get("isRegionalized") is False:
                line += " global"
            if "hostname" in sd:
                line += " host=" + tok(sd["hostname"], sname)
            if "region" in sd.get("credentialScope", {}):
                line += " scope=" + tok(sd["credentialScope"]["region"], sname)
            if "service" in sd.get("credentialScope", {}):
                line += " scope-service=" + tok(sd["credentialScope"]["service"], sname)
            vlines = variants(sd.get("variants", []), "    ", suffix)
            if line != f"  service {sname}" or vlines or lines:
                out.append(line)
                out.extend(vlines)
                out.extend(lines)
    return "\n".join(out) + "\n"


def main():
    py = sys.argv[1] if len(sys.argv) > 1 else "python3"
    raw = subprocess.run([py, "-c", LOADER], check=True, capture_output=True, text=True).stdout
    data = json.loads(raw)
    models, version = data["services"], data["version"]
    XFORM.update(data["xform"])
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model")
    for old in glob.glob(os.path.join(here, "*.model")):
        if os.path.basename(old)[:-len(".model")] not in models:
            os.remove(old)
    for name, d in models.items():
        with open(os.path.join(here, f"{name}.model"), "w") as f:
            f.write(gen(name, d, version))
    with open(os.path.join(here, "catalog.txt"), "w") as f:
        f.write(catalog(models, data["endpoints"]))
    if os.path.exists(os.path.join(here, "catalog.rs")):
        os.remove(os.path.join(here, "catalog.rs"))
    with open(os.path.join(here, "endpoints.txt"), "w") as f:
        f.write(endpoint_table(data["endpoints"]))
    for file, key in (("s3.endpoint-rules.json", "s3_rules"), ("partitions.json", "partitions")):
        with open(os.path.join(here, file), "w") as f:
            f.write(json.dumps(data[key], separators=(",", ":")))


if __name__ == "__main__":
    main()
