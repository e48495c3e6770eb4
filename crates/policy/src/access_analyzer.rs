//! IAM Access Analyzer's policy-generation API shapes over [`mod@crate::generate`]:
//! `StartPolicyGeneration` (its input, read into a [`PolicyGenerationRequest`]),
//! `GetGeneratedPolicy` ([`get_generated_policy_output`]) and `ListPolicyGenerations`
//! ([`list_policy_generations_output`]), as botocore's `accessanalyzer` model shapes them
//! (<https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_GetGeneratedPolicy.html>).
//! The server keeps the jobs and the records; these functions only map between the API's
//! Values and the generator.
//!
//! Local differences (say them where the API is served):
//! * `cloudTrailDetails` is optional and only its `startTime` / `endTime` are used: the
//!   events come from kagi's own history, so `trails` and `accessRole` are not read (they are
//!   echoed back in `cloudTrailProperties`, as AWS does).
//! * `includeResourcePlaceholders` gives real resource ARNs from the records (the generator's
//!   resource level), not AWS's `${RepositoryName}` placeholders; `includeServiceLevelTemplate`
//!   is ignored (every used action is known, so there is no service-level template to add).
//!
//! Timestamps are Value-convention ISO 8601 strings (kagi-api puts them on the wire).

use serde_json::{Map, Value, json};

use crate::generate::{GenerateOptions, Generated};

/// An Access Analyzer error: the code (`ValidationException`) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError {
        code: "ValidationException",
        message: message.into(),
    }
}

/// A `StartPolicyGeneration` request, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGenerationRequest {
    pub principal_arn: String,
    /// `cloudTrailDetails.startTime` / `endTime`, milliseconds since the epoch.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// `cloudTrailDetails.trails`, echoed back as `cloudTrailProperties.trailProperties`.
    pub trails: Vec<Value>,
    /// Whether the request had `cloudTrailDetails` at all.
    pub cloudtrail_details: bool,
}

fn time_ms(v: Option<&Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => crate::condition::parse_date(s)
            .map(Some)
            .ok_or_else(|| validation(format!("Invalid {name}: {s}"))),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|f| Some((f * 1000.0).round() as i64))
            .ok_or_else(|| validation(format!("Invalid {name}"))),
        Some(_) => Err(validation(format!("Invalid {name}"))),
    }
}

/// Reads `StartPolicyGeneration`'s input (already validated against the model by the caller).
pub fn parse_start_policy_generation(input: &Value) -> Result<PolicyGenerationRequest, ApiError> {
    let principal_arn = input
        .pointer("/policyGenerationDetails/principalArn")
        .and_then(Value::as_str)
        .ok_or_else(|| validation("policyGenerationDetails.principalArn is required"))?
        .to_string();
    match crate::context::PrincipalInfo::from_arn(&principal_arn).map(|p| p.kind) {
        Some(crate::context::PrincipalType::User | crate::context::PrincipalType::Role) => {}
        _ => {
            return Err(validation(format!(
                "Invalid principalArn: {principal_arn} is not the ARN of an IAM user or role"
            )));
        }
    }
    let details = input.get("cloudTrailDetails").filter(|d| !d.is_null());
    let start_ms = time_ms(details.and_then(|d| d.get("startTime")), "startTime")?;
    let end_ms = time_ms(details.and_then(|d| d.get("endTime")), "endTime")?;
    if let (Some(s), Some(e)) = (start_ms, end_ms)
        && e < s
    {
        return Err(validation("endTime must be after startTime"));
    }
    let trails = details
        .and_then(|d| d.get("trails"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(PolicyGenerationRequest {
        principal_arn,
        start_ms,
        end_ms,
        trails,
        cloudtrail_details: details.is_some(),
    })
}

impl PolicyGenerationRequest {
    /// The generator's options for `GetGeneratedPolicy`'s `includeResourcePlaceholders`.
    pub fn options(&self, include_resource_placeholders: bool) -> GenerateOptions {
        GenerateOptions {
            principal_arn: self.principal_arn.clone(),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            resource_level: include_resource_placeholders,
            include_denied: false,
        }
    }
}

/// A job's state (`JobStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Canceled => "CANCELED",
        }
    }
}

/// One policy-generation job as the server keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGenerationJob {
    pub job_id: String,
    pub request: PolicyGenerationRequest,
    pub status: JobStatus,
    /// Seconds since the epoch.
    pub started_on: i64,
    pub completed_on: Option<i64>,
    /// `JobError`: a `JobErrorCode` (`SERVICE_ERROR`, ...) and a message.
    pub error: Option<(&'static str, String)>,
}

