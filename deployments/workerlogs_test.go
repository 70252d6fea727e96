package deployments_test

// The worker alarms in alarms.tf count lines of the worker's JSON logs
// through CloudWatch Logs metric filters. These tests tie each filter to the
// code: the worker logs the filter's message, at a level worker_log_level
// lets through, with every field the filter reads; and the worker's logger
// writes the message and the fields under the JSON keys, and with the JSON
// types, the filter selects.

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	temporallog "go.temporal.io/sdk/log"
	"go.uber.org/zap/zapcore"

	"github.com/genesys-ingest/genesys-ingest/telemetry"
)

// workerSourceDirs hold the code that runs in the worker (activities and
// workflows), relative to deployments/.
var workerSourceDirs = []string{"../activities", "../workflows"}

// equalityPattern is the form of the module's log filter patterns:
// { $.<key> = "<message>" }.
var equalityPattern = regexp.MustCompile(`^\{ \$\.([A-Za-z0-9_]+) = "([^"\\]*)" \}$`)

// logFilter is one metric filter of the module, as the worker's log sees it.
type logFilter struct {
	addr    string
	key     string   // JSON key the pattern compares (msg)
	message string   // the value it must equal
	value   string   // metric_transformation value ("1" or "$.<field>")
	fields  []string // fields it reads: the value's and the dimensions'
}

// moduleLogFilters evaluates every metric filter of the module with the
// default inputs.
func moduleLogFilters(t *testing.T) []logFilter {
	t.Helper()
	m := loadModuleDir(t, moduleDir)
	e := m.evaluate(t, requiredInputs())
	var out []logFilter
	for _, f := range m.resources("aws_cloudwatch_log_metric_filter") {
		pv, a, _ := e.attr(f.body(), "pattern")
		pattern, ok := knownString(pv)
		if !ok {
			t.Fatalf("%s: pattern cannot be evaluated", f.addr())
		}
		match := equalityPattern.FindStringSubmatch(pattern)
		if match == nil {
			t.Errorf("%s:%d: %s pattern %q is not { $.msg = \"<message>\" }", a.SrcRange.Filename, a.SrcRange.Start.Line, f.addr(), pattern)
			continue
		}
		lf := logFilter{addr: f.addr(), key: match[1], message: match[2]}
		mt := nestedBlock(f.body(), "metric_transformation")
		if mt == nil {
			t.Errorf("%s has no metric_transformation", f.addr())
			continue
		}
		v, _, _ := e.attr(mt.Body, "value")
		lf.value, _ = knownString(v)
		selectors := []string{lf.value}
		if dims, _, ok := e.attr(mt.Body, "dimensions"); ok {
			keys, _ := keysOf(dims)
			for _, k := range keys {
				d, _ := attrOf(dims, k)
				s, _ := knownString(d)
				selectors = append(selectors, s)
			}
		}
		for _, s := range selectors {
			if field, ok := strings.CutPrefix(s, "$."); ok {
				lf.fields = append(lf.fields, field)
			}
		}
		out = append(out, lf)
	}
	return out
}

// logCall is a logger call with a literal message.
type logCall struct {
	pos   token.Position
	level string   // Debug, Info, Warn, Error
	keys  []string // literal keys of its key-value pairs
}

// workerLogCalls finds the calls X.Debug/Info/Warn/Error("<message>", k, v,
// ...) in the worker's code, by message.
func workerLogCalls(t *testing.T) map[string][]logCall {
	t.Helper()
	levels := map[string]bool{"Debug": true, "Info": true, "Warn": true, "Error": true}
	out := map[string][]logCall{}
	fset := token.NewFileSet()
	for _, dir := range workerSourceDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !levels[sel.Sel.Name] {
					return true
				}
				msg, ok := stringLiteral(call.Args[0])
				if !ok {
					return true
				}
				c := logCall{pos: fset.Position(call.Pos()), level: sel.Sel.Name}
				for i := 1; i < len(call.Args); i += 2 {
					if k, ok := stringLiteral(call.Args[i]); ok {
						c.keys = append(c.keys, k)
					}
				}
				out[msg] = append(out[msg], c)
				return true
			})
		}
	}
	return out
}

