package main

// Tests that keep the add-on manifest files (config.yaml, build.yaml,
// translations, DOCS.md, Dockerfile, the s6 service) valid and in step with
// the Go code. The Supervisor only reads these files when a user installs the
// add-on, so a mistake here would otherwise surface on someone's Home
// Assistant instead of in CI.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-bridge/mcp-bridge/src/tools"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// repoRoot is the repository root as seen from this package's directory,
// where "go test" runs the test binary.
const repoRoot = ".."

// schemaDir holds the add-on linter's JSON schemas; it sits beside the
// repository root (see shared/addon-schema/README.md).
var schemaDir = filepath.Join(repoRoot, "..", "shared", "addon-schema")

// s6Dir is the s6-overlay v3 service of the bridge inside rootfs.
var s6Dir = filepath.Join(repoRoot, "rootfs", "etc", "s6-overlay", "s6-rc.d")

// addonConfig is the part of config.yaml the sync tests read.
type addonConfig struct {
	Version          string            `yaml:"version"`
	Arch             []string          `yaml:"arch"`
	Options          map[string]any    `yaml:"options"`
	Schema           map[string]any    `yaml:"schema"`
	Ports            map[string]any    `yaml:"ports"`
	PortsDescription map[string]string `yaml:"ports_description"`
}

