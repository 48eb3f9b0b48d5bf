// SPDX-License-Identifier: Apache-2.0
// ko-kstatus [FILE]: what kstatus (sigs.k8s.io/cli-utils: the library Flux and kpt judge
// health with) makes of objects: reads one object or a List as JSON from FILE (default stdin),
// prints "<Kind>/<name> <status>: <message>" per object. Test tooling (tests/integration).
package main

import (
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	src := os.Stdin
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "ko-kstatus:", err)
			os.Exit(2)
		}
		defer f.Close()
		src = f
	}
	in, err := io.ReadAll(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ko-kstatus:", err)
		os.Exit(2)
	}
	var obj map[string]interface{}
	// integers as int64, as the API machinery reads them
	if err := json.Unmarshal(in, &obj); err != nil {
		fmt.Fprintln(os.Stderr, "ko-kstatus: not a JSON object:", err)
		os.Exit(2)
	}
	items := []interface{}{obj}
	if obj["kind"] == "List" || obj["items"] != nil {
		items, _ = obj["items"].([]interface{})
	}
	for _, it := range items {
		m, ok := it.(map[string]interface{})
		if !ok {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		res, err := status.Compute(u)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ko-kstatus: %s/%s: %v\n", u.GetKind(), u.GetName(), err)
			os.Exit(2)
		}
		fmt.Printf("%s/%s %s: %s\n", u.GetKind(), u.GetName(), res.Status, res.Message)
	}
}