fn iso(secs: i64) -> Value {
    Value::String(kagi_time::iso8601_z(secs))
}

fn iso_ms(ms: i64) -> Value {
    iso(ms.div_euclid(1000))
}

/// The `JobDetails` shape.
pub fn job_details(job: &PolicyGenerationJob) -> Value {
    let mut o = Map::new();
    o.insert("jobId".into(), job.job_id.clone().into());
    o.insert("status".into(), job.status.as_str().into());
    o.insert("startedOn".into(), iso(job.started_on));
    if let Some(c) = job.completed_on {
        o.insert("completedOn".into(), iso(c));
    }
    if let Some((code, message)) = &job.error {
        o.insert("jobError".into(), json!({"code": code, "message": message}));
    }
    Value::Object(o)
}

/// `GetGeneratedPolicy`'s output: the job, and the generated policy once it succeeded
/// (`generatedPolicies` is empty before, or when the principal used nothing).
pub fn get_generated_policy_output(
    job: &PolicyGenerationJob,
    generated: Option<&Generated>,
) -> Value {
    let mut props = Map::new();
    props.insert("isComplete".into(), true.into());
    props.insert(
        "principalArn".into(),
        job.request.principal_arn.clone().into(),
    );
    if job.request.cloudtrail_details {
        let start = job
            .request
            .start_ms
            .map_or_else(|| iso(job.started_on), iso_ms);
        // Without an endTime AWS reads up to the job's start.
        let end = job
            .request
            .end_ms
            .map_or_else(|| iso(job.started_on), iso_ms);
        let trails: Vec<Value> = job
            .request
            .trails
            .iter()
            .map(|t| {
                let mut o = Map::new();
                for k in ["cloudTrailArn", "regions", "allRegions"] {
                    if let Some(v) = t.get(k) {
                        o.insert(k.into(), v.clone());
                    }
                }
                Value::Object(o)
            })
            .collect();
        props.insert(
            "cloudTrailProperties".into(),
            json!({"trailProperties": trails, "startTime": start, "endTime": end}),
        );
    }
    let policies: Vec<Value> = match (job.status, generated) {
        (JobStatus::Succeeded, Some(g)) => g
            .policy_compact()
            .map(|p| json!({ "policy": p }))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "jobDetails": job_details(job),
        "generatedPolicyResult": {
            "properties": Value::Object(props),
            "generatedPolicies": policies,
        }
    })
}

/// One `PolicyGeneration` entry of `ListPolicyGenerations`.
pub fn policy_generation(job: &PolicyGenerationJob) -> Value {
    let mut o = Map::new();
    o.insert("jobId".into(), job.job_id.clone().into());
    o.insert(
        "principalArn".into(),
        job.request.principal_arn.clone().into(),
    );
    o.insert("status".into(), job.status.as_str().into());
    o.insert("startedOn".into(), iso(job.started_on));
    if let Some(c) = job.completed_on {
        o.insert("completedOn".into(), iso(c));
    }
    Value::Object(o)
}

