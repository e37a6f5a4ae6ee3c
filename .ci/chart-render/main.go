// chart-render: renders a Helm chart's templates the way Helm 3's engine does, for checking a chart on a
// machine without helm: Go text/template + Sprig (minus env/expandenv, as in Helm) + Helm's include, tpl,
// required, fail, toYaml, fromYaml, toJson; values.yaml coalesced with -f files (later wins, maps merged);
// .Release, .Chart, .Capabilities, .Template; "<no value>" becomes "" like Helm. Not covered: lookup
// (returns an empty map), subcharts, .Files, schema validation. Output: the manifests, each after
// "# Source:", then NOTES.txt after "# NOTES"; a template error exits 1 with Helm's message text.
//
//	go run . -chart ../../charts/gatehouse -f values-a.yaml -f values-b.yaml
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func readYAML(path string) map[string]interface{} {
	b, err := os.ReadFile(path)
	must(err)
	m := map[string]interface{}{}
	must(yaml.Unmarshal(b, &m))
	return m
}

// coalesce merges src into dst: maps recursively, anything else replaced (Helm's values override rule).
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = coalesce(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func main() {
	chart := flag.String("chart", ".", "chart directory")
	release := flag.String("name", "gatehouse", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	var files fileList
	flag.Var(&files, "f", "values file (repeatable)")
	flag.Parse()

	meta := readYAML(filepath.Join(*chart, "Chart.yaml"))
	values := readYAML(filepath.Join(*chart, "values.yaml"))
	for _, f := range files {
		values = coalesce(values, readYAML(f))
	}
	name, _ := meta["name"].(string)
	chartObj := map[string]interface{}{}
	for k, v := range meta { // Helm exposes Chart.yaml fields capitalised: .Chart.AppVersion
		chartObj[strings.ToUpper(k[:1])+k[1:]] = v
	}
	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chartObj,
		"Release": map[string]interface{}{"Name": *release, "Namespace": *namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.31.0", "Major": "1", "Minor": "31"},
		},
	}

	root := template.New("root")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		_ = yaml.Unmarshal([]byte(s), &m)
		return m
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return v, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) }
	funcs["lookup"] = func(...interface{}) map[string]interface{} { return map[string]interface{}{} }
	funcs["include"] = func(n string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, n, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	root.Funcs(funcs).Option("missingkey=zero")

	dir := filepath.Join(*chart, "templates")
	entries, err := os.ReadDir(dir)
	must(err)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		must(err)
		tname := name + "/templates/" + e.Name() // Helm's template names: <chart>/templates/<file>
		_, err = root.New(tname).Parse(string(b))
		must(err)
		names = append(names, tname)
	}
	sort.Strings(names)

	var out, notes strings.Builder
	for _, tname := range names {
		base := filepath.Base(tname)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": tname, "BasePath": name + "/templates"}
		var buf bytes.Buffer
		must(root.ExecuteTemplate(&buf, tname, data))
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			notes.WriteString(text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tname, strings.TrimLeft(text, "\n"))
	}
	fmt.Print(out.String())
	fmt.Printf("# NOTES\n%s\n", notes.String())
}
