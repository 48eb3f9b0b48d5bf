#!/usr/bin/env bash
# bundle/monitoring checked with Prometheus's own tools (test compat.monitoring):
#   the PrometheusRule's spec.groups, extracted by ko-promrules, pass `promtool check rules`
#   and the alert tests of rules.test.yaml (`promtool test rules`, promtool built by
#   hack/build-bins.sh); every PromQL expression of the rules and of the Grafana dashboard
#   parses (ko-promrules names), and the dashboard is JSON; ko-promrules refuses bad input
#   (a PromQL error, a nameless selector, broken YAML, another kind) with exit 1 and where.
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
# bad input: exit 1 and a message that says where
refused() { # FILE-CONTENT EXPECTED-MESSAGE COMMAND...
        local content=$1 want=$2 out
        shift 2
        printf '%s\n' "$content" >"$dir/bad.yaml"
        if out=$("$promrules" "$@" "$dir/bad.yaml" 2>&1); then
                echo "ko-promrules $1 accepted: $content" >&2
                exit 1
        fi
        grep -qF -- "$want" <<<"$out" || { echo "ko-promrules $1: \"$out\", not \"$want\"" >&2; exit 1; }
}
rule() { printf 'kind: PrometheusRule\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      expr: %s\n' "$1"; }
refused "$(rule "'rate(x[5m]'")" "group g, rule A: 1:11: parse error" names
refused "$(rule "'{job=\"x\"} > 0'")" "a selector without a metric name" names
refused "kind: [" "bad.yaml: error converting YAML to JSON" names
refused "kind: ConfigMap" "bad.yaml: not a PrometheusRule" rules
refused "kind: PrometheusRule" "bad.yaml: no spec.groups" rules
echo "ko-promrules refuses bad input (a PromQL error, a nameless selector, broken YAML, another kind, no groups) with exit 1 and where"

echo "metrics the rules and the dashboard read:"
"$promrules" names "$mon/prometheusrule.yaml" "$mon/grafana-dashboard.json" | sed 's/^/  /'