// translation is one translations/<lang>.yaml file.
type translation struct {
	Configuration map[string]struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"configuration"`
	Network map[string]string `yaml:"network"`
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

func decodeYAML(t *testing.T, name string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(readRepoFile(t, name), v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

func loadConfig(t *testing.T) addonConfig {
	t.Helper()
	var c addonConfig
	decodeYAML(t, "config.yaml", &c)
	return c
}

// requireSchemaDir returns the schema directory, skipping the test when it
// is missing on a developer machine and failing it in CI, where a skipped
// schema check would hide a broken manifest.
func requireSchemaDir(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(schemaDir); err == nil {
		return schemaDir
	} else if os.Getenv("CI") != "" {
		t.Fatalf("add-on schemas not found at %s (CI is set): %v", schemaDir, err)
	}
	t.Skipf("add-on schemas not found at %s: clone shared/ beside the repository to run this test", schemaDir)
	return ""
}

// yamlAsJSON decodes a YAML file into the values encoding/json produces
// (json.Number for numbers), which is what the schema validator expects.
func yamlAsJSON(t *testing.T, name string) any {
	t.Helper()
	var v any
	decodeYAML(t, name, &v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("converting %s to JSON: %v", name, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("re-reading %s as JSON: %v", name, err)
	}
	return doc
}

func loadSchema(t *testing.T, path string) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compiling %s: %v", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return sch, raw.(map[string]any)
}

// TestManifestSchemas validates config.yaml and build.yaml against the add-on
// linter's schemas, including the linter's rule that no key may be written
// with its schema default value.
func TestManifestSchemas(t *testing.T) {
	dir := requireSchemaDir(t)
	for _, tc := range []struct{ file, schema string }{
		{"config.yaml", "config.schema.json"},
		{"build.yaml", "build.schema.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			sch, raw := loadSchema(t, filepath.Join(dir, tc.schema))
			doc := yamlAsJSON(t, tc.file)
			if err := sch.Validate(doc); err != nil {
				t.Errorf("%s does not match %s:\n%v", tc.file, tc.schema, err)
			}
			for _, msg := range defaultValued(raw, doc, "") {
				t.Errorf("%s: %s", tc.file, msg)
			}
		})
	}
}

// TestDefaultValued checks the lint rule emulation itself.
func TestDefaultValued(t *testing.T) {
	schema := map[string]any{"properties": map[string]any{
		"init":   map[string]any{"default": true},
		"port":   map[string]any{"default": json.Number("8099")},
		"nested": map[string]any{"properties": map[string]any{"a": map[string]any{"default": "x"}}},
	}}
	tests := []struct {
		doc  map[string]any
		want int
	}{
		{map[string]any{"init": false, "port": json.Number("3003")}, 0},
		{map[string]any{"init": true}, 1},
		{map[string]any{"port": json.Number("8099.0")}, 1},
		{map[string]any{"nested": map[string]any{"a": "x"}}, 1},
		{map[string]any{"init": json.Number("1")}, 1}, // Python: 1 == True
	}
	for _, tc := range tests {
		if got := defaultValued(schema, tc.doc, ""); len(got) != tc.want {
			t.Errorf("defaultValued(%v) = %q; want %d messages", tc.doc, got, tc.want)
		}
	}
}

// defaultValued reports every key of doc that equals its schema default, as
// frenck/action-addon-linter's lint.py does for each "properties" it meets.
func defaultValued(schema map[string]any, doc any, path string) []string {
	var msgs []string
	obj, isObj := doc.(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	for _, name := range sortedKeys(props) {
		sub, _ := props[name].(map[string]any)
		v, present := obj[name]
		if !isObj || !present {
			continue
		}
		if def, ok := sub["default"]; ok && pyEqual(v, def) {
			msgs = append(msgs, fmt.Sprintf("%q should be removed, it uses its default value", path+name))
		}
		msgs = append(msgs, defaultValued(sub, v, path+name+".")...)
	}
	if items, ok := schema["items"].(map[string]any); ok {
		arr, _ := doc.([]any)
		for i, v := range arr {
			msgs = append(msgs, defaultValued(items, v, fmt.Sprintf("%s%d.", path, i))...)
		}
	}
	return append(msgs, branchDefaults(schema, doc, path)...)
}

// branchDefaults applies defaultValued to anyOf/oneOf branches of the
// instance's JSON type: such a branch fails in the linter, so the messages
// count only when every candidate branch has some.
func branchDefaults(schema map[string]any, doc any, path string) []string {
	var branches []any
	for _, k := range []string{"anyOf", "oneOf"} {
		b, _ := schema[k].([]any)
		branches = append(branches, b...)
	}
	var msgs []string
	for _, b := range branches {
		b, _ := b.(map[string]any)
		if typ, ok := b["type"].(string); ok && typ != jsonType(doc) {
			continue
		}
		m := defaultValued(b, doc, path)
		if len(m) == 0 {
			return nil
		}
		msgs = append(msgs, m...)
	}
	return msgs
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// pyEqual is Python's == on JSON values, which lint.py uses: numbers compare
// by value and booleans equal 0 and 1.
func pyEqual(a, b any) bool {
	if x, ok := pyNumber(a); ok {
		y, ok := pyNumber(b)
		return ok && x == y
	}
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !pyEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, pyEqual)
	}
	return a == b
}

func pyNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// optionNames returns the /data/options.json keys of addonOptions, read from
// its json tags.
func optionNames(t *testing.T) []string {
	t.Helper()
	var names []string
	typ := reflect.TypeFor[addonOptions]()
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			t.Errorf("addonOptions.%s has no json tag", f.Name)
			continue
		}
		names = append(names, name)
	}
	return names
}

// docsOptionHeading matches a DOCS.md option section, "### Option: `key`".
var docsOptionHeading = regexp.MustCompile("^### Option: `([^`]+)`\\s*$")

func docsOptionNames(t *testing.T) []string {
	t.Helper()
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(readRepoFile(t, "DOCS.md")))
	for sc.Scan() {
		if m := docsOptionHeading.FindStringSubmatch(sc.Text()); m != nil {
			names = append(names, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading DOCS.md: %v", err)
	}
	return names
}

// translationFiles returns translations/*.yaml by file name.
func translationFiles(t *testing.T) map[string]translation {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "translations", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]translation)
	for _, p := range paths {
		var tr translation
		decodeYAML(t, filepath.ToSlash(filepath.Join("translations", filepath.Base(p))), &tr)
		files[filepath.Base(p)] = tr
	}
	for _, want := range []string{"en.yaml", "fr.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("translations/%s is missing", want)
		}
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// sameSet reports whether got lists exactly the names in want, with a diff
// and duplicates in the message otherwise.
func sameSet(t *testing.T, what string, want, got []string) {
	t.Helper()
	g := slices.Clone(got)
	slices.Sort(g)
	for i := 1; i < len(g); i++ {
		if g[i] == g[i-1] {
			t.Errorf("%s lists %q twice", what, g[i])
		}
	}
	g = slices.Compact(g)
	w := slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s is out of step with addonOptions (-want +got):\n%s", what, diff)
	}
}

// TestOptionsInSync keeps the four homes of every add-on option in step (see
// STYLE.md rule 12): the Go options struct, the config.yaml schema (and
// defaults), each translation, and a DOCS.md "### Option:" section.
func TestOptionsInSync(t *testing.T) {
	want := optionNames(t)
	cfg := loadConfig(t)
	sameSet(t, "config.yaml schema", want, sortedKeys(cfg.Schema))
	for _, k := range sortedKeys(cfg.Options) {
		if _, ok := cfg.Schema[k]; !ok {
			t.Errorf("config.yaml options has %q, which the schema lacks", k)
		}
	}
	for name, tr := range translationFiles(t) {
		sameSet(t, "translations/"+name+" configuration", want, sortedKeys(tr.Configuration))
		for k, c := range tr.Configuration {
			if strings.TrimSpace(c.Name) == "" || strings.TrimSpace(c.Description) == "" {
				t.Errorf("translations/%s: %s needs a name and a description", name, k)
			}
		}
		if diff := cmp.Diff(sortedKeys(cfg.Ports), sortedKeys(tr.Network)); diff != "" {
			t.Errorf("translations/%s network is out of step with config.yaml ports (-want +got):\n%s", name, diff)
		}
	}
	sameSet(t, "DOCS.md \"### Option:\" sections", want, docsOptionNames(t))
	if diff := cmp.Diff(sortedKeys(cfg.Ports), sortedKeys(cfg.PortsDescription)); diff != "" {
		t.Errorf("config.yaml ports_description is out of step with ports (-want +got):\n%s", diff)
	}
}

// TestOptionTypes checks config.yaml's schema against the Go options struct,
// and that its defaults, as the Supervisor writes them to /data/options.json,
// decode into addonOptions and satisfy the schema.
func TestOptionTypes(t *testing.T) {
	cfg := loadConfig(t)
	for f := range reflect.TypeFor[addonOptions]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if s, ok := cfg.Schema[name]; ok && goKind(f.Type) != schemaKind(s) {
			t.Errorf("addonOptions.%s is a %s but config.yaml schema.%s is %v", f.Name, f.Type, name, s)
		}
	}
	b, err := json.Marshal(cfg.Options)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(new(addonOptions)); err != nil {
		t.Errorf("config.yaml options do not decode into addonOptions: %v\n%s", err, b)
	}
	for _, k := range sortedKeys(cfg.Schema) {
		v, ok := cfg.Options[k]
		if !ok && !optionalOption(cfg.Schema[k]) {
			// The Supervisor refuses to start the add-on ("Missing option").
			t.Errorf("config.yaml schema.%s is required but has no default in options", k)
		}
		if err := checkOptionValue(cfg.Schema[k], v); ok && err != nil {
			t.Errorf("config.yaml options.%s: %v", k, err)
		}
	}
}

// optionalOption mirrors the Supervisor's test for options that may be
// missing: the type, or a list's element type, ends in "?".
func optionalOption(schema any) bool {
	if l, ok := schema.([]any); ok && len(l) > 0 {
		schema = l[0]
	}
	s, _ := schema.(string)
	return strings.HasSuffix(s, "?")
}

func schemaKind(schema any) string {
	if _, ok := schema.([]any); ok {
		return "list"
	}
	s, _ := schema.(string)
	m := optionType.FindStringSubmatch(s)
	switch {
	case m == nil:
		return "unknown"
	case m[1] == "bool":
		return "bool"
	case m[2] != "":
		return "int"
	}
	return "string"
}

func goKind(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "list"
	case reflect.Bool:
		return "bool"
	}
	return t.Kind().String()
}

