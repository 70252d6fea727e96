package deployments_test

// The alarms and the dashboard on the worker's embedded-format metrics, where
// the alarms send their notifications, and the example's alarm topic, which
// CloudWatch must be able to publish to.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// workerMetrics is the worker's side of the contract: the metrics it writes
// in CloudWatch embedded metric format to WORKER_METRICS_NAMESPACE, with the
// dimension sets of each. A metric read with other dimensions than the worker
// writes never gets data, so alarms and dashboard must use exactly one of
// these. IngestionBlocked is also written without dimensions (its documents
// declare [["Reason"], []]): the total over every Reason.
var workerMetrics = map[string][][]string{
	"GenesysRequests":             {{"Endpoint", "StatusClass"}},
	"GenesysRateLimited":          {nil},
	"GenesysRetryAfter":           {nil},
	"GenesysTokenRenewals":        {nil},
	"GenesysResponseTime":         {{"Endpoint"}},
	"GenesysBudgetUse":            {nil},
	"ConversationsProcessed":      {{"Outcome"}},
	"Freshness":                   {nil},
	"IngestionBlocked":            {{"Reason"}, nil},
	"ConversationsRecordedFailed": {nil},
	"FetchSchedulerStalled":       {nil},
}

// writtenWith: the worker writes a metric with dimension sets sets, one of
// which is dims.
func writtenWith(sets [][]string, dims []string) bool {
	return slices.ContainsFunc(sets, func(set []string) bool { return sameSet(dims, set) })
}

// conversationOutcomes are the values of ConversationsProcessed's Outcome.
var conversationOutcomes = []string{"complete", "unchanged", "incomplete", "failed", "not_ready"}

// metricsInsightsSchema reads SELECT <fn>(<metric>) FROM SCHEMA("<ns>", <dims>).
var metricsInsightsSchema = regexp.MustCompile(`^SELECT [A-Z]+\(([A-Za-z]+)\) FROM SCHEMA\("([^"]+)"((?:, *[A-Za-z]+)*)\)$`)

