#!/bin/sh
# Regenerates requests.jsonl: raw requests the AWS CLI sends (captured by capture.py, which
# answers 403), with the AWS documentation's example credentials.
set -e
cd "$(dirname "$0")"
rm -f requests.jsonl
python3 capture.py 47123 requests.jsonl & pid=$!
sleep 1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1 AWS_PAGER=
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
ep=http://127.0.0.1:47123
aws sts get-caller-identity --endpoint-url $ep --region us-east-1 || true
aws iam create-user --user-name 'alice+test' --path '/a b/' --endpoint-url $ep --region us-east-1 || true
AWS_SESSION_TOKEN='FwoGZXIvYXdzEXAMPLE/+token==' aws ecr describe-repositories --repository-names 'my/repo' --endpoint-url $ep --region eu-west-3 || true
aws sts get-caller-identity --endpoint-url $ep/some/base --region us-west-2 || true
kill $pid
