//! Requests captured from the AWS CLI (aws-cli 1.45 / botocore 1.43, the signer of AWS CLI v2
//! too) by `tests/awscli/capture.sh`: STS GetCallerIdentity, IAM CreateUser (form body with
//! `+` and spaces), ECR DescribeRepositories (JSON 1.1, `X-Amz-Target`, session token), and STS
//! under an endpoint with a base path. Each must verify as captured and fail once tampered.

use std::time::Duration;

use kagi_sigv4::{AuthErrorCode, IncomingRequest, parse, parse_amz_date, sha256_hex, verify};
use serde_json::Value;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn b64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        buf = buf << 6 | A.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

#[test]
fn aws_cli_requests_verify() {
    let text = include_str!("awscli/requests.jsonl");
    let mut services = Vec::new();
    for line in text.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let headers: Vec<(String, String)> = r["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let body = b64(r["body_b64"].as_str().unwrap());
        let hash = sha256_hex(&body);
        let req = IncomingRequest {
            method: r["method"].as_str().unwrap(),
            path: r["path"].as_str().unwrap(),
            query: r["query"].as_str().unwrap(),
            headers: &headers,
            payload_sha256_hex: &hash,
        };
        let info = parse(&req).unwrap();
        let now = parse_amz_date(&info.amz_date).unwrap() + Duration::from_secs(3);
        verify(&req, &info, SECRET, now).unwrap_or_else(|e| {
            panic!(
                "{line}\n{e}\n{}",
                e.canonical_request.as_deref().unwrap_or_default()
            )
        });
        services.push(info.service.clone());

        let mut tampered = body.clone();
        tampered.push(b'&');
        let h2 = sha256_hex(&tampered);
        let r2 = IncomingRequest {
            payload_sha256_hex: &h2,
            ..req
        };
        assert_eq!(
            verify(&r2, &info, SECRET, now).unwrap_err().code,
            AuthErrorCode::SignatureDoesNotMatch
        );
        let late = verify(&req, &info, SECRET, now + Duration::from_secs(16 * 60)).unwrap_err();
        assert!(late.message.starts_with("Signature expired: "), "{late}");
    }
    assert_eq!(services, ["sts", "iam", "ecr", "sts"]);
}
