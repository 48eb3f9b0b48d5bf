// SPDX-License-Identifier: Apache-2.0
// ko-promrules: reads the monitoring bundle (bundle/monitoring) for its tests.
//
//	ko-promrules rules PROMETHEUSRULE   its spec.groups as a Prometheus rules file, for promtool
//	ko-promrules names FILE...          the metric names the files' PromQL selects, sorted
//
// FILE is a PrometheusRule (YAML: spec.groups[].rules[].expr) or a Grafana dashboard (JSON:
// every "expr" and every label_values() variable, Grafana's interval variables read as 5m).
// Expressions are parsed by Prometheus's own PromQL parser; a name a recording rule of the
// same files defines is not listed. Exit 1 on an unreadable file or expression.
package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

type exprs struct {
	list     []string // PromQL expressions, each with where it came from
	where    []string
	recorded map[string]bool
}

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "ko-promrules: "+format+"\n", a...)
	os.Exit(1)
}

// read a file as a generic document (JSON is YAML)
func read(path string) map[string]any {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		die("%s: %v", path, err)
	}
	return doc
}

func groups(path string, doc map[string]any) []any {
	if doc["kind"] != "PrometheusRule" {
		die("%s: not a PrometheusRule", path)
	}
	spec, _ := doc["spec"].(map[string]any)
	g, _ := spec["groups"].([]any)
	if len(g) == 0 {
		die("%s: no spec.groups", path)
	}
	return g
}

func (e *exprs) add(expr, where string) {
	e.list = append(e.list, expr)
	e.where = append(e.where, where)
}

func (e *exprs) fromRules(path string, doc map[string]any) {
	for _, g := range groups(path, doc) {
		gm, _ := g.(map[string]any)
		rules, _ := gm["rules"].([]any)
		for _, r := range rules {
			rm, _ := r.(map[string]any)
			expr, _ := rm["expr"].(string)
			name, _ := rm["alert"].(string)
			if rec, ok := rm["record"].(string); ok {
				e.recorded[rec] = true
				name = rec
			}
			e.add(expr, fmt.Sprintf("%s: group %v, rule %s", path, gm["name"], name))
		}
	}
}

var (
	interval    = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}`)
	labelValues = regexp.MustCompile(`^\s*label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)
)

// every "expr" of a dashboard, and the selector of each label_values() variable
func (e *exprs) fromDashboard(path string, v any, where string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			s, isStr := c.(string)
			switch {
			case k == "expr" && isStr && strings.TrimSpace(s) != "":
				e.add(interval.ReplaceAllString(s, "5m"), path+": "+where)
			case (k == "query" || k == "definition") && isStr && labelValues.MatchString(s):
				e.add(labelValues.FindStringSubmatch(s)[1], path+": variable "+where)
			default:
				e.fromDashboard(path, c, where+"/"+k)
			}
		}
	case []any:
		for i, c := range t {
			e.fromDashboard(path, c, fmt.Sprintf("%s[%d]", where, i))
		}
	}
}

func selected(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			err = fmt.Errorf("a selector without a metric name: %s", vs)
		}
		names = append(names, name)
		return nil
	})
	return names, err
}

func names(paths []string) {
	e := exprs{recorded: map[string]bool{}}
	for _, p := range paths {
		doc := read(p)
		if _, ok := doc["kind"]; ok {
			e.fromRules(p, doc)
		} else {
			e.fromDashboard(p, doc, "")
		}
	}
	if len(e.list) == 0 {
		die("no PromQL expression in %s", strings.Join(paths, ", "))
	}
	set := map[string]bool{}
	for i, expr := range e.list {
		ns, err := selected(expr)
		if err != nil {
			die("%s: %v", e.where[i], err)
		}
		for _, n := range ns {
			if !e.recorded[n] {
				set[n] = true
			}
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	fmt.Println(strings.Join(out, "\n"))
}

func main() {
	switch {
	case len(os.Args) == 3 && os.Args[1] == "rules":
		out, err := yaml.Marshal(map[string]any{"groups": groups(os.Args[2], read(os.Args[2]))})
		if err != nil {
			die("%v", err)
		}
		os.Stdout.Write(out)
	case len(os.Args) > 2 && os.Args[1] == "names":
		names(os.Args[2:])
	default:
		die("usage: ko-promrules rules PROMETHEUSRULE | names FILE...")
	}
}
