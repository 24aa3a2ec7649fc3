#!/bin/sh
# Register (or update) the Debezium connector from the committed definition
# (orders-connector.json) through Kafka Connect's REST API. PUT .../config is idempotent.
set -eu
url="http://debezium:8083/connectors/fastcart-orders/config"
attempt=0
until curl -fsS -X PUT -H "Content-Type: application/json" \
  --data @/debezium/orders-connector.json "$url"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 30 ]; then
    echo "could not register the connector at $url" >&2
    exit 1
  fi
  sleep 5
done
echo
echo "connector fastcart-orders registered: topic fastcart.public.orders"
