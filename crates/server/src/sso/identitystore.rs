//! `identitystore` (JSON 1.1): not served yet.

use crate::error::{AwsError, AwsResult};
use crate::state::Ctx;
use serde_json::Value;

pub fn handle(ctx: &Ctx, op: &str, _input: Value) -> AwsResult<Value> {
    ctx.authorize(&format!("identitystore:{op}"), "*")?;
    Err(AwsError::new(
        400,
        "UnknownOperationException",
        format!("kagi does not serve identitystore:{op} yet."),
    ))
}
