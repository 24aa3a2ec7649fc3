#!/bin/sh
# One-shot MinIO set-up for the compose stack, idempotent:
#   - the lake bucket `lakehouse`;
#   - the policy `fastcart-lakehouse` (fastcart-policy.json: objects of that bucket only);
#   - the application's user FASTCART_S3_ACCESS_KEY with that policy and nothing else.
# The root account is used here only. Keys come from environment variables and reach `mc` on
# its standard input, never on a command line (where `ps` would show them).
set -eu
printf '%s\n%s\n' "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" \
  | mc alias set lake http://minio:9000 >/dev/null
mc mb --ignore-existing lake/lakehouse
mc admin policy create lake fastcart-lakehouse /init/fastcart-policy.json
printf '%s\n%s\n' "$FASTCART_S3_ACCESS_KEY" "$FASTCART_S3_SECRET_KEY" \
  | mc admin user add lake >/dev/null
if ! mc admin user info lake "$FASTCART_S3_ACCESS_KEY" --json | grep -q '"fastcart-lakehouse"'; then
  mc admin policy attach lake fastcart-lakehouse --user "$FASTCART_S3_ACCESS_KEY"
fi
echo "MinIO ready: bucket lakehouse, user $FASTCART_S3_ACCESS_KEY with policy fastcart-lakehouse"