// optionType matches the Supervisor option types this add-on uses: group 2
// is "int" with its optional range in groups 3 and 4, group 5 the choices
// of a list(...).
var optionType = regexp.MustCompile(`^(bool|str|password|(int)(?:\((-?\d+)?,(-?\d+)?\))?|list\(([^)]*)\))\??$`)

// checkOptionValue checks a default value against its Supervisor schema
// entry: a type string, or a one-element list of one for list options.
func checkOptionValue(schema, v any) error {
	if l, ok := schema.([]any); ok {
		vs, ok := v.([]any)
		if !ok || len(l) != 1 {
			return fmt.Errorf("want a list for schema %v, got %#v", schema, v)
		}
		for _, e := range vs {
			if err := checkOptionValue(l[0], e); err != nil {
				return err
			}
		}
		return nil
	}
	s, _ := schema.(string)
	m := optionType.FindStringSubmatch(s)
	switch {
	case m == nil:
		return fmt.Errorf("schema %q is not a type this test knows", s)
	case m[1] == "bool":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("want a bool, got %#v", v)
		}
	case m[2] != "":
		return checkIntOption(m[3], m[4], v)
	case m[5] != "":
		if str, _ := v.(string); !slices.Contains(strings.Split(m[5], "|"), str) {
			return fmt.Errorf("%#v is not one of %s", v, m[5])
		}
	default:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("want a string, got %#v", v)
		}
	}
	return nil
}

