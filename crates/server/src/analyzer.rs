//! IAM Access Analyzer's policy generation (`accessanalyzer`, rest-json) over the event
//! history: `StartPolicyGeneration`, `GetGeneratedPolicy`, `ListPolicyGenerations`,
//! `CancelPolicyGeneration`. The generator is kagi-policy's (`generate`, pure); the records
//! are [`crate::trail`]'s.
//!
//! Local differences from AWS: a job completes when it starts (the history is local; AWS's
//! jobs take minutes), `cloudTrailDetails` is optional and only its times are read (trails and
//! the access role are echoed back, not used: there is no S3 trail to read), and
//! `includeResourcePlaceholders` gives the ARNs the records name rather than `${…}`
//! placeholders. The policy is generated from the history each time `GetGeneratedPolicy` asks
//! (the window is fixed when the job starts, so the answer does not change unless retention
//! deleted events).

use crate::error::{AwsError, AwsResult};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, TxExt};
use kagi_policy::access_analyzer::{self as aa, JobStatus, PolicyGenerationJob};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A job as stored.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Job {
    id: String,
    /// `StartPolicyGeneration`'s input.
    input: Value,
    status: String,
    started_on: i64,
    completed_on: Option<i64>,
}

/// The most events a generation reads (newest first within its window).
const MAX_EVENTS: usize = 200_000;

fn validation(m: impl Into<String>) -> AwsError {
    AwsError::new(400, "ValidationException", m)
}

fn not_found(id: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("Job {id} does not exist."),
    )
}

fn api(e: aa::ApiError) -> AwsError {
    AwsError::new(400, e.code, e.message)
}

fn status_of(s: &str) -> JobStatus {
    match s {
        "IN_PROGRESS" => JobStatus::InProgress,
        "FAILED" => JobStatus::Failed,
        "CANCELED" => JobStatus::Canceled,
        _ => JobStatus::Succeeded,
    }
}

fn job_of(j: &Job) -> AwsResult<PolicyGenerationJob> {
    let request = aa::parse_start_policy_generation(&j.input).map_err(api)?;
    Ok(PolicyGenerationJob {
        job_id: j.id.clone(),
        request,
        status: status_of(&j.status),
        started_on: j.started_on,
        completed_on: j.completed_on,
        error: None,
    })
}

pub fn handle(ctx: &Ctx, op: &str, input: Value) -> AwsResult<Value> {
    // A rest-json service: AccessDenied takes its `…Exception` spelling, as AWS answers it.
    serve(ctx, op, input).map_err(|mut e| {
        if e.code == "AccessDenied" {
            e.code = "AccessDeniedException".into();
        }
        e
    })
}

fn serve(ctx: &Ctx, op: &str, input: Value) -> AwsResult<Value> {
    match op {
        "StartPolicyGeneration" => start(ctx, &input),
        "GetGeneratedPolicy" => get(ctx, &input),
        "ListPolicyGenerations" => list(ctx, &input),
        "CancelPolicyGeneration" => cancel(ctx, &input),
        _ => Err(AwsError::new(
            400,
            "ValidationException",
            format!("kagi's Access Analyzer answers policy generation only, not {op}."),
        )),
    }
}

fn start(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    ctx.authorize("access-analyzer:StartPolicyGeneration", "*")?;
    let request = aa::parse_start_policy_generation(input).map_err(api)?;
    let account = request.principal_arn.split(':').nth(4).unwrap_or("");
    if account != ctx.account() {
        return Err(validation(format!(
            "The principal {} is not in this account ({}).",
            request.principal_arn,
            ctx.account()
        )));
    }
    let job = Job {
        id: uuid::Uuid::new_v4().to_string(),
        input: input.clone(),
        status: "SUCCEEDED".into(),
        started_on: ctx.now,
        completed_on: Some(ctx.now),
    };
    ctx.store
        .write(|tx| tx.put_json(Table::PolicyGenerations, &job.id, &job))?;
    Ok(json!({ "jobId": job.id }))
}