// checkWorkerMetricReads: every alarm reading the worker's namespace reads
// a metric of the contract with its exact dimensions, by metric_name or by
// a Metrics Insights query.
func checkWorkerMetricReads(e *evaluator, contract map[string][][]string) []finding {
	ns, ok := knownString(e.ctx.Variables["local"].GetAttr("metrics_namespace"))
	if !ok {
		return []finding{findingf(moduleRange(e.m), "local.metrics_namespace cannot be evaluated")}
	}
	var out []finding
	read := func(rng hcl.Range, who, metric string, dims []string) {
		want, known := contract[metric]
		switch {
		case !known:
			out = append(out, findingf(rng, "%s reads %s, which the worker does not write to %s", who, metric, ns))
		case !writtenWith(want, dims):
			out = append(out, findingf(rng, "%s reads %s with dimensions %v; the worker writes it with %v", who, metric, dims, want))
		}
	}
	for _, al := range e.m.resources("aws_cloudwatch_metric_alarm") {
		if v, a, ok := e.attr(al.body(), "namespace"); ok && isString(v, ns) {
			name, _, _ := e.attr(al.body(), "metric_name")
			dims, _, _ := e.attr(al.body(), "dimensions")
			keys, _ := keysOf(dims)
			metric, _ := knownString(name)
			read(a.SrcRange, al.addr(), metric, keys)
		}
		for _, mq := range nestedBlocks(al.body(), "metric_query") {
			v, a, ok := e.attr(mq.Body, "expression")
			expr, known := knownString(v)
			if !ok || !known || !strings.HasPrefix(expr, "SELECT ") {
				continue
			}
			match := metricsInsightsSchema.FindStringSubmatch(expr)
			if match == nil {
				out = append(out, findingf(a.SrcRange, "%s query %q is not SELECT FN(metric) FROM SCHEMA(\"namespace\", dimensions...)", al.addr(), expr))
				continue
			}
			if match[2] != ns {
				continue
			}
			var dims []string
			for _, d := range strings.Split(match[3], ",") {
				if d = strings.TrimSpace(d); d != "" {
					dims = append(dims, d)
				}
			}
			read(a.SrcRange, al.addr(), match[1], dims)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestWorkerMetricsNamespace: the worker writes its metrics where the
// alarms and the dashboard read them.
func TestWorkerMetricsNamespace(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	for _, ns := range []string{"GenesysIngest", "Acme/GenesysIngest-prod"} {
		e := m.evaluate(t, with(requiredInputs(), "worker_metrics_namespace", cty.StringVal(ns)))
		reportFindings(t, "validations", checkConditions(e))
		containers, fs := containerDefinitions(e)
		reportFindings(t, "container definitions", fs)
		env, _ := containerEnvironment(containers[0])
		var got cty.Value
		for _, en := range env {
			if en.name == "WORKER_METRICS_NAMESPACE" {
				got = en.value
			}
		}
		if !isString(got, ns) {
			t.Errorf("WORKER_METRICS_NAMESPACE = %s, want %q", show(got), ns)
		}
		reportFindings(t, "worker metrics ("+ns+")", checkWorkerMetricReads(e, workerMetrics))
	}
	if got, _ := knownString(m.evaluate(t, requiredInputs()).ctx.Variables["var"].GetAttr("worker_metrics_namespace")); got != "GenesysIngest" {
		t.Errorf("worker_metrics_namespace defaults to %q, want GenesysIngest", got)
	}
	assertFinding(t, checkConditions(m.evaluate(t, with(requiredInputs(), "worker_metrics_namespace", cty.StringVal("AWS/Lambda")))),
		"validation of var.worker_metrics_namespace fails")

	// The check fails on a metric the worker does not write, or with other
	// dimensions.
	bad := loadModuleSource(t, `
locals {
  metrics_namespace = "N"
}
resource "aws_cloudwatch_metric_alarm" "a" {
  namespace   = local.metrics_namespace
  metric_name = "ConversationsProcessed"
}
resource "aws_cloudwatch_metric_alarm" "b" {
  metric_query {
    id         = "q"
    expression = "SELECT SUM(ConversationsProcessed) FROM SCHEMA(\"N\", Reason)"
  }
}`)
	fs := checkWorkerMetricReads(bad.evaluate(t, nil), workerMetrics)
	assertFinding(t, fs, "inline.tf:6: aws_cloudwatch_metric_alarm.a reads ConversationsProcessed with dimensions []; the worker writes it with [[Outcome]]")
	assertFinding(t, fs, "inline.tf:12: aws_cloudwatch_metric_alarm.b reads ConversationsProcessed with dimensions [Reason]; the worker writes it with [[Outcome]]")

	// IngestionBlocked is read by Reason or as the total without
	// dimensions, not with others.
	ok := loadModuleSource(t, `
locals {
  metrics_namespace = "N"
}
resource "aws_cloudwatch_metric_alarm" "total" {
  namespace   = local.metrics_namespace
  metric_name = "IngestionBlocked"
}
resource "aws_cloudwatch_metric_alarm" "reason" {
  namespace   = local.metrics_namespace
  metric_name = "IngestionBlocked"
  dimensions  = { Reason = "StoreUnavailable" }
}
resource "aws_cloudwatch_metric_alarm" "outcome" {
  namespace   = local.metrics_namespace
  metric_name = "IngestionBlocked"
  dimensions  = { Outcome = "failed" }
}`)
	fs = checkWorkerMetricReads(ok.evaluate(t, nil), workerMetrics)
	if len(fs) != 1 {
		t.Errorf("findings %v, want only the one on aws_cloudwatch_metric_alarm.outcome", fs)
	}
	assertFinding(t, fs, "aws_cloudwatch_metric_alarm.outcome reads IngestionBlocked with dimensions [Outcome]; the worker writes it with [[Reason] []]")
}

// TestWorkerMetricAlarms: each alarm on the worker's metrics reads what it
// says, with the statistic, periods, threshold and missing-data treatment
// chosen for it.
func TestWorkerMetricAlarms(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	e := m.evaluate(t, with(requiredInputs(),
		"worker_metrics_namespace", cty.StringVal("Acme/Ingest"),
		"conversations_failed_alarm_threshold", cty.NumberIntVal(5),
		"rate_limited_alarm_threshold", cty.NumberIntVal(7),
		"freshness_p99_alarm_ms", cty.NumberIntVal(2500)))
	cases := []struct {
		alarm, metric, stat         string
		period, evaluations, points float64
		comparison                  string
		threshold                   float64
		missing                     string
	}{
		// Any failed item is worth a look; nothing written is no failure.
		{"conversations_recorded_failed", "ConversationsRecordedFailed", "Sum", 300, 1, 1, "GreaterThanThreshold", 5, "notBreaching"},
		// A batch found the scheduler stalled: once is enough.
		{"scheduler_stuck", "FetchSchedulerStalled", "Sum", 300, 1, 1, "GreaterThanThreshold", 0, "notBreaching"},
		// 429s that last 15 minutes, not a burst the Retry-After absorbs.
		{"genesys_rate_limited", "GenesysRateLimited", "Sum", 300, 3, 3, "GreaterThanThreshold", 7, "notBreaching"},
		// p99 above the goal for 15 minutes; nothing stored is no breach.
		{"freshness", "Freshness", "p99", 300, 3, 3, "GreaterThanThreshold", 2500, "notBreaching"},
	}
	for _, c := range cases {
		t.Run(c.alarm, func(t *testing.T) {
			al := m.find("resource", "aws_cloudwatch_metric_alarm", c.alarm)
			if al == nil {
				t.Fatalf("no aws_cloudwatch_metric_alarm.%s", c.alarm)
			}
			str := func(name string) string { v, _, _ := e.attr(al.body(), name); s, _ := knownString(v); return s }
			num := func(name string, def float64) float64 {
				n, _, ok := numberAttr(e, al, name, def)
				if !ok {
					t.Fatalf("%s.%s cannot be evaluated", al.addr(), name)
				}
				return n
			}
			if got := str("namespace"); got != "Acme/Ingest" {
				t.Errorf("namespace = %q, want var.worker_metrics_namespace", got)
			}
			if got := str("metric_name"); got != c.metric {
				t.Errorf("metric_name = %q, want %q", got, c.metric)
			}
			stat := str("statistic")
			if strings.HasPrefix(c.stat, "p") {
				stat = str("extended_statistic")
			}
			if stat != c.stat {
				t.Errorf("statistic = %q, want %q", stat, c.stat)
			}
			evals := num("evaluation_periods", -1)
			got := []float64{num("period", -1), evals, num("datapoints_to_alarm", evals), num("threshold", -1)}
			if want := []float64{c.period, c.evaluations, c.points, c.threshold}; !slices.Equal(got, want) {
				t.Errorf("period, evaluation periods, datapoints, threshold = %v, want %v", got, want)
			}
			if got := str("comparison_operator"); got != c.comparison {
				t.Errorf("comparison_operator = %q, want %q", got, c.comparison)
			}
			if got := str("treat_missing_data"); got != c.missing {
				t.Errorf("treat_missing_data = %q, want %q", got, c.missing)
			}
		})
	}
	// Defaults: the freshness goal of the benchmark.
	vars := m.evaluate(t, requiredInputs()).ctx.Variables["var"]
	if n, _ := knownNumber(vars.GetAttr("freshness_p99_alarm_ms")); n != 900000 {
		t.Errorf("freshness_p99_alarm_ms defaults to %g, want 900000 (15 minutes, above Genesys's readiness lag)", n)
	}
}

// TestIngestionBlockedAlarm: the alarm reads IngestionBlocked without
// dimensions, the total over every Reason that the worker's documents
// declare beside the per-reason metric, and fires only after a count in
// every period for ingestion_blocked_alarm_minutes, with periods long enough
// that a chunk retrying at its longest backoff counts in each, within the
// 1 day over which CloudWatch evaluates an alarm.
func TestIngestionBlockedAlarm(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	al := m.find("resource", "aws_cloudwatch_metric_alarm", "ingestion_blocked")
	if al == nil {
		t.Fatal("no aws_cloudwatch_metric_alarm.ingestion_blocked")
	}
	if queries := nestedBlocks(al.body(), "metric_query"); len(queries) != 0 {
		t.Errorf("%s has %d metric_query blocks, want a plain metric alarm on the total", al.addr(), len(queries))
	}
	num := func(e *evaluator, body *hclsyntax.Body, name string) float64 {
		t.Helper()
		v, _, _ := e.attr(body, name)
		n, ok := knownNumber(v)
		if !ok {
			t.Fatalf("%s %s cannot be evaluated", al.addr(), name)
		}
		return n
	}

	e := m.evaluate(t, with(requiredInputs(), "worker_metrics_namespace", cty.StringVal("Acme/Ingest")))
	for name, want := range map[string]string{
		"namespace":           "Acme/Ingest",
		"metric_name":         "IngestionBlocked",
		"statistic":           "Sum",
		"comparison_operator": "GreaterThanOrEqualToThreshold",
		"treat_missing_data":  "notBreaching",
	} {
		if v, _, _ := e.attr(al.body(), name); !isString(v, want) {
			t.Errorf("%s = %s, want %q", name, show(v), want)
		}
	}
	if v, _, ok := e.attr(al.body(), "dimensions"); ok {
		if keys, _ := keysOf(v); len(keys) != 0 {
			t.Errorf("dimensions = %s, want none: the total over every Reason", show(v))
		}
	}
	if n := num(e, al.body(), "threshold"); n != 1 {
		t.Errorf("threshold = %g, want 1", n)
	}

	cases := []struct {
		maxInterval         string
		minutes             int64
		period, evaluations float64
	}{
		{"2m", 15, 300, 3},   // the defaults
		{"2m", 7, 300, 2},    // rounded up to whole periods
		{"10m", 60, 1200, 3}, // twice the longest backoff
		{"30s", 180, 300, 36},
		{"2m", 1440, 300, 288}, // a day, the longest CloudWatch evaluates
		{"90m", 180, 10800, 1},
		{"90m", 1440, 10800, 8},
		{"5h", 15, 36000, 1},    // beyond the former 3 hours
		{"12h", 1440, 86400, 1}, // the longest backoff that still fits
	}
	for _, c := range cases {
		e := m.evaluate(t, with(requiredInputs(),
			"fetch_retry_max_interval", cty.StringVal(c.maxInterval),
			"ingestion_blocked_alarm_minutes", cty.NumberIntVal(c.minutes)))
		reportFindings(t, "conditions", checkConditions(e))
		period, evals := num(e, al.body(), "period"), num(e, al.body(), "evaluation_periods")
		if period != c.period || evals != c.evaluations {
			t.Errorf("max interval %s, %d minutes: period %gs x %g, want %gs x %g", c.maxInterval, c.minutes, period, evals, c.period, c.evaluations)
		}
		if d := num(e, al.body(), "datapoints_to_alarm"); d != evals {
			t.Errorf("datapoints_to_alarm = %g, want every one of the %g periods", d, evals)
		}
		if period*evals > 86400 || int(period)%60 != 0 {
			t.Errorf("evaluates %g x %gs: want at most 1 day, whole minutes", evals, period)
		}
		if period*evals < float64(c.minutes*60) && period*evals+period <= 86400 {
			t.Errorf("evaluates %g x %gs: want at least %d minutes", evals, period, c.minutes)
		}
		if period < 2*parseDuration(t, c.maxInterval).Seconds() {
			t.Errorf("period %gs is shorter than twice fetch_retry_max_interval %s: a blocked chunk may skip a period", period, c.maxInterval)
		}
	}

	// Beyond the limits, the plan fails.
	for _, c := range []struct {
		name string
		in   map[string]cty.Value
		want string
	}{
		{"a day and a minute", with(requiredInputs(), "ingestion_blocked_alarm_minutes", cty.NumberIntVal(1441)),
			"validation of var.ingestion_blocked_alarm_minutes fails"},
		{"a period above a day", with(requiredInputs(), "fetch_retry_max_interval", cty.StringVal("12h1m")),
			"precondition of aws_cloudwatch_metric_alarm.ingestion_blocked fails: fetch_retry_max_interval must be at most 12h"},
	} {
		assertFinding(t, checkConditions(m.evaluate(t, c.in)), c.want)
	}
}

// TestOnlyWorkflowFailuresAreLogMetrics: what the worker writes as metrics
// is not counted again from its log lines; the one log metric left is the
// workflow failures.
func TestOnlyWorkflowFailuresAreLogMetrics(t *testing.T) {
	var got, want []string
	for _, f := range moduleLogFilters(t) {
		got = append(got, f.message)
	}
	for _, la := range workerLogAlarms {
		want = append(want, la.message)
	}
	if !sameSet(got, want) {
		t.Errorf("log metric filters count %q, want only %q", got, want)
	}
}

// TestAlarmsNotifyTheTopic: every alarm notifies the alarm topic when it
// fires and when it recovers, has a unique name under var.name, and says
// how it treats missing data.
func TestAlarmsNotifyTheTopic(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	const topic = "arn:aws:sns:eu-west-1:123456789012:genesys-ingest-alarms"
	e := m.evaluate(t, with(requiredInputs(), "name", cty.StringVal("acme"), "alarm_sns_topic_arn", cty.StringVal(topic)))
	names := map[string]string{}
	alarms := m.resources("aws_cloudwatch_metric_alarm")
	for _, al := range alarms {
		for _, a := range []string{"alarm_actions", "ok_actions"} {
			v, _, _ := e.attr(al.body(), a)
			if els, ok := elements(v); !ok || len(els) != 1 || !isString(els[0], topic) {
				t.Errorf("%s %s = %s, want [var.alarm_sns_topic_arn]", al.addr(), a, show(v))
			}
		}
		if _, _, ok := e.attr(al.body(), "treat_missing_data"); !ok {
			t.Errorf("%s has no treat_missing_data: say what no data means for it", al.addr())
		}
		v, _, _ := e.attr(al.body(), "alarm_name")
		name, _ := knownString(v)
		if !strings.HasPrefix(name, "acme-") {
			t.Errorf("%s alarm_name %q does not start with var.name", al.addr(), name)
		}
		if other, dup := names[name]; dup {
			t.Errorf("%s and %s are both named %q", al.addr(), other, name)
		}
		names[name] = al.addr()
	}
	// The ones the issue asks for, by what they watch.
	for _, want := range []string{
		"conversations_recorded_failed", "ingestion_blocked", "genesys_rate_limited", "freshness", "scheduler_stuck",
		"events_dlq", "delivery_dlq", "events_queue_age", "lambda_errors", "lambda_throttles",
	} {
		if m.find("resource", "aws_cloudwatch_metric_alarm", want) == nil {
			t.Errorf("no aws_cloudwatch_metric_alarm.%s", want)
		}
	}

	// Without a topic the alarms exist without actions.
	e = m.evaluate(t, requiredInputs())
	for _, al := range alarms {
		if v, _, _ := e.attr(al.body(), "alarm_actions"); !v.IsKnown() || v.LengthInt() != 0 {
			t.Errorf("%s alarm_actions = %s without alarm_sns_topic_arn, want []", al.addr(), show(v))
		}
	}
}

// TestDashboard: one page shows throughput and outcomes (by Outcome), the
// fleet's Genesys budget use against 100%, 429s, and freshness p50 and p99,
// all read as the worker writes them.
func TestDashboard(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	if got, _ := knownListOfStrings(m.evaluate(t, requiredInputs()).ctx.Variables["local"].GetAttr("conversation_outcomes")); !slices.Equal(got, conversationOutcomes) {
		t.Errorf("local.conversation_outcomes = %v, want %v", got, conversationOutcomes)
	}
	dashboards := m.resources("aws_cloudwatch_dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("want 1 aws_cloudwatch_dashboard, got %d", len(dashboards))
	}
	d := dashboards[0]
	e := m.evaluate(t, with(requiredInputs(), "worker_metrics_namespace", cty.StringVal("Acme/Ingest"), "freshness_p99_alarm_ms", cty.NumberIntVal(2500)))
	a := d.body().Attributes["dashboard_body"]
	call, ok := a.Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
		t.Fatalf("%s dashboard_body must be jsonencode({...})", d.addr())
	}
	body, diags := e.value(call.Args[0])
	if diags.HasErrors() {
		t.Fatalf("%s dashboard_body: %s", d.addr(), diags.Error())
	}
	widgets, _ := goValue(body).(map[string]any)["widgets"].([]any)
	if len(widgets) == 0 {
		t.Fatalf("%s has no widgets", d.addr())
	}

	// A period is the interval at which every task writes its metrics: a
	// Sum over the tasks (budget use) then counts each once.
	containers, _ := containerDefinitions(e)
	env, _ := containerEnvironment(containers[0])
	var interval float64
	for _, en := range env {
		if s, _ := knownString(en.value); en.name == "WORKER_EMF_INTERVAL" {
			interval = parseDuration(t, s).Seconds()
		}
	}

	type read struct{ metric, stat, dims string }
	reads := map[read]bool{}
	annotations := map[float64]bool{}
	for _, w := range widgets {
		props, _ := w.(map[string]any)["properties"].(map[string]any)
		if props["period"] != interval {
			t.Errorf("widget %q period = %v, want WORKER_EMF_INTERVAL (%gs)", props["title"], props["period"], interval)
		}
		defaultStat, _ := props["stat"].(string)
		ann, _ := props["annotations"].(map[string]any)
		hs, _ := ann["horizontal"].([]any)
		for _, h := range hs {
			if h, ok := h.(map[string]any); ok {
				if v, ok := h["value"].(float64); ok {
					annotations[v] = true
				}
			}
		}
		rows, _ := props["metrics"].([]any)
		for _, r := range rows {
			row, _ := r.([]any)
			if len(row) == 0 {
				continue
			}
			if _, expr := row[0].(map[string]any); expr {
				continue // a math expression over the rows
			}
			opts := map[string]any{}
			if o, ok := row[len(row)-1].(map[string]any); ok {
				opts, row = o, row[:len(row)-1]
			}
			if len(row) < 2 || len(row)%2 != 0 {
				t.Errorf("widget %q metric row %v is not [namespace, metric, dimension, value..., {options}]", props["title"], r)
				continue
			}
			if row[0] != "Acme/Ingest" {
				t.Errorf("widget %q reads namespace %v, want var.worker_metrics_namespace", props["title"], row[0])
				continue
			}
			metric := row[1].(string)
			var keys, dims []string
			for i := 2; i < len(row); i += 2 {
				keys = append(keys, row[i].(string))
				dims = append(dims, fmt.Sprintf("%v=%v", row[i], row[i+1]))
			}
			if want, known := workerMetrics[metric]; !known || !writtenWith(want, keys) {
				t.Errorf("widget %q reads %s with dimensions %v; the worker writes %v", props["title"], metric, keys, want)
			}
			stat, _ := opts["stat"].(string)
			if stat == "" {
				stat = defaultStat
			}
			reads[read{metric, stat, strings.Join(dims, ",")}] = true
		}
	}
	var want []read
	for _, o := range conversationOutcomes {
		want = append(want, read{"ConversationsProcessed", "Sum", "Outcome=" + o})
	}
	want = append(want,
		read{"GenesysBudgetUse", "Sum", ""}, // each task's share: the sum is the fleet's
		read{"GenesysRateLimited", "Sum", ""},
		read{"Freshness", "p50", ""},
		read{"Freshness", "p99", ""},
	)
	for _, r := range want {
		if !reads[r] {
			t.Errorf("the dashboard does not show %s (%s) %s", r.metric, r.stat, r.dims)
		}
	}
	for _, v := range []float64{100, 2500} {
		if !annotations[v] {
			t.Errorf("no horizontal annotation at %g (100%% budget, the freshness alarm)", v)
		}
	}
}

// TestExampleAlarmTopicEncryptedForCloudWatch: the example's alarm topic is
// encrypted with a customer managed key, rotated, whose policy lets
// CloudWatch use it to publish; the module's alarms notify that topic.
func TestExampleAlarmTopicEncryptedForCloudWatch(t *testing.T) {
	ex := loadModuleDir(t, exampleDir)
	e := ex.evaluate(t, map[string]cty.Value{
		"genesys_region":     cty.StringVal("mypurecloud.ie"),
		"temporal_address":   cty.StringVal("eu-west-1.aws.api.temporal.io:7233"),
		"temporal_namespace": cty.StringVal("genesys-ingest.a1b2c"),
		"vpc_id":             cty.StringVal("vpc-0123456789abcdef0"),
		"private_subnet_ids": cty.ListVal([]cty.Value{cty.StringVal("subnet-0123456789abcdef0")}),
		"worker_image":       cty.StringVal("123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:v1"),
	})
	call := ex.find("module", "", "genesys_ingest")
	topicRef := call.body().Attributes["alarm_sns_topic_arn"]
	if topicRef == nil || !referencesAttr(topicRef.Expr, "aws_sns_topic", "alarms", "arn") {
		t.Fatal("module.genesys_ingest alarm_sns_topic_arn must be aws_sns_topic.alarms.arn")
	}
	topic := ex.find("resource", "aws_sns_topic", "alarms")
	kmsAttr := topic.body().Attributes["kms_master_key_id"]
	keys := []string{}
	if kmsAttr != nil {
		keys = refs(kmsAttr.Expr, "aws_kms_key")
	}
	if len(keys) != 1 {
		t.Fatalf("%s kms_master_key_id must be an aws_kms_key of the example (a customer managed key), not the AWS managed alias/aws/sns, whose policy CloudWatch may not use", topic.addr())
	}
	key := ex.find("resource", "aws_kms_key", keys[0])
	if key == nil {
		t.Fatalf("aws_kms_key.%s is not declared", keys[0])
	}
	if v, _, _ := e.attr(key.body(), "enable_key_rotation"); !isTrue(v) {
		t.Errorf("%s enable_key_rotation must be true", key.addr())
	}
	pa := key.body().Attributes["policy"]
	var doc *tfBlock
	if pa != nil {
		for _, tr := range pa.Expr.Variables() {
			if len(tr) >= 3 && tr.RootName() == "data" {
				if n, ok := tr[2].(hcl.TraverseAttr); ok {
					doc = ex.find("data", "aws_iam_policy_document", n.Name)
				}
			}
		}
	}
	if doc == nil {
		t.Fatalf("%s policy must be data.aws_iam_policy_document.<name>.json", key.addr())
	}
	granted := map[string]bool{}
	for _, st := range e.expand(doc.body(), "statement") {
		if v, _, ok := e.attr(st.body, "effect"); ok && isString(v, "Deny") {
			continue
		}
		cloudwatch := false
		for _, p := range e.expand(st.body, "principals") {
			typ, _, _ := e.attr(p.body, "type")
			ids, _, _ := e.attr(p.body, "identifiers")
			cloudwatch = cloudwatch || (isString(typ, "Service") && containsString(ids, "cloudwatch.amazonaws.com"))
		}
		if !cloudwatch {
			continue
		}
		if len(e.expand(st.body, "condition")) > 0 {
			t.Errorf("%s: the CloudWatch statement has conditions; CloudWatch's publish to an encrypted topic carries none to rely on", doc.addr())
		}
		actions, _, _ := e.attr(st.body, "actions")
		for _, a := range []string{"kms:Decrypt", "kms:GenerateDataKey*"} {
			granted[a] = granted[a] || containsString(actions, a)
		}
	}
	for _, a := range []string{"kms:Decrypt", "kms:GenerateDataKey*"} {
		if !granted[a] {
			t.Errorf("%s does not allow cloudwatch.amazonaws.com %s: CloudWatch could not publish alarms to the topic", doc.addr(), a)
		}
	}
}

// goValue turns a cty value into JSON-like Go values (unknown parts nil).
func goValue(v cty.Value) any {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case ty == cty.Bool:
		return v.True()
	case ty.IsObjectType() || ty.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, el := it.Element()
			out[k.AsString()] = goValue(el)
		}
		return out
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		var out []any
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			out = append(out, goValue(el))
		}
		return out
	}
	return nil
}

// knownListOfStrings returns a known list of known strings.
func knownListOfStrings(v cty.Value) ([]string, bool) {
	els, ok := elements(v)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(els))
	for _, el := range els {
		s, known := knownString(el)
		if !known {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