// checkIntOption checks a default against int(lo,hi); either bound may be
// empty.
func checkIntOption(lo, hi string, v any) error {
	n, ok := v.(int)
	if !ok {
		return fmt.Errorf("want a whole number, got %#v", v)
	}
	if lo != "" {
		if l, _ := strconv.Atoi(lo); n < l {
			return fmt.Errorf("%d is below the minimum %s", n, lo)
		}
	}
	if hi != "" {
		if h, _ := strconv.Atoi(hi); n > h {
			return fmt.Errorf("%d is above the maximum %s", n, hi)
		}
	}
	return nil
}

// TestConfirmServicesDefault keeps the add-on's default list equal to the
// one the tools use when nothing is configured (standalone), so that both
// ways of running ask for the same confirmations out of the box.
func TestConfirmServicesDefault(t *testing.T) {
	var cfg struct {
		Options struct {
			ConfirmServices []string `yaml:"confirm_services"`
		} `yaml:"options"`
	}
	decodeYAML(t, "config.yaml", &cfg)
	if diff := cmp.Diff(tools.DefaultConfirmServices, cfg.Options.ConfirmServices); diff != "" {
		t.Errorf("config.yaml options.confirm_services differs from tools.DefaultConfirmServices (-want +got):\n%s", diff)
	}
}

// TestConfigVersion keeps config.yaml's version equal to the binary's, which
// the Supervisor also passes to the image build as BUILD_VERSION.
func TestConfigVersion(t *testing.T) {
	if got := loadConfig(t).Version; got != version {
		t.Errorf("config.yaml version = %q; want main.version %q", got, version)
	}
}

// TestBuildFromMatches keeps build.yaml in step with config.yaml's arch list
// and with the Dockerfile's pinned BUILD_FROM default.
func TestBuildFromMatches(t *testing.T) {
	var build struct {
		BuildFrom map[string]string `yaml:"build_from"`
	}
	decodeYAML(t, "build.yaml", &build)
	if diff := cmp.Diff(slices.Sorted(slices.Values(loadConfig(t).Arch)), sortedKeys(build.BuildFrom)); diff != "" {
		t.Errorf("build.yaml build_from architectures differ from config.yaml arch (-want +got):\n%s", diff)
	}
	base := dockerfileBuildFrom(t)
	for arch, image := range build.BuildFrom {
		if image != base {
			t.Errorf("build.yaml build_from.%s = %q; want the Dockerfile default %q", arch, image, base)
		}
	}
}