fn load(ctx: &Ctx, id: &str) -> AwsResult<Job> {
    ctx.store
        .view(|tx| tx.get_json::<Job>(Table::PolicyGenerations, id))?
        .ok_or_else(|| not_found(id))
}

fn get(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    ctx.authorize("access-analyzer:GetGeneratedPolicy", "*")?;
    let id = input["jobId"].as_str().unwrap_or("");
    let stored = load(ctx, id)?;
    let job = job_of(&stored)?;
    let placeholders = input["includeResourcePlaceholders"]
        .as_bool()
        .or_else(|| {
            input["includeResourcePlaceholders"]
                .as_str()
                .map(|s| s == "true")
        })
        .unwrap_or(false);
    let mut opts = job.request.options(placeholders);
    // Without an end time AWS reads up to the job's start: the answer stays the same.
    opts.end_ms = Some(opts.end_ms.unwrap_or(stored.started_on * 1000 + 999));
    let generated = if job.status == JobStatus::Succeeded {
        ctx.state.trail.flush();
        let principal = &job.request.principal_arn;
        let by_principal = principal.contains(":user/") || principal.contains(":role/");
        let found = ctx.store.view(|tx| {
            if by_principal {
                // Only the segments that hold the user's or the role's sessions' events.
                crate::trail::lookup::by_principal(
                    tx,
                    ctx.account(),
                    principal,
                    opts.start_ms,
                    opts.end_ms,
                    MAX_EVENTS,
                )
            } else {
                let q = crate::trail::lookup::Query {
                    start_ms: opts.start_ms,
                    end_ms: opts.end_ms,
                    max: MAX_EVENTS,
                    ..Default::default()
                };
                Ok(crate::trail::lookup::find(tx, ctx.account(), &q)?.0)
            }
        })?;
        let records: Vec<Value> = found.into_iter().map(|f| f.record).collect();
        // Nothing used in the window: no policy, as AWS answers.
        kagi_policy::generate(&records, &opts).ok()
    } else {
        None
    };
    Ok(aa::get_generated_policy_output(&job, generated.as_ref()))
}

fn list(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    ctx.authorize("access-analyzer:ListPolicyGenerations", "*")?;
    let principal = input["principalArn"].as_str();
    let max = input["maxResults"]
        .as_u64()
        .or_else(|| input["maxResults"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(100)
        .clamp(1, 1000) as usize;
    let after = input["nextToken"].as_str().map(str::to_owned);
    let mut jobs: Vec<Job> = Vec::new();
    let mut next = None;
    ctx.store.view(|tx| {
        let mut cursor = after.clone();
        loop {
            let page = tx.scan_page(Table::PolicyGenerations, "", cursor.as_deref(), 200)?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.0.clone());
            for (k, doc) in page {
                let Ok(j) = serde_json::from_str::<Job>(&doc) else {
                    continue;
                };
                let arn = j.input.pointer("/policyGenerationDetails/principalArn");
                if principal.is_some_and(|p| arn.and_then(Value::as_str) != Some(p)) {
                    continue;
                }
                if jobs.len() == max {
                    next = Some(k);
                    return Ok(());
                }
                jobs.push(j);
            }
        }
        Ok(())
    })?;
    // `next` is the first job not returned: the next page starts after the last returned.
    let token = next.and(jobs.last().map(|j| j.id.clone()));
    let parsed: Vec<PolicyGenerationJob> = jobs.iter().filter_map(|j| job_of(j).ok()).collect();
    let refs: Vec<&PolicyGenerationJob> = parsed.iter().collect();
    Ok(aa::list_policy_generations_output(&refs, token.as_deref()))
}

fn cancel(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    ctx.authorize("access-analyzer:CancelPolicyGeneration", "*")?;
    let id = input["jobId"].as_str().unwrap_or("");
    let job = load(ctx, id)?;
    if job.status == "IN_PROGRESS" {
        let mut j = job;
        j.status = "CANCELED".into();
        ctx.store
            .write(|tx| tx.put_json(Table::PolicyGenerations, &j.id, &j))?;
    }
    // A job that already completed stays as it is (AWS: cancelling has no effect then).
    Ok(json!({}))
}
