//! Paginators with several tokens (S3's ListObjectVersions: KeyMarker and VersionIdMarker;
//! Route 53's ListResourceRecordSets: three) and with an expression for a token (ListObjects'
//! `NextMarker || Contents[-1].Key`): kagi and AWS CLI v1 and v2 print the same bytes for the
//! same listings on moto, with `--max-items` in a page and on a page boundary, `--page-size`,
//! the resume token kagi printed given back with `--starting-token`, and text output's
//! `NEXTTOKEN`. Needs `KAGI_COMPAT_VENV` (moto, awscli v1) and AWS CLI v2; skips with a notice
//! without them, fails under CI.

use serde_json::Value;

use crate::common::{Sandbox, differences, official_v1, official_v2, without_v1_note};
use crate::moto::start_moto;

fn ok(sb: &Sandbox, url: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["--endpoint-url", url, "--output", "json"]);
    let out = sb.run(&a);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn multi_token_paginators_as_the_official_clis() {
    let Some(moto) = start_moto() else { return };
    let url = moto.url.clone();
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "");
    sb.write(".aws/config", "[default]\ncli_timestamp_format = iso8601\n");
    let body = sb.write("body.txt", "v\n");
    let body = body.display().to_string();
    ok(
        &sb,
        &url,
        &["s3api", "create-bucket", "--bucket", "versions"],
    );
    ok(
        &sb,
        &url,
        &[
            "s3api",
            "put-bucket-versioning",
            "--bucket",
            "versions",
            "--versioning-configuration",
            "Status=Enabled",
        ],
    );
    for key in ["a", "b", "c", "d"] {
        for _ in 0..2 {
            ok(
                &sb,
                &url,
                &[
                    "s3api",
                    "put-object",
                    "--bucket",
                    "versions",
                    "--key",
                    key,
                    "--body",
                    &body,
                ],
            );
        }
    }
    ok(&sb, &url, &["s3api", "create-bucket", "--bucket", "plain"]);
    for key in ["k1", "k2", "k3", "k4", "k5"] {
        ok(
            &sb,
            &url,
            &[
                "s3api",
                "put-object",
                "--bucket",
                "plain",
                "--key",
                key,
                "--body",
                &body,
            ],
        );
    }
    let zone = ok(
        &sb,
        &url,
        &[
            "route53",
            "create-hosted-zone",
            "--name",
            "example.com",
            "--caller-reference",
            "r1",
        ],
    );
    let zone_id = zone["HostedZone"]["Id"].as_str().unwrap().to_string();
    let changes: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| {
            format!(
                r#"{{"Action":"CREATE","ResourceRecordSet":{{"Name":"{n}.example.com","Type":"A","TTL":60,"ResourceRecords":[{{"Value":"10.0.0.1"}}]}}}}"#
            )
        })
        .collect();
    ok(
        &sb,
        &url,
        &[
            "route53",
            "change-resource-record-sets",
            "--hosted-zone-id",
            &zone_id,
            "--change-batch",
            &format!(r#"{{"Changes":[{}]}}"#, changes.join(",")),
        ],
    );

    // Resume tokens kagi printed (compared with the official CLIs' below), given back.
    let token = |args: &[&str]| -> String {
        ok(&sb, &url, args)["NextToken"]
            .as_str()
            .expect("a NextToken")
            .to_string()
    };
    let versions = ["s3api", "list-object-versions", "--bucket", "versions"];
    let mid = token(&[&versions[..], &["--max-items", "3", "--page-size", "2"]].concat());
    let edge = token(&[&versions[..], &["--max-items", "4", "--page-size", "2"]].concat());
    let records = [
        "route53",
        "list-resource-record-sets",
        "--hosted-zone-id",
        zone_id.as_str(),
    ];
    let rr = token(&[&records[..], &["--max-items", "3", "--page-size", "2"]].concat());
    let objects = ["s3api", "list-objects", "--bucket", "plain"];
    let obj = token(&[&objects[..], &["--max-items", "3", "--page-size", "2"]].concat());

    let q = "--query";
    let keys = "{V:Versions[].[Key,IsLatest],T:NextToken}";
    let cmds: Vec<Vec<&str>> = vec![
        [&versions[..], &[q, keys]].concat(),
        [&versions[..], &["--page-size", "3", q, keys]].concat(),
        [
            &versions[..],
            &["--max-items", "3", "--page-size", "2", q, keys],
        ]
        .concat(),
        [
            &versions[..],
            &["--max-items", "4", "--page-size", "2", q, keys],
        ]
        .concat(),
        [&versions[..], &["--max-items", "3", q, keys]].concat(),
        [&versions[..], &["--starting-token", &mid, q, keys]].concat(),
        [
            &versions[..],
            &[
                "--starting-token",
                &mid,
                "--max-items",
                "2",
                "--page-size",
                "2",
                q,
                keys,
            ],
        ]
        .concat(),
        [
            &versions[..],
            &["--starting-token", &edge, "--page-size", "3", q, keys],
        ]
        .concat(),
        [
            &versions[..],
            &[
                "--max-items",
                "3",
                "--page-size",
                "2",
                "--output",
                "text",
                q,
                "Versions[].Key",
            ],
        ]
        .concat(),
        [
            &records[..],
            &["--query", "ResourceRecordSets[].[Name,Type]"],
        ]
        .concat(),
        [
            &records[..],
            &[
                "--max-items",
                "3",
                "--page-size",
                "2",
                "--query",
                "{R:ResourceRecordSets[].Name,T:NextToken}",
            ],
        ]
        .concat(),
        [
            &records[..],
            &[
                "--starting-token",
                &rr,
                "--query",
                "{R:ResourceRecordSets[].Name,T:NextToken}",
            ],
        ]
        .concat(),
        [
            &records[..],
            &[
                "--max-items",
                "4",
                "--page-size",
                "2",
                "--output",
                "text",
                "--query",
                "ResourceRecordSets[].Name",
            ],
        ]
        .concat(),
        [
            &objects[..],
            &[
                "--page-size",
                "2",
                "--query",
                "{K:Contents[].Key,T:NextToken}",
            ],
        ]
        .concat(),
        [
            &objects[..],
            &[
                "--max-items",
                "3",
                "--page-size",
                "2",
                "--query",
                "{K:Contents[].Key,T:NextToken}",
            ],
        ]
        .concat(),
        [
            &objects[..],
            &[
                "--starting-token",
                &obj,
                "--page-size",
                "2",
                "--query",
                "{K:Contents[].Key,T:NextToken}",
            ],
        ]
        .concat(),
    ];
    let commands: Vec<Vec<String>> = cmds
        .iter()
        .map(|c| {
            c.iter()
                .map(|a| a.to_string())
                .chain(["--endpoint-url".to_string(), url.clone()])
                .collect()
        })
        .collect();
    let mut diffs = Vec::new();
    if let Some(v1) = official_v1() {
        diffs.extend(differences(&sb, &v1, &commands, &without_v1_note));
    }
    if let Some(v2) = official_v2() {
        diffs.extend(differences(&sb, &v2, &commands, &|e| e.to_string()));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    // The listings really were paged and resumed (not one page each).
    let all = ok(&sb, &url, &[&versions[..], &["--page-size", "3"]].concat());
    assert_eq!(all["Versions"].as_array().unwrap().len(), 8);
    let resumed = ok(
        &sb,
        &url,
        &[&versions[..], &["--starting-token", &mid]].concat(),
    );
    assert_eq!(resumed["Versions"].as_array().unwrap().len(), 5);
    let resumed = ok(
        &sb,
        &url,
        &[&records[..], &["--starting-token", &rr]].concat(),
    );
    assert_eq!(
        resumed["ResourceRecordSets"].as_array().unwrap().len(),
        7 - 3,
        "SOA, NS and five A records, three already listed"
    );
}