// dockerfileBuildFrom returns the default of the global ARG BUILD_FROM.
func dockerfileBuildFrom(t *testing.T) string {
	t.Helper()
	for _, ins := range dockerfileInstructions(string(readRepoFile(t, "Dockerfile"))) {
		if strings.HasPrefix(ins, "FROM ") {
			break // later ARGs are not global
		}
		if v, ok := strings.CutPrefix(ins, "ARG BUILD_FROM="); ok {
			return v
		}
	}
	t.Fatal("Dockerfile: no global ARG BUILD_FROM=<image> before the first FROM")
	return ""
}

// dockerfileInstructions joins continuation lines and drops comments and
// blank lines, giving one string per instruction. CRLF and a lone CR end a
// line like LF, so that no instruction keeps a carriage return.
func dockerfileInstructions(src string) []string {
	var out []string
	var cur strings.Builder
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	for line := range strings.Lines(src) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		body, cont := strings.CutSuffix(line, "\\")
		cur.WriteString(strings.TrimSpace(body))
		if cont {
			cur.WriteByte(' ')
			continue
		}
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func FuzzDockerfileInstructions(f *testing.F) {
	f.Add("FROM a\nRUN x \\\n  y\n# c\n")
	f.Add("ARG A=1 \\")
	f.Add("\\\n\\\n")
	f.Fuzz(func(t *testing.T, src string) {
		for _, ins := range dockerfileInstructions(src) {
			if ins == "" || strings.ContainsAny(ins, "\n\r") || strings.HasPrefix(ins, "#") {
				t.Errorf("bad instruction %q", ins)
			}
		}
	})
}

// TestDockerfile checks the lines the add-on build depends on; no Docker
// engine is needed, so this is what CI can check of the image.
func TestDockerfile(t *testing.T) {
	ins := dockerfileInstructions(string(readRepoFile(t, "Dockerfile")))
	base := dockerfileBuildFrom(t)
	if !regexp.MustCompile(`^ghcr\.io/home-assistant/[\w.-]+:\d[\w.-]*$`).MatchString(base) {
		t.Errorf("ARG BUILD_FROM=%s: want a pinned ghcr.io/home-assistant base image tag", base)
	}
	var froms []string
	for _, s := range ins {
		if strings.HasPrefix(s, "FROM ") {
			froms = append(froms, s)
		}
	}
	if len(froms) == 0 || !slices.Contains([]string{"FROM ${BUILD_FROM}", "FROM $BUILD_FROM"}, froms[len(froms)-1]) {
		t.Errorf("the final stage must be FROM ${BUILD_FROM}; FROM lines: %q", froms)
	}
	goMinor := goModMinor(t)
	wantBuilder := "FROM --platform=$BUILDPLATFORM golang:" + goMinor + "-alpine AS build"
	if !slices.Contains(froms, wantBuilder) {
		t.Errorf("want the build stage %q (go.mod says go %s); FROM lines: %q", wantBuilder, goMinor, froms)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^COPY go\.mod go\.sum \./$`),
		regexp.MustCompile(`^RUN go mod download$`),
		regexp.MustCompile(`^RUN .*CGO_ENABLED=0 GOOS=linux GOARCH=\$TARGETARCH go build -trimpath .*-X main\.version=\$\{BUILD_VERSION\}.* -o /out/mcp_bridge_addon \./mcp_bridge_addon$`),
		regexp.MustCompile(`^COPY rootfs /$`),
		regexp.MustCompile(`^COPY --from=build /out/mcp_bridge_addon /usr/bin/mcp_bridge_addon$`),
		regexp.MustCompile(`^HEALTHCHECK .*CMD \["/usr/bin/mcp_bridge_addon", "healthcheck"\]$`),
		regexp.MustCompile(`^EXPOSE (.* )?3003( .*)?$`),
		regexp.MustCompile(`^LABEL .*io\.hass\.name=.*io\.hass\.description=.*io\.hass\.arch="\$\{BUILD_ARCH\}".*io\.hass\.type="addon".*io\.hass\.version="\$\{BUILD_VERSION\}"`),
		regexp.MustCompile(`^ARG BUILD_ARCH$`),
	} {
		if !slices.ContainsFunc(ins, want.MatchString) {
			t.Errorf("Dockerfile has no instruction matching %s", want)
		}
	}
}

// goModMinor returns the "1.26" of go.mod's "go 1.26.0" line.
func goModMinor(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(readRepoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// TestS6Service checks the s6-overlay v3 service that runs the bridge.
func TestS6Service(t *testing.T) {
	run := string(readRepoFile(t, "rootfs/etc/s6-overlay/s6-rc.d/mcp-bridge/run"))
	if !strings.HasPrefix(run, "#!/command/with-contenv bashio\n") {
		t.Errorf("run must start with #!/command/with-contenv bashio; starts with %q", firstLine(run))
	}
	if last := lastNonEmptyLine(run); !strings.HasPrefix(last, "exec /usr/bin/mcp_bridge_addon serve") {
		t.Errorf("run must end by exec-ing the bridge; its last line is %q", last)
	}
	finish := string(readRepoFile(t, "rootfs/etc/s6-overlay/s6-rc.d/mcp-bridge/finish"))
	if !strings.HasPrefix(finish, "#!/command/with-contenv bashio\n") ||
		!strings.Contains(finish, "/run/s6-linux-init-container-results/exitcode") {
		t.Error("finish must be a bashio script that writes the exit code to /run/s6-linux-init-container-results/exitcode")
	}
	if got := strings.TrimSpace(string(readRepoFile(t, "rootfs/etc/s6-overlay/s6-rc.d/mcp-bridge/type"))); got != "longrun" {
		t.Errorf("type = %q; want longrun", got)
	}
	for _, p := range []string{"mcp-bridge/dependencies.d/base", "user/contents.d/mcp-bridge"} {
		if _, err := os.Stat(filepath.Join(s6Dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("s6 service is not wired in: %v", err)
		}
	}
	for _, p := range []string{"rootfs/etc/s6-overlay/s6-rc.d/mcp-bridge/run", "rootfs/etc/s6-overlay/s6-rc.d/mcp-bridge/finish", ".ci/run"} {
		checkExecutable(t, p)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func lastNonEmptyLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// checkExecutable requires mode 100755 in the git index when git knows the
// file (what a clone checks out), and an executable bit on disk otherwise.
func checkExecutable(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "--stage", "--", name).Output()
	if mode, _, _ := strings.Cut(string(out), " "); err == nil && mode != "" {
		if mode != "100755" {
			t.Errorf("%s has git mode %s; want 100755 (git add --chmod=+x %s)", name, mode, name)
		}
		return
	}
	fi, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s is not executable (mode %v)", name, fi.Mode())
	}
}

// TestOneAddonInRepository guards the Supervisor's store scan, which treats
// every config.{json,yaml,yml} outside dot-directories as an add-on, and
// reads only one build file.
func TestOneAddonInRepository(t *testing.T) {
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != repoRoot && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		switch strings.ToLower(d.Name()) {
		case "config.yaml", "config.yml", "config.json":
			if rel, _ := filepath.Rel(repoRoot, path); rel != "config.yaml" {
				t.Errorf("%s would be read as a second add-on by the Supervisor; rename it", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"build.yml", "build.json", "config.yml", "config.json", ".github/workflows/build.yaml"} {
		if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(name))); err == nil {
			t.Errorf("%s must not exist", name)
		}
	}
}

// TestCIRunsReadmeTestCommand keeps .ci/run and the README's test command the
// same, so a green CI means the documented command passes.
func TestCIRunsReadmeTestCommand(t *testing.T) {
	const testCmd = "go test -race -count=1 ./..."
	if readme := string(readRepoFile(t, "README.md")); !strings.Contains(readme, testCmd) {
		t.Errorf("README.md does not show the test command %q", testCmd)
	}
	run := string(readRepoFile(t, ".ci/run"))
	if !strings.HasPrefix(run, "#!/usr/bin/env bash\n") || !strings.Contains(run, "set -euo pipefail") {
		t.Error(".ci/run must be a bash script with set -euo pipefail")
	}
	if !slices.Contains(strings.Split(run, "\n"), testCmd) {
		t.Errorf(".ci/run has no line running the README test command %q", testCmd)
	}
}

// TestReadmeForTheStore checks what the add-on store's Info tab needs of
// README.md: it renders the page outside the repository, so images and links
// must be absolute, and the developer material lives in DEVELOPING.md.
func TestReadmeForTheStore(t *testing.T) {
	readme := string(readRepoFile(t, "README.md"))
	for _, m := range regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)|<img[^>]+src="([^"]+)"`).FindAllStringSubmatch(readme, -1) {
		url := m[1] + m[2]
		if !strings.HasPrefix(url, "https://") {
			t.Errorf("README.md image %q is not an absolute https URL", url)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\[[^\]]+\]:\s*(\S+)|\]\(([^)#][^)]*)\)`).FindAllStringSubmatch(readme, -1) {
		url := m[1] + m[2]
		if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
			t.Errorf("README.md link %q is relative; the store shows README outside the repository", url)
		}
	}
	if !strings.Contains(readme, "go run ./mcp_bridge_addon serve --demo") {
		t.Error("README.md does not show the command that runs the bridge")
	}
	if !strings.Contains(readme, "DEVELOPING.md") {
		t.Error("README.md does not link the developer document")
	}
	dev := string(readRepoFile(t, "DEVELOPING.md"))
	for _, heading := range []string{"## Develop", "## Architecture", "## Performance"} {
		if !strings.Contains(dev, "\n"+heading+"\n") {
			t.Errorf("DEVELOPING.md has no %q section", heading)
		}
	}
}

// TestMinimumHomeAssistant checks that config.yaml's homeassistant: is the
// oldest Home Assistant whose API the tools use, and that DOCS.md says so.
func TestMinimumHomeAssistant(t *testing.T) {
	var manifest struct {
		HomeAssistant string `yaml:"homeassistant"`
	}
	decodeYAML(t, "config.yaml", &manifest)
	if manifest.HomeAssistant != tools.MinHomeAssistant {
		t.Errorf("config.yaml homeassistant: %q, want %q (tools.MinHomeAssistant)", manifest.HomeAssistant, tools.MinHomeAssistant)
	}
	short := strings.TrimSuffix(tools.MinHomeAssistant, ".0") // 2024.4
	if !strings.Contains(string(readRepoFile(t, "DOCS.md")), "Home Assistant "+short+" or later") {
		t.Errorf("DOCS.md does not say it needs Home Assistant %s or later", short)
	}
}

// TestAppArmorProfile checks that apparmor.txt parses with the real
// AppArmor parser (Debian's apparmor package; -Q parses without loading it
// into a kernel) and keeps the bridge in a profile of its own.
func TestAppArmorProfile(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		parser = "/usr/sbin/apparmor_parser"
		if _, err := os.Stat(parser); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("apparmor_parser not found (CI is set): install Debian's apparmor package")
			}
			t.Skip("apparmor_parser not found: install Debian's apparmor package to check apparmor.txt")
		}
	}
	out, err := exec.Command(parser, "-Q", "-K", filepath.Join(repoRoot, "apparmor.txt")).CombinedOutput()
	if err != nil {
		t.Fatalf("apparmor_parser refuses apparmor.txt: %v\n%s", err, out)
	}
	profile, err := os.ReadFile(filepath.Join(repoRoot, "apparmor.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"profile mcp_bridge flags=",                        // the Supervisor loads it under the slug
		"/usr/bin/mcp_bridge_addon cx -> mcp_bridge_addon", // the bridge runs confined
		"/usr/bin/mcp_bridge_addon mrix",                   // its MCP server processes are itself
	} {
		if !strings.Contains(string(profile), want) {
			t.Errorf("apparmor.txt lacks %q", want)
		}
	}
}
