package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// fileConfig is the schema of the standalone YAML configuration file: the
// seed design's sections plus tools and home_assistant.
type fileConfig struct {
	HomeAssistant  fileHomeAssistant    `yaml:"home_assistant"`
	Bridge         BridgeConfig         `yaml:"bridge"`
	Tools          ToolsConfig          `yaml:"tools"`
	Queue          QueueConfig          `yaml:"queue"`
	SessionPool    SessionPoolConfig    `yaml:"session_pool"`
	Cache          CacheConfig          `yaml:"cache"`
	RateLimiting   RateLimitConfig      `yaml:"rate_limiting"`
	CircuitBreaker CircuitBreakerConfig `yaml:"circuit_breaker"`
	Logging        LoggingConfig        `yaml:"logging"`
	Monitoring     MonitoringConfig     `yaml:"monitoring"`
}

// fileHomeAssistant is home_assistant in the file: where Home Assistant is,
// as HASS_URL and HASS_TOKEN say it in the environment.
type fileHomeAssistant struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
}

// configFile is a parsed and checked YAML configuration file.
type configFile struct {
	name    string     // the path as the user gave it, for messages
	root    *yaml.Node // the top-level mapping, or nil for an empty file
	present []string   // key paths of the values the file sets
}

// maxYAMLNodes bounds the work of checking a file, aliases included: a real
// configuration has a few hundred nodes, an alias bomb has billions.
const maxYAMLNodes = 20000

// readConfigFile reads and checks the YAML file at path.
func readConfigFile(path string) (*configFile, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	return parseConfigFile(path, data)
}

// parseConfigFile checks every key and value of data against fileConfig and
// reports all problems, each with the key path, the file name and the line:
// `config.yaml: unknown key "queue.max_sise" (line 3)`.
func parseConfigFile(name string, data []byte) (*configFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	f := &configFile{name: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil // empty file
	}
	w := &walker{name: name, budget: maxYAMLNodes}
	w.walk(doc.Content[0], reflect.TypeFor[fileConfig](), "")
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}
	f.root, f.present = doc.Content[0], w.present
	return f, nil
}

// apply overlays the values the file sets onto c.
func (f *configFile) apply(c *Config) (ha fileHomeAssistant, err error) {
	if f.root == nil {
		return ha, nil
	}
	fc := fileConfig{
		Bridge: c.Bridge, Tools: c.Tools, Queue: c.Queue, SessionPool: c.SessionPool, Cache: c.Cache,
		RateLimiting: c.RateLimiting, CircuitBreaker: c.CircuitBreaker, Logging: c.Logging, Monitoring: c.Monitoring,
	}
	if err := f.root.Decode(&fc); err != nil {
		return ha, fmt.Errorf("%s: %w", f.name, err) // not expected: walk checked every value
	}
	c.Bridge, c.Tools, c.Queue, c.SessionPool, c.Cache = fc.Bridge, fc.Tools, fc.Queue, fc.SessionPool, fc.Cache
	c.RateLimiting, c.CircuitBreaker, c.Logging, c.Monitoring = fc.RateLimiting, fc.CircuitBreaker, fc.Logging, fc.Monitoring
	c.Logging.Level = normalizeLevel(c.Logging.Level)
	for _, key := range f.present {
		c.setOrigin(key, f.name+": "+key)
	}
	return fc.HomeAssistant, nil
}

// walker checks a YAML tree against a Go type, key by key.
type walker struct {
	name    string
	budget  int
	errs    []error
	present []string
}

func (w *walker) errorf(n *yaml.Node, format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf("%s: %s (line %d)", w.name, fmt.Sprintf(format, args...), n.Line))
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.errorf(n, "too many nodes (aliases included); at most %d", maxYAMLNodes)
		}
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if t.Kind() == reflect.Struct {
		w.walkMapping(n, t, path)
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.errorf(n, "%s: %s is not %s", path, describeNode(n), describeType(t))
		return
	}
	w.present = append(w.present, path)
}

func (w *walker) walkMapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "queue:" with nothing under it
	}
	if n.Kind != yaml.MappingNode {
		where := path
		if where == "" {
			where = "the top level"
		}
		w.errorf(n, "%s: %s is not a mapping of keys", where, describeNode(n))
		return
	}
	fields := yamlFields(t)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			w.walkMerge(v, t, path)
			continue
		}
		full := joinKey(path, k.Value)
		ft, ok := fields[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode || !ok:
			w.errorf(k, "unknown key %q", full)
		case seen[k.Value]:
			w.errorf(k, "key %q is set twice", full)
		default:
			seen[k.Value] = true
			w.walk(v, ft, full)
		}
	}
}

// walkMerge checks the value of a "<<" merge key: a mapping or a list of them.
func (w *walker) walkMerge(v *yaml.Node, t reflect.Type, path string) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind != yaml.SequenceNode {
		w.walk(v, t, path)
		return
	}
	for _, m := range v.Content {
		w.walk(m, t, path)
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the yaml names of struct type t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			m[name] = f.Type
		}
	}
	return m
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return shorten(n.Value)
}