/// `ListPolicyGenerations`' output for one page of jobs (the caller filters by
/// `principalArn` and pages).
pub fn list_policy_generations_output(
    jobs: &[&PolicyGenerationJob],
    next_token: Option<&str>,
) -> Value {
    let mut o = Map::new();
    o.insert(
        "policyGenerations".into(),
        Value::Array(jobs.iter().map(|j| policy_generation(j)).collect()),
    );
    if let Some(t) = next_token {
        o.insert("nextToken".into(), t.into());
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::generate;

    fn job(status: JobStatus) -> PolicyGenerationJob {
        let input = json!({
            "policyGenerationDetails": {"principalArn": "arn:aws:iam::123456789012:role/ECRLoginAndPushRole"},
            "cloudTrailDetails": {
                "trails": [{"cloudTrailArn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "allRegions": true}],
                "accessRole": "arn:aws:iam::123456789012:role/AccessAnalyzerMonitorServiceRole",
                "startTime": "2026-12-07T00:00:00+00:00"
            }
        });
        PolicyGenerationJob {
            job_id: "c557dc4a-0338-4489-95dd-739014860ff9".into(),
            request: parse_start_policy_generation(&input).unwrap(),
            status,
            started_on: 1_796_644_800, // 2026-12-07T12:00:00Z
            completed_on: (status == JobStatus::Succeeded).then_some(1_796_644_801),
            error: None,
        }
    }

    fn record(event: &str) -> Value {
        json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/ECRLoginAndPushRole/s",
                "accountId": "123456789012",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/ECRLoginAndPushRole", "accountId": "123456789012", "userName": "ECRLoginAndPushRole"}}
            },
            "eventTime": "2026-12-07T11:00:00Z",
            "eventSource": "ecr.amazonaws.com",
            "eventName": event,
            "awsRegion": "us-east-1",
            "requestParameters": {"repositoryName": "test-repos", "registryId": "123456789012"},
            "recipientAccountId": "123456789012"
        })
    }

    #[test]
    fn start_input_is_read_and_checked() {
        let j = job(JobStatus::InProgress);
        assert_eq!(j.request.start_ms, Some(1_796_601_600_000));
        assert_eq!(j.request.end_ms, None);
        assert!(j.request.options(true).resource_level);
        for bad in [
            json!({}),
            json!({"policyGenerationDetails": {"principalArn": "arn:aws:s3:::b"}}),
            json!({"policyGenerationDetails": {"principalArn": "arn:aws:iam::123456789012:role/r"},
                   "cloudTrailDetails": {"startTime": "2026-12-07T00:00:00Z", "endTime": "2026-12-06T00:00:00Z"}}),
        ] {
            assert_eq!(
                parse_start_policy_generation(&bad).unwrap_err().code,
                "ValidationException"
            );
        }
        // Locally the CloudTrail details may be left out.
        let r = parse_start_policy_generation(
            &json!({"policyGenerationDetails": {"principalArn": "arn:aws:iam::123456789012:user/a"}}),
        )
        .unwrap();
        assert!(!r.cloudtrail_details && r.start_ms.is_none());
    }

    #[test]
    fn get_generated_policy_has_the_models_shape() {
        let j = job(JobStatus::Succeeded);
        let g = generate(
            &[record("PutImage"), record("InitiateLayerUpload")],
            &j.request.options(false),
        )
        .unwrap();
        let out = get_generated_policy_output(&j, Some(&g));
        assert_eq!(
            out,
            json!({
                "jobDetails": {
                    "jobId": "c557dc4a-0338-4489-95dd-739014860ff9",
                    "status": "SUCCEEDED",
                    "startedOn": "2026-12-07T12:00:00Z",
                    "completedOn": "2026-12-07T12:00:01Z"
                },
                "generatedPolicyResult": {
                    "properties": {
                        "isComplete": true,
                        "principalArn": "arn:aws:iam::123456789012:role/ECRLoginAndPushRole",
                        "cloudTrailProperties": {
                            "trailProperties": [{"cloudTrailArn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "allRegions": true}],
                            "startTime": "2026-12-07T00:00:00Z",
                            "endTime": "2026-12-07T12:00:00Z"
                        }
                    },
                    "generatedPolicies": [{
                        "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"EcrUsed\",\"Effect\":\"Allow\",\"Action\":[\"ecr:InitiateLayerUpload\",\"ecr:PutImage\"],\"Resource\":\"*\"}]}"
                    }]
                }
            })
        );
        // With placeholders: the repository itself.
        let scoped = generate(&[record("PutImage")], &j.request.options(true)).unwrap();
        let out = get_generated_policy_output(&j, Some(&scoped));
        let policy: Value = serde_json::from_str(
            out["generatedPolicyResult"]["generatedPolicies"][0]["policy"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            policy["Statement"][0]["Resource"],
            "arn:aws:ecr:us-east-1:123456789012:repository/test-repos"
        );
        // A job still running has no policies yet, and no completedOn.
        let running = get_generated_policy_output(&job(JobStatus::InProgress), Some(&g));
        assert_eq!(
            running["generatedPolicyResult"]["generatedPolicies"],
            json!([])
        );
        assert!(running["jobDetails"].get("completedOn").is_none());
    }

    #[test]
    fn list_policy_generations_has_the_models_shape() {
        let (a, mut b) = (job(JobStatus::Succeeded), job(JobStatus::Failed));
        b.job_id = "j2".into();
        b.error = Some(("SERVICE_ERROR", "boom".into()));
        assert_eq!(
            list_policy_generations_output(&[&a, &b], Some("t")),
            json!({
                "policyGenerations": [
                    {"jobId": a.job_id, "principalArn": "arn:aws:iam::123456789012:role/ECRLoginAndPushRole",
                     "status": "SUCCEEDED", "startedOn": "2026-12-07T12:00:00Z", "completedOn": "2026-12-07T12:00:01Z"},
                    {"jobId": "j2", "principalArn": "arn:aws:iam::123456789012:role/ECRLoginAndPushRole",
                     "status": "FAILED", "startedOn": "2026-12-07T12:00:00Z"}
                ],
                "nextToken": "t"
            })
        );
        assert_eq!(
            job_details(&b)["jobError"],
            json!({"code": "SERVICE_ERROR", "message": "boom"})
        );
    }
}
