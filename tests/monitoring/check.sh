#!/usr/bin/env bash
# bundle/monitoring checked with Prometheus's own tools (test compat.monitoring):
#   the PrometheusRule's spec.groups, extracted by ko-promrules, pass `promtool check rules`
#   and the alert tests of rules.test.yaml (`promtool test rules`, promtool built by
#   hack/build-bins.sh); every PromQL expression of the rules and of the Grafana dashboard
#   parses (ko-promrules names), and the dashboard is JSON.
# Which metrics exist is checked against a live scrape by tests/integration/test_backup.c.
# Usage: tests/monitoring/check.sh KO_PROMRULES_BIN
set -euo pipefail
. "$(dirname "$0")/../../hack/lib.sh"
promrules=${1:?usage: check.sh KO_PROMRULES_BIN}
promtool=$(cached_bin promtool "$PROMETHEUS_VERSION")
[ -x "$promtool" ] || { echo "$promtool missing: run hack/build-bins.sh prometheus" >&2; exit 1; }
mon=$ROOT_DIR/bundle/monitoring

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$promrules" rules "$mon/prometheusrule.yaml" >"$dir/rules.yaml"
cp "$ROOT_DIR/tests/monitoring/rules.test.yaml" "$dir/"
"$promtool" check rules "$dir/rules.yaml"
"$promtool" test rules "$dir/rules.test.yaml"
jq -e .panels "$mon/grafana-dashboard.json" >/dev/null || { echo "grafana-dashboard.json: no panels" >&2; exit 1; }
echo "metrics the rules and the dashboard read:"
"$promrules" names "$mon/prometheusrule.yaml" "$mon/grafana-dashboard.json" | sed 's/^/  /'