func stringLiteral(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// TestWorkerLogsWhatTheAlarmsCount: every message a metric filter of the
// module matches is logged by the worker, at warn or error (worker_log_level
// may be at most warn), with the fields the filter reads, and only there.
func TestWorkerLogsWhatTheAlarmsCount(t *testing.T) {
	filters := moduleLogFilters(t)
	calls := workerLogCalls(t)
	messages := map[string]bool{}
	for _, f := range filters {
		messages[f.message] = true
		found := calls[f.message]
		if len(found) == 0 {
			t.Errorf("%s counts %q lines, but no code in %v logs that message", f.addr, f.message, workerSourceDirs)
			continue
		}
		for _, c := range found {
			if c.level != "Warn" && c.level != "Error" {
				t.Errorf("%s: %q is logged at %s: worker_log_level warn would drop it, and %s would never count it", c.pos, f.message, c.level, f.addr)
			}
			for _, field := range f.fields {
				if !contains(c.keys, field) {
					t.Errorf("%s: %q is logged without the field %q that %s reads (keys %v)", c.pos, f.message, field, f.addr, c.keys)
				}
			}
		}
	}
	for _, la := range workerLogAlarms {
		if !messages[la.message] {
			t.Errorf("no metric filter counts the worker's %q lines", la.message)
		}
	}
}

// TestWorkerLogJSONMatchesFilters: the worker's logger (LOG_FORMAT=json,
// through the Temporal SDK's logger interface, as activities and workflows
// log) writes each alarmed line so that the filter's selectors find it: the
// message under the pattern's key, the fields at the top level, a summed
// field as a JSON number and a dimension as a string.
func TestWorkerLogJSONMatchesFilters(t *testing.T) {
	lines := captureWorkerLog(t, func(l temporallog.Logger) {
		// As activity.GetLogger adds the activity's tags.
		l = temporallog.With(l, "ActivityType", "FetchAndStoreConversations", "Attempt", 3)
		l.Error("workflow failed", "batchId", "b-1", "error", "boom")
	})
	byMessage := map[string]map[string]any{}
	for _, line := range lines {
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Fatalf("worker log line is not JSON: %q: %v", line, err)
		}
		if msg, ok := fields["msg"].(string); ok {
			byMessage[msg] = fields
		}
	}
	for _, f := range moduleLogFilters(t) {
		var line map[string]any
		for _, fields := range byMessage {
			if fields[f.key] == f.message {
				line = fields
			}
		}
		if line == nil {
			t.Errorf("%s selects $.%s = %q, but the worker's logger writes no such line: %v", f.addr, f.key, f.message, lines)
			continue
		}
		for _, field := range f.fields {
			v, ok := line[field]
			switch {
			case !ok:
				t.Errorf("%s reads $.%s, absent from the logged line %v", f.addr, field, line)
			case f.value == "$."+field:
				if _, num := v.(float64); !num {
					t.Errorf("%s sums $.%s, but the logger writes it as %T (%v), not a JSON number", f.addr, field, v, v)
				}
			default:
				if _, str := v.(string); !str {
					t.Errorf("%s uses $.%s as a dimension, but the logger writes it as %T, not a string", f.addr, field, v)
				}
			}
		}
	}
}

// captureWorkerLog builds the worker's JSON logger (telemetry.NewLogger
// writes to stderr, opened when it is built) on a file, logs through the
// Temporal adapter, and returns the lines.
func captureWorkerLog(t *testing.T, log func(temporallog.Logger)) []string {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "worker-log")
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = out
	logger, err := telemetry.NewLogger("json", zapcore.InfoLevel)
	os.Stderr = stderr
	if err != nil {
		t.Fatal(err)
	}
	log(telemetry.TemporalLogger(logger))
	_ = logger.Sync()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
