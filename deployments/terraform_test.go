package deployments_test

// Invariants of the Terraform under deployments/terraform, checked by parsing
// the HCL (the AWS provider cannot be downloaded here, so `terraform
// validate` and `plan` cannot run). Run with `go test ./deployments/`.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/genesys-ingest/genesys-ingest/activities"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
	"github.com/genesys-ingest/genesys-ingest/devstack"
	"github.com/genesys-ingest/genesys-ingest/starter/intake"
	"github.com/genesys-ingest/genesys-ingest/starter/sweep"
	"github.com/genesys-ingest/genesys-ingest/worker/backlog"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

const (
	moduleDir  = "terraform/modules/genesys-ingest"
	exampleDir = "terraform/examples/complete"
)

// requiredInputs are plausible values for the module's variables without a
// default (and for the partner event source).
func requiredInputs() map[string]cty.Value {
	return map[string]cty.Value{
		"lambda_zip_path":             cty.StringVal("/repo/dist/forwarder.zip"),
		"temporal_address":            cty.StringVal("eu-west-1.aws.api.temporal.io:7233"),
		"temporal_namespace":          cty.StringVal("genesys-ingest.a1b2c"),
		"genesys_region":              cty.StringVal("mypurecloud.ie"),
		"genesys_org_id":              cty.StringVal("0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
		"genesys_event_source_suffix": cty.StringVal("genesys-ingest"),
		"vpc_id":                      cty.StringVal("vpc-0123456789abcdef0"),
		"private_subnet_ids":          cty.ListVal([]cty.Value{cty.StringVal("subnet-0123456789abcdef0"), cty.StringVal("subnet-0fedcba9876543210")}),
		"worker_image":                cty.StringVal("123456789012.dkr.ecr.eu-west-1.amazonaws.com/genesys-ingest-worker:v1"),
	}
}

func with(base map[string]cty.Value, kv ...any) map[string]cty.Value {
	out := map[string]cty.Value{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1].(cty.Value)
	}
	return out
}

const (
	secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:existing-AbCdEf"
	// contactKeyARN is an existing secret holding the contact hash key.
	contactKeyARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:contact-hash-key-AbCdEf"
	kmsARN        = "arn:aws:kms:eu-west-1:123456789012:key/0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)

// storeTables are the module's DynamoDB tables (resource name) and the
// partition keys activities/store uses for them.
var storeTables = map[string]string{
	"conversations": store.PartitionKey,
	"batches":       store.BatchKey,
}

// workerPolicy is the policy document of the worker's task role.
const workerPolicy = "ecs_task"

// workerTableGrants are the DynamoDB calls the worker makes at run time, per
// table: activities/store reads stored items (BatchGetItem, GetItem) and
// writes conversations and failed items with PutItem; activities.Recorder
// puts batch records. The backfill reads statuses (BatchGetItem) and puts
// its report (PutItem on batches). CreateTable/DescribeTable serve
// -create-table on local stacks only; Scan, Query and UpdateItem only the
// starter CLI, with people's credentials (reader and operator policies).
var workerTableGrants = map[string][]string{
	"conversations": {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"},
	"batches":       {"dynamodb:PutItem"},
}

// workerLogAlarms are the worker's log lines the module alarms on. What
// else the worker counts reaches CloudWatch as embedded-format metrics
// (alarms_test.go).
var workerLogAlarms = []logAlarm{
	{message: "workflow failed", value: "1"},
}

// inputSets are the variable settings every module invariant must hold for.
func inputSets() []struct {
	name string
	vars map[string]cty.Value
} {
	req := requiredInputs()
	return []struct {
		name string
		vars map[string]cty.Value
	}{
		{"required inputs, defaults otherwise", req},
		{"forwarder in a VPC, VPC endpoints, event archive, log key", with(req,
			"lambda_vpc_config", lambdaVPCConfig(),
			"vpc_endpoints", cty.ObjectVal(map[string]cty.Value{"route_table_ids": cty.ListVal([]cty.Value{cty.StringVal("rtb-0123456789abcdef0")})}),
			"event_archive_retention_days", cty.NumberIntVal(30),
			"log_kms_key_arn", cty.StringVal(kmsARN),
			"store_contact_addresses", cty.StringVal("hashed"),
			"genesys_detail_source", cty.StringVal("query"))},
		{"self-hosted Temporal without auth, TLS flag set, plain contact addresses", with(req,
			"store_contact_addresses", cty.StringVal("plain"),
			"temporal_auth_mode", cty.StringVal("none"),
			"temporal_tls", cty.True,
			"temporal_address", cty.StringVal("temporal.internal:7233"))},
		{"named detail bucket that expires, sweep every 15m over 30 days", with(req,
			"detail_bucket_name", cty.StringVal("acme-genesys-details"),
			"detail_bucket_ia_after_days", cty.NumberIntVal(60),
			"detail_bucket_expire_after_days", cty.NumberIntVal(365),
			"sweep_every", cty.StringVal("15m"),
			"sweep_window", cty.StringVal("720h"))},
		{"existing bus, secrets and KMS keys", with(req,
			"existing_event_bus_name", cty.StringVal("aws.partner/genesys.com/cloud/org/suffix"),
			"genesys_org_id", cty.NullVal(cty.String),
			"genesys_event_source_suffix", cty.NullVal(cty.String),
			"genesys_secret_arn", cty.StringVal(secretARN),
			"temporal_secret_arn", cty.StringVal(secretARN),
			"store_contact_addresses", cty.StringVal("hashed"),
			"contact_hash_key_secret_arn", cty.StringVal(contactKeyARN),
			"secrets_kms_key_arn", cty.StringVal(kmsARN),
			"sqs_kms_key_arn", cty.StringVal(kmsARN),
			"dynamodb_kms_key_arn", cty.StringVal(kmsARN))},
		{"longest Lambda timeout and batching window", with(req,
			"lambda_timeout_seconds", cty.NumberIntVal(900),
			"event_source_maximum_batching_window_seconds", cty.NumberIntVal(300),
			"event_source_batch_size", cty.NumberIntVal(10000))},
		{"explicit visibility timeout, selected topics", with(req,
			"sqs_visibility_timeout_seconds", cty.NumberIntVal(600),
			"event_detail_types", cty.ListVal([]cty.Value{cty.StringVal("v2.detail.events.conversation.{id}.customer.end")}))},
		{"image outside ECR, Temporal on 443", with(req,
			"worker_image", cty.StringVal("ghcr.io/acme/genesys-ingest-worker@sha256:0123"),
			"temporal_address", cty.StringVal("temporal.example.com:443"))},
	}
}

// TestModuleInvariants runs every checker over the module, for each input
// set.
func TestModuleInvariants(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	reportFindings(t, "references", checkReferences(m))
	reportFindings(t, "declarations", checkDeclarations(m))
	reportFindings(t, "versions", checkVersions(m))
	reportFindings(t, "secret versions", checkSecretVersions(m))

	for _, in := range inputSets() {
		t.Run(in.name, func(t *testing.T) {
			e := m.evaluate(t, in.vars)
			reportFindings(t, "expressions", checkExpressions(e))
			reportFindings(t, "validations and preconditions", checkConditions(e))
			reportFindings(t, "event source mapping", checkEventSourceMappings(e))
			reportFindings(t, "visibility timeout", checkVisibilityTimeout(e))
			reportFindings(t, "Lambda runtime", checkLambdaRuntime(e))
			reportFindings(t, "secret environment", checkSecretEnvironment(e))
			reportFindings(t, "IAM", checkIAM(e))
			reportFindings(t, "DynamoDB", checkDynamoDB(e, storeTables))
			reportFindings(t, "DynamoDB grants", checkTableGrants(e, workerPolicy, workerTableGrants))
			for _, la := range workerLogAlarms {
				reportFindings(t, "alarm on "+la.message, checkLogAlarm(e, la))
			}
			reportFindings(t, "stop timeout", checkStopTimeout(e))
			reportFindings(t, "DLQs", checkDLQs(e))
			reportFindings(t, "ECS", checkECS(e))
			reportFindings(t, "scaling", checkScaling(e, backlog.MetricBacklogCount))
		})
	}
}

// TestExampleInvariants checks the example root: pinned versions, declared
// references, a module call that matches the module's variables and outputs.
func TestExampleInvariants(t *testing.T) {
	ex := loadModuleDir(t, exampleDir)
	mod := loadModuleDir(t, moduleDir)
	reportFindings(t, "references", checkReferences(ex))
	reportFindings(t, "declarations", checkDeclarations(ex))
	reportFindings(t, "versions", checkVersions(ex))
	reportFindings(t, "secret versions", checkSecretVersions(ex))
	reportFindings(t, "module call", checkModuleCall(ex, "genesys_ingest", mod))

	e := ex.evaluate(t, map[string]cty.Value{
		"genesys_org_id":              cty.StringVal("0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
		"genesys_event_source_suffix": cty.StringVal("genesys-ingest"),
		"genesys_region":              cty.StringVal("mypurecloud.ie"),
		"temporal_address":            cty.StringVal("eu-west-1.aws.api.temporal.io:7233"),
		"temporal_namespace":          cty.StringVal("genesys-ingest.a1b2c"),
		"vpc_id":                      cty.StringVal("vpc-0123456789abcdef0"),
		"private_subnet_ids":          cty.ListVal([]cty.Value{cty.StringVal("subnet-0123456789abcdef0")}),
		"worker_image":                cty.StringVal("123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:v1"),
		"alarm_emails":                cty.ListVal([]cty.Value{cty.StringVal("oncall@example.com")}),
	})
	reportFindings(t, "expressions", checkExpressions(e))
	reportFindings(t, "validations", checkConditions(e))

	// The zip path is resolved against the repository root, where
	// `make lambda` writes it.
	zip, ok := knownString(e.ctx.Variables["local"].GetAttr("lambda_zip_path"))
	if !ok {
		t.Fatal("example local.lambda_zip_path cannot be evaluated")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.ToSlash(filepath.Join(root, "dist", "forwarder.zip")); zip != want {
		t.Errorf("example lambda_zip_path resolves to %q, want %q (repository root + dist/forwarder.zip)", zip, want)
	}
}

// TestWorkerEnvironmentContract: the container gets exactly the settings the
// worker reads, and its credentials as secrets, for each Temporal auth mode.
func TestWorkerEnvironmentContract(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	env := []string{
		"AWS_REGION", "BACKLOG_METRIC_INTERVAL", "BACKLOG_METRIC_NAMESPACE", "DETAIL_BUCKET", "DYNAMODB_BATCH_TABLE", "DYNAMODB_TABLE",
		"FETCH_BATCH_SIZE", "FETCH_CONCURRENCY", "FETCH_MAX_CONCURRENT_ACTIVITIES", "FETCH_RETRY_HORIZON", "FETCH_RETRY_MAX_INTERVAL",
		"GENESYS_DETAIL_SOURCE", "GENESYS_REGION", "GENESYS_REQUESTS_PER_SECOND", "GENESYS_TASK_QUEUE", "LOG_FORMAT", "LOG_LEVEL",
		"METRICS_ADDRESS", "STORE_CONTACT_ADDRESSES", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "WORKER_EMF_INTERVAL",
		"WORKER_METRICS_NAMESPACE", "WORKER_STOP_TIMEOUT",
	}
	cases := []struct {
		name    string
		mode    string
		extra   map[string]cty.Value
		env     []string
		secrets []string
	}{
		{"api_key", "api_key", nil, env, []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "TEMPORAL_API_KEY"}},
		{"none", "none", map[string]cty.Value{"temporal_tls": cty.False}, append(append([]string{}, env...), "TEMPORAL_TLS"), []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"}},
		// The worker reads the key itself (task role): the ARN is in the
		// environment, the key in no `secrets` entry.
		{"hashed contact addresses", "api_key", map[string]cty.Value{"store_contact_addresses": cty.StringVal("hashed")},
			append(append([]string{}, env...), "CONTACT_HASH_KEY_SECRET_ARN"), []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "TEMPORAL_API_KEY"}},
		{"plain contact addresses, details query", "api_key", map[string]cty.Value{"store_contact_addresses": cty.StringVal("plain"), "genesys_detail_source": cty.StringVal("query")},
			env, []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "TEMPORAL_API_KEY"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := with(requiredInputs(), "temporal_auth_mode", cty.StringVal(c.mode))
			for k, v := range c.extra {
				vars[k] = v
			}
			e := m.evaluate(t, vars)
			containers, fs := containerDefinitions(e)
			reportFindings(t, "container definitions", fs)
			if len(containers) != 1 {
				t.Fatalf("want 1 container definition, got %d", len(containers))
			}
			gotEnv, ok := containerEnvironment(containers[0])
			if !ok {
				t.Fatal("container environment cannot be evaluated")
			}
			gotSecrets, ok := containerSecrets(containers[0])
			if !ok {
				t.Fatal("container secrets cannot be evaluated")
			}
			assertNames(t, "environment", names(gotEnv), c.env)
			assertNames(t, "secrets", names(gotSecrets), c.secrets)
			// CONTACT_HASH_KEY_SECRET_ARN: of the secret the module creates.
			afterApply := []string{"AWS_REGION", "CONTACT_HASH_KEY_SECRET_ARN", "DETAIL_BUCKET", "DYNAMODB_BATCH_TABLE", "DYNAMODB_TABLE"}
			for _, en := range gotEnv {
				if _, known := knownString(en.value); !known && !slices.Contains(afterApply, en.name) {
					t.Errorf("environment %s has no value known at plan time from the inputs", en.name)
				}
			}
			for _, en := range gotEnv {
				if en.name == "LOG_FORMAT" {
					if s, _ := knownString(en.value); s != "json" {
						t.Errorf("LOG_FORMAT is %s, want json (the workflow failure metric filter parses JSON logs)", show(en.value))
					}
				}
			}
			// The worker's settings are the variables', as given.
			for env, variable := range map[string]string{"STORE_CONTACT_ADDRESSES": "store_contact_addresses", "GENESYS_DETAIL_SOURCE": "genesys_detail_source"} {
				want, _ := knownString(e.ctx.Variables["var"].GetAttr(variable))
				for _, en := range gotEnv {
					if got, _ := knownString(en.value); en.name == env && got != want {
						t.Errorf("%s is %s, want var.%s %q", env, show(en.value), variable, want)
					}
				}
			}
		})
	}

	// The table and bucket names are the resources' own (known only after
	// apply).
	for env, attr := range map[string][3]string{
		"DYNAMODB_TABLE":       {"aws_dynamodb_table", "conversations", "name"},
		"DYNAMODB_BATCH_TABLE": {"aws_dynamodb_table", "batches", "name"},
		"DETAIL_BUCKET":        {"aws_s3_bucket", "details", "bucket"},
	} {
		expr := findObjectItem(m.locals["worker_environment"].Expr, env)
		if expr == nil {
			t.Errorf("local.worker_environment sets no %s", env)
			continue
		}
		if !referencesAttr(expr, attr[0], attr[1], attr[2]) {
			r := expr.Range()
			t.Errorf("%s:%d: %s must be %s", r.Filename, r.Start.Line, env, strings.Join(attr[:], "."))
		}
	}

	// With existing secrets the valueFrom references are known: JSON keys.
	// The contact hash key's secret is passed by ARN, whole.
	e := m.evaluate(t, with(requiredInputs(), "genesys_secret_arn", cty.StringVal(secretARN), "temporal_secret_arn", cty.StringVal(secretARN),
		"store_contact_addresses", cty.StringVal("hashed"), "contact_hash_key_secret_arn", cty.StringVal(contactKeyARN)))
	containers, _ := containerDefinitions(e)
	gotEnv, _ := containerEnvironment(containers[0])
	for _, en := range gotEnv {
		if got, _ := knownString(en.value); en.name == "CONTACT_HASH_KEY_SECRET_ARN" && got != contactKeyARN {
			t.Errorf("CONTACT_HASH_KEY_SECRET_ARN = %s, want contact_hash_key_secret_arn %q", show(en.value), contactKeyARN)
		}
	}
	secrets, _ := containerSecrets(containers[0])
	want := map[string]string{
		"GENESYS_CLIENT_ID":     secretARN + ":client_id::",
		"GENESYS_CLIENT_SECRET": secretARN + ":client_secret::",
		"TEMPORAL_API_KEY":      secretARN + ":api_key::",
	}
	for _, s := range secrets {
		if got, _ := knownString(s.value); got != want[s.name] {
			t.Errorf("secret %s valueFrom = %q, want %q", s.name, got, want[s.name])
		}
	}
}

// TestLambdaEnvironmentContract: the forwarder gets its settings and, in
// api_key mode, only the ARN of the Temporal secret.
func TestLambdaEnvironmentContract(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	base := []string{
		"FORWARDER_START_TIMEOUT", "GENESYS_TASK_QUEUE", "LOG_LEVEL", "READY_POLL_INTERVAL", "READY_TIMEOUT", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE",
		"TEMPORAL_TASK_QUEUE",
	}
	cases := map[string][]string{
		"api_key": append(append([]string{}, base...), "TEMPORAL_API_KEY_SECRET_ARN"),
		"none":    base,
	}
	for mode, want := range cases {
		t.Run(mode, func(t *testing.T) {
			e := m.evaluate(t, with(requiredInputs(), "temporal_auth_mode", cty.StringVal(mode), "temporal_secret_arn", cty.StringVal(secretARN)))
			fns := m.resources("aws_lambda_function")
			if len(fns) != 1 {
				t.Fatalf("want 1 aws_lambda_function, got %d", len(fns))
			}
			entries, _, ok := lambdaEnvironment(e, fns[0])
			if !ok {
				t.Fatal("Lambda environment cannot be evaluated")
			}
			assertNames(t, "Lambda environment", names(entries), want)
			for _, en := range entries {
				if strings.HasSuffix(en.name, "_SECRET_ARN") {
					if s, _ := knownString(en.value); s != secretARN {
						t.Errorf("%s = %s, want the Temporal secret ARN", en.name, show(en.value))
					}
				}
			}
		})
	}
}

// TestForwarderRetrySettings: the retry and start timeout variables reach
// the Lambda's environment as given, the module reads Go durations as Go
// does, and out-of-range values are refused at plan time rather than by the
// forwarder's cold start.
func TestForwarderRetrySettings(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	fn := m.find("resource", "aws_lambda_function", "forwarder")
	if fn == nil {
		t.Fatal("no aws_lambda_function.forwarder")
	}
	settings := map[string]string{
		"fetch_retry_horizon":      "96h",
		"fetch_retry_max_interval": "5m",
		"forwarder_start_timeout":  "20s",
	}
	env := map[string]string{
		"forwarder_start_timeout": "FORWARDER_START_TIMEOUT",
	}
	vars := requiredInputs()
	for k, v := range settings {
		vars[k] = cty.StringVal(v)
	}
	e := m.evaluate(t, vars)
	reportFindings(t, "validations and preconditions", checkConditions(e))
	entries, _, ok := lambdaEnvironment(e, fn)
	if !ok {
		t.Fatal("Lambda environment cannot be evaluated")
	}
	got := map[string]cty.Value{}
	for _, en := range entries {
		got[en.name] = en.value
	}
	for variable, name := range env {
		if !isString(got[name], settings[variable]) {
			t.Errorf("Lambda %s = %s, want var.%s (%q)", name, show(got[name]), variable, settings[variable])
		}
	}
	// How the budget is spent is the worker's: its container gets them.
	containers, fs := containerDefinitions(e)
	reportFindings(t, "container definitions", fs)
	workerEnv := map[string]cty.Value{}
	for _, c := range containers {
		entries, _ := containerEnvironment(c)
		for _, en := range entries {
			workerEnv[en.name] = en.value
		}
	}
	for variable, name := range map[string]string{"fetch_retry_horizon": "FETCH_RETRY_HORIZON", "fetch_retry_max_interval": "FETCH_RETRY_MAX_INTERVAL"} {
		if !isString(workerEnv[name], settings[variable]) {
			t.Errorf("worker %s = %s, want var.%s (%q)", name, show(workerEnv[name]), variable, settings[variable])
		}
	}

	// The seconds the module derives (preconditions, alarm period) agree
	// with time.ParseDuration for every form the validations accept.
	for _, d := range []string{"72h", "2m", "90s", "1h30m", "2h45m30s", "1500ms", "10s"} {
		e := m.evaluate(t, with(requiredInputs(), "fetch_retry_horizon", cty.StringVal(d)))
		for _, f := range checkConditions(e) {
			if strings.Contains(f.msg, "validation of var.fetch_retry_horizon") {
				t.Errorf("%q is a Go duration, but: %s", d, f)
			}
		}
		secs, ok := knownNumber(e.ctx.Variables["local"].GetAttr("fetch_retry_horizon_seconds"))
		if want := parseDuration(t, d).Seconds(); !ok || secs != want {
			t.Errorf("fetch_retry_horizon %q is %g seconds in the module, %g for Go", d, secs, want)
		}
	}
}

// TestEventPattern: by default the rule forwards the topics the intake
// ingests a conversation on (customer.end, acw), whether the event names
// its topic as a template or a concrete topic, in detail-type or in
// detail.topicName, and nothing else; other topics are listed explicitly.
func TestEventPattern(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	rule := m.find("resource", "aws_cloudwatch_event_rule", "conversations")
	if rule == nil {
		t.Fatal("no aws_cloudwatch_event_rule.conversations")
	}
	pattern := func(t *testing.T, vars map[string]cty.Value) map[string]any {
		t.Helper()
		v, a, ok := m.evaluate(t, vars).attr(rule.body(), "event_pattern")
		if !ok {
			t.Fatal("the rule has no event_pattern")
		}
		s, known := knownString(v)
		if !known {
			t.Fatalf("%s:%d: event_pattern cannot be evaluated", a.SrcRange.Filename, a.SrcRange.Start.Line)
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			t.Fatalf("event_pattern is not JSON: %v", err)
		}
		return p
	}
	const id = "4f7c8a51-9b0e-4f0a-8a43-1d2e3f4a5b6c"
	event := func(detailType, topicName string) map[string]any {
		return map[string]any{
			"id":          "e-1",
			"source":      "aws.partner/genesys.com/cloud/0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/genesys-ingest",
			"detail-type": detailType,
			"detail": map[string]any{
				"topicName": topicName,
				"eventBody": map[string]any{"conversationId": id, "eventTime": "2026-01-01T00:00:00.000Z"},
			},
		}
	}
	topic := func(tail string) string { return "v2.detail.events.conversation." + id + "." + tail }
	template := func(tail string) string { return "v2.detail.events.conversation.{id}." + tail }
	cases := []struct {
		name    string
		event   map[string]any
		kind    string // the intake's topic kind, "" if it ignores the event
		forward bool
	}{
		{"customer.end template", event(template("customer.end"), topic("customer.end")), "customer.end", true},
		{"acw template", event(template("acw"), topic("acw")), "acw", true},
		{"concrete detail-type", event(topic("customer.end"), ""), "customer.end", true},
		{"topic only in topicName", event("Genesys Cloud event", topic("acw")), "acw", true},
		{"another conversation topic", event(template("user.start"), topic("user.start")), "user.start", false},
		{"a topic ending like one", event(template("acd.end"), topic("acd.end")), "acd.end", false},
		{"not a conversation topic", event("v2.users.{id}.presence", "v2.users."+id+".presence"), "", false},
	}
	def := pattern(t, requiredInputs())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := json.Marshal(c.event)
			if err != nil {
				t.Fatal(err)
			}
			d, err := intake.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			kind := ""
			if len(d.Conversations) == 1 {
				kind = d.Conversations[0].Topic
			}
			if kind != c.kind {
				t.Fatalf("the intake reads this event as %q, the test expects %q", kind, c.kind)
			}
			if got := eventPatternMatches(def, c.event); got != c.forward {
				t.Errorf("the default rule forwards it: %v, want %v (pattern %v)", got, c.forward, def)
			}
		})
	}

	// Other topics are an explicit choice, by template.
	all := pattern(t, with(requiredInputs(), "event_detail_types", cty.ListVal([]cty.Value{cty.StringVal("v2.detail.events.conversation.{id}.*")})))
	for _, c := range cases {
		if got, want := eventPatternMatches(all, c.event), c.kind != ""; got != want {
			t.Errorf("event_detail_types [v2.detail.events.conversation.{id}.*]: %s forwarded = %v, want %v", c.name, got, want)
		}
	}
}

// eventPatternMatches evaluates the EventBridge pattern features the module
// uses (exact values, prefix, wildcard, nested fields, $or) on an event.
func eventPatternMatches(pattern map[string]any, event map[string]any) bool {
	for key, want := range pattern {
		if key == "$or" {
			if !slices.ContainsFunc(want.([]any), func(alt any) bool { return eventPatternMatches(alt.(map[string]any), event) }) {
				return false
			}
			continue
		}
		got, present := event[key]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !present || !ok || !eventPatternMatches(w, sub) {
				return false
			}
		case []any:
			s, ok := got.(string)
			if !present || !ok || !slices.ContainsFunc(w, func(m any) bool { return eventValueMatches(m, s) }) {
				return false
			}
		default:
			panic(fmt.Sprintf("pattern field %s: %T is not supported here", key, want))
		}
	}
	return true
}

func eventValueMatches(matcher any, s string) bool {
	switch m := matcher.(type) {
	case string:
		return m == s
	case map[string]any:
		if p, ok := m["prefix"].(string); ok {
			return strings.HasPrefix(s, p)
		}
		if w, ok := m["wildcard"].(string); ok {
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(w), `\*`, ".*") + "$"
			return regexp.MustCompile(re).MatchString(s)
		}
	}
	panic(fmt.Sprintf("pattern matcher %v is not supported here", matcher))
}

// TestDynamoDBTableMatchesStore: the tables' keys and default names are the
// store package's, and their names are the variables'.
func TestDynamoDBTableMatchesStore(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	e := m.evaluate(t, requiredInputs())
	reportFindings(t, "DynamoDB", checkDynamoDB(e, storeTables))
	ex := loadModuleDir(t, exampleDir)
	exVars := ex.evaluate(t, nil).ctx.Variables["var"]
	for variable, want := range map[string]string{
		"dynamodb_table_name":       store.DefaultTableName,
		"dynamodb_batch_table_name": store.DefaultBatchTableName,
	} {
		if got, _ := knownString(e.ctx.Variables["var"].GetAttr(variable)); got != want {
			t.Errorf("variable %s defaults to %q, want the store's default %q", variable, got, want)
		}
		if got, _ := knownString(exVars.GetAttr(variable)); got != want {
			t.Errorf("example variable %s defaults to %q, want %q", variable, got, want)
		}
	}

	// Each table is named by its variable.
	e = m.evaluate(t, with(requiredInputs(),
		"dynamodb_table_name", cty.StringVal("acme-conversations"),
		"dynamodb_batch_table_name", cty.StringVal("acme-batches")))
	for table, want := range map[string]string{"conversations": "acme-conversations", "batches": "acme-batches"} {
		tb := m.find("resource", "aws_dynamodb_table", table)
		if tb == nil {
			t.Errorf("no aws_dynamodb_table.%s", table)
			continue
		}
		if v, _, _ := e.attr(tb.body(), "name"); !isString(v, want) {
			t.Errorf("aws_dynamodb_table.%s name = %s, want %q", table, show(v), want)
		}
	}
}

// TestWorkerTableAccess: the worker's task role may make exactly the calls
// the worker makes, on each table: on the batches table only PutItem.
func TestWorkerTableAccess(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	e := m.evaluate(t, requiredInputs())
	reportFindings(t, "DynamoDB grants", checkTableGrants(e, workerPolicy, workerTableGrants))

	// Of the module's roles only the task role's policy names a table: not
	// the forwarder, not the execution role. The people's policies do, and
	// are attached to no role (TestStoreAccess).
	for _, doc := range m.all("data", "aws_iam_policy_document") {
		for _, st := range e.expand(doc.body(), "statement") {
			res := st.body.Attributes["resources"]
			if res == nil || len(refs(res.Expr, "aws_dynamodb_table")) == 0 {
				continue
			}
			if doc.name != workerPolicy && !slices.Contains(peoplePolicies, doc.name) {
				t.Errorf("%s:%d: %s grants on a DynamoDB table: only the worker's task role (data.aws_iam_policy_document.%s) may", res.SrcRange.Filename, res.SrcRange.Start.Line, doc.addr(), workerPolicy)
			}
		}
	}
	task := m.find("resource", "aws_iam_role_policy", "ecs_task")
	if task == nil || len(refs(task.body().Attributes["policy"].Expr, "data")) == 0 {
		t.Fatal("no aws_iam_role_policy.ecs_task with a policy document")
	}
	if a := task.body().Attributes["role"]; a == nil || strings.Join(refs(a.Expr, "aws_iam_role"), ",") != "ecs_task" {
		t.Error("aws_iam_role_policy.ecs_task must attach to aws_iam_role.ecs_task")
	}
}

// TestBacklogMetricMatchesPublisher: the names the module scales and alarms
// on are the ones worker/backlog publishes.
func TestBacklogMetricMatchesPublisher(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	e := m.evaluate(t, requiredInputs())
	locals := e.ctx.Variables["local"]
	for local, want := range map[string]string{
		"backlog_metric_name":     backlog.MetricBacklogCount,
		"backlog_age_metric_name": backlog.MetricBacklogAge,
	} {
		if got, _ := knownString(locals.GetAttr(local)); got != want {
			t.Errorf("local.%s = %q, want %q (worker/backlog)", local, got, want)
		}
	}
	if got, _ := knownNumber(e.ctx.Variables["var"].GetAttr("backlog_metric_interval_seconds")); got != backlog.DefaultInterval.Seconds() {
		t.Errorf("backlog_metric_interval_seconds defaults to %g, want backlog.DefaultInterval %s", got, backlog.DefaultInterval)
	}
	// The scaling policy reads the dimensionless total.
	for _, p := range m.resources("aws_appautoscaling_policy") {
		tt := nestedBlock(p.body(), "target_tracking_scaling_policy_configuration")
		if tt == nil {
			continue
		}
		cm := nestedBlock(tt.Body, "customized_metric_specification")
		if cm == nil {
			continue
		}
		for _, mb := range nestedBlocks(cm.Body, "metrics") {
			ms := nestedBlock(mb.Body, "metric_stat")
			if ms == nil {
				continue
			}
			metric := nestedBlock(ms.Body, "metric")
			n, _, _ := e.attr(metric.Body, "metric_name")
			if s, _ := knownString(n); s == backlog.MetricBacklogCount && len(nestedBlocks(metric.Body, "dimensions")) > 0 {
				t.Errorf("%s:%d: the scaling policy must read the total %s, which has no dimension", metric.DefRange().Filename, metric.DefRange().Start.Line, s)
			}
		}
	}
	reportFindings(t, "scaling", checkScaling(e, backlog.MetricBacklogCount))
}

// TestDefaultsMatchTheCode: the module's defaults are the ones the worker
// and the forwarder fall back to, and its validations accept their limits.
func TestDefaultsMatchTheCode(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	vars := m.evaluate(t, requiredInputs()).ctx.Variables["var"]
	str := func(name string) string { s, _ := knownString(vars.GetAttr(name)); return s }
	num := func(name string) float64 { n, _ := knownNumber(vars.GetAttr(name)); return n }
	for _, c := range []struct {
		variable  string
		got, want any
	}{
		{"temporal_task_queue", str("temporal_task_queue"), workflows.DefaultTaskQueue},
		{"genesys_task_queue", str("genesys_task_queue"), workflows.DefaultGenesysTaskQueue},
		{"fetch_batch_size", num("fetch_batch_size"), float64(workflows.DefaultFetchBatchSize)},
		{"fetch_concurrency", num("fetch_concurrency"), float64(workflows.DefaultFetchConcurrency)},
		{"ready_poll_interval", parseDuration(t, str("ready_poll_interval")), workflows.DefaultReadyPollInterval},
		{"ready_timeout", parseDuration(t, str("ready_timeout")), workflows.DefaultReadyTimeout},
		{"fetch_retry_horizon", parseDuration(t, str("fetch_retry_horizon")), workflows.DefaultFetchRetryHorizon},
		{"fetch_retry_max_interval", parseDuration(t, str("fetch_retry_max_interval")), workflows.DefaultFetchRetryMaxInterval},
		{"forwarder_start_timeout", parseDuration(t, str("forwarder_start_timeout")), config.DefaultForwarderStartTimeout},
		{"genesys_requests_per_second", num("genesys_requests_per_second"), workerconfig.DefaultGenesysRequestsPerSecond},
		{"worker_stop_timeout_seconds", time.Duration(num("worker_stop_timeout_seconds")) * time.Second, workerconfig.DefaultWorkerStopTimeout},
		{"worker_max_concurrent_fetches", num("worker_max_concurrent_fetches"), float64(workerconfig.DefaultMaxConcurrentFetches)},
		{"worker_metrics_address", str("worker_metrics_address"), workerconfig.DefaultMetricsAddress},
		{"backlog_metric_interval_seconds", time.Duration(num("backlog_metric_interval_seconds")) * time.Second, workerconfig.DefaultBacklogMetricInterval},
		{"worker_metrics_namespace", str("worker_metrics_namespace"), workerconfig.DefaultMetricsNamespace},
		{"store_contact_addresses", str("store_contact_addresses"), string(store.ContactsOff)},
		{"genesys_detail_source", str("genesys_detail_source"), string(activities.SourceMultiGet)},
		{"sweep_every", parseDuration(t, str("sweep_every")), sweep.DefaultEvery},
		{"sweep_window", parseDuration(t, str("sweep_window")), sweep.DefaultWindow},
		// make bench measures what is deployed.
		{"event_source_batch_size", num("event_source_batch_size"), float64(devstack.DeployedEventSource.BatchSize)},
		{"event_source_maximum_batching_window_seconds", time.Duration(num("event_source_maximum_batching_window_seconds")) * time.Second, devstack.DeployedEventSource.Window},
		{"event_source_maximum_concurrency", num("event_source_maximum_concurrency"), float64(devstack.DeployedEventSource.Pollers)},
	} {
		if c.got != c.want {
			t.Errorf("variable %s defaults to %v, the code's default is %v", c.variable, c.got, c.want)
		}
	}
	// The code's upper limits pass the module's validations.
	limits := with(requiredInputs(),
		"fetch_batch_size", cty.NumberIntVal(workflows.MaxFetchBatchSize),
		"fetch_concurrency", cty.NumberIntVal(workflows.MaxFetchConcurrency))
	reportFindings(t, "validations at the workflow's limits", checkConditions(m.evaluate(t, limits)))
	over := with(requiredInputs(),
		"fetch_batch_size", cty.NumberIntVal(workflows.MaxFetchBatchSize+1),
		"fetch_concurrency", cty.NumberIntVal(workflows.MaxFetchConcurrency+1))
	fs := checkConditions(m.evaluate(t, over))
	assertFinding(t, fs, "validation of var.fetch_batch_size fails")
	assertFinding(t, fs, "validation of var.fetch_concurrency fails")

	// Every contact mode and detail source the worker accepts passes the
	// module's validations (written as the worker's constants).
	for _, mode := range store.ContactModes {
		reportFindings(t, "validations with store_contact_addresses "+string(mode), checkConditions(m.evaluate(t, with(requiredInputs(), "store_contact_addresses", cty.StringVal(string(mode))))))
	}
	for _, src := range activities.DetailSources {
		reportFindings(t, "validations with genesys_detail_source "+string(src), checkConditions(m.evaluate(t, with(requiredInputs(), "genesys_detail_source", cty.StringVal(string(src))))))
	}
}

func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Errorf("duration %q: %v", s, err)
	}
	return d
}

// TestModuleREADMEListsInputsAndOutputs keeps the module's reference in step
// with its variables and outputs.
func TestModuleREADMEListsInputsAndOutputs(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	readme, err := os.ReadFile(filepath.Join(moduleDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if m := regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = true
		}
	}
	declared := map[string]bool{}
	for name, v := range m.variables {
		declared[name] = true
		if !rows[name] {
			r := v.block.DefRange()
			t.Errorf("%s:%d: variable %q is not in the Inputs table of %s/README.md", r.Filename, r.Start.Line, name, moduleDir)
		}
	}
	for _, o := range m.all("output", "") {
		declared[o.name] = true
		if !rows[o.name] {
			r := o.block.DefRange()
			t.Errorf("%s:%d: output %q is not in the Outputs table of %s/README.md", r.Filename, r.Start.Line, o.name, moduleDir)
		}
	}
	for name := range rows {
		if !declared[name] {
			t.Errorf("%s/README.md documents %q, which the module does not declare", moduleDir, name)
		}
	}
}

// TestValidationsRejectBadInputs: the variable validations that keep the
// timeouts consistent do fail.
func TestValidationsRejectBadInputs(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	cases := []struct {
		name string
		vars map[string]cty.Value
		want string
	}{
		{"visibility below 6x Lambda timeout", with(requiredInputs(), "sqs_visibility_timeout_seconds", cty.NumberIntVal(300)), "validation of var.sqs_visibility_timeout_seconds fails"},
		{"worker stop timeout at the ECS stopTimeout", with(requiredInputs(), "worker_stop_timeout_seconds", cty.NumberIntVal(120)), "validation of var.worker_stop_timeout_seconds fails"},
		{"batch above 10 without batching window", with(requiredInputs(), "event_source_maximum_batching_window_seconds", cty.NumberIntVal(0)), "validation of var.event_source_batch_size fails"},
		{"max below min", with(requiredInputs(), "worker_min_count", cty.NumberIntVal(5)), "validation of var.worker_max_count fails"},
		{"partner bus without org id", with(requiredInputs(), "genesys_org_id", cty.NullVal(cty.String)), "precondition of aws_cloudwatch_event_bus.genesys fails"},
		{"batches in the conversations table", with(requiredInputs(), "dynamodb_batch_table_name", cty.StringVal(store.DefaultTableName)), "validation of var.dynamodb_batch_table_name fails"},
		{"retry horizon not a Go duration", with(requiredInputs(), "fetch_retry_horizon", cty.StringVal("3 days")), "validation of var.fetch_retry_horizon fails"},
		{"retry horizon below 1m", with(requiredInputs(), "fetch_retry_horizon", cty.StringVal("59s"), "fetch_retry_max_interval", cty.StringVal("10s")), "precondition of aws_ecs_service.worker fails: fetch_retry_horizon must be at least 1m"},
		{"retry interval above the horizon", with(requiredInputs(), "fetch_retry_horizon", cty.StringVal("1h"), "fetch_retry_max_interval", cty.StringVal("61m")), "fetch_retry_max_interval must be at least 1s and at most fetch_retry_horizon"},
		{"retry interval below 1s", with(requiredInputs(), "fetch_retry_max_interval", cty.StringVal("500ms")), "fetch_retry_max_interval must be at least 1s"},
		{"start timeout at the Lambda timeout", with(requiredInputs(), "forwarder_start_timeout", cty.StringVal("1m")), "forwarder_start_timeout must be above 0 and below lambda_timeout_seconds"},
		{"start timeout zero", with(requiredInputs(), "forwarder_start_timeout", cty.StringVal("0s")), "forwarder_start_timeout must be above 0"},
		{"worker logs errors only", with(requiredInputs(), "worker_log_level", cty.StringVal("error")), "validation of var.worker_log_level fails"},
		{"ingestion blocked alarm under 5 minutes", with(requiredInputs(), "ingestion_blocked_alarm_minutes", cty.NumberIntVal(2)), "validation of var.ingestion_blocked_alarm_minutes fails"},
		{"ingestion blocked alarm beyond CloudWatch's 1 day", with(requiredInputs(), "ingestion_blocked_alarm_minutes", cty.NumberIntVal(1441)), "validation of var.ingestion_blocked_alarm_minutes fails"},
		{"ingestion blocked period beyond CloudWatch's 1 day", with(requiredInputs(), "fetch_retry_max_interval", cty.StringVal("12h1m")), "precondition of aws_cloudwatch_metric_alarm.ingestion_blocked fails: fetch_retry_max_interval must be at most 12h"},
		{"Temporal mTLS", with(requiredInputs(), "temporal_auth_mode", cty.StringVal("mtls")), `validation of var.temporal_auth_mode fails: temporal_auth_mode "mtls" is not supported yet: the forwarder Lambda reads only an API key`},
		{"no metrics server for the health check", with(requiredInputs(), "worker_metrics_address", cty.StringVal("")), "validation of var.worker_metrics_address fails"},
		{"no topics", with(requiredInputs(), "event_detail_types", cty.ListValEmpty(cty.String)), "validation of var.event_detail_types fails"},
		{"archive for part of a day", with(requiredInputs(), "event_archive_retention_days", cty.NumberFloatVal(1.5)), "validation of var.event_archive_retention_days fails"},
		{"forwarder in a VPC without a security group", with(requiredInputs(), "lambda_vpc_config", cty.ObjectVal(map[string]cty.Value{
			"subnet_ids":         cty.ListVal([]cty.Value{cty.StringVal("subnet-0123456789abcdef0")}),
			"security_group_ids": cty.ListValEmpty(cty.String),
		})), "validation of var.lambda_vpc_config fails"},
		{"VPC endpoint the worker does not call", with(requiredInputs(), "vpc_endpoints", cty.ObjectVal(map[string]cty.Value{
			"route_table_ids":    cty.ListVal([]cty.Value{cty.StringVal("rtb-0123456789abcdef0")}),
			"interface_services": cty.ListVal([]cty.Value{cty.StringVal("sts")}),
		})), "validation of var.vpc_endpoints fails"},
		{"gateway endpoints without route tables", with(requiredInputs(), "vpc_endpoints", cty.ObjectVal(map[string]cty.Value{
			"route_table_ids": cty.ListValEmpty(cty.String),
		})), "validation of var.vpc_endpoints fails"},
		{"dotted detail bucket", with(requiredInputs(), "detail_bucket_name", cty.StringVal("acme.genesys.details")), "validation of var.detail_bucket_name fails"},
		{"upper case detail bucket", with(requiredInputs(), "detail_bucket_name", cty.StringVal("Acme-Details")), "validation of var.detail_bucket_name fails"},
		{"Standard-IA before 30 days", with(requiredInputs(), "detail_bucket_ia_after_days", cty.NumberIntVal(7)), "validation of var.detail_bucket_ia_after_days fails"},
		{"details expiring before Standard-IA", with(requiredInputs(), "detail_bucket_expire_after_days", cty.NumberIntVal(30)), "validation of var.detail_bucket_expire_after_days fails"},
		{"contact mode the worker does not know", with(requiredInputs(), "store_contact_addresses", cty.StringVal("encrypted")), "validation of var.store_contact_addresses fails"},
		{"detail source the worker does not know", with(requiredInputs(), "genesys_detail_source", cty.StringVal("single")), "validation of var.genesys_detail_source fails"},
		{"contact hash key not a secret ARN", with(requiredInputs(), "store_contact_addresses", cty.StringVal("hashed"), "contact_hash_key_secret_arn", cty.StringVal("contact-hash-key")), "validation of var.contact_hash_key_secret_arn fails"},
		{"sweep not a Go duration", with(requiredInputs(), "sweep_every", cty.StringVal("hourly")), "validation of var.sweep_every fails"},
		{"sweep every 30s", with(requiredInputs(), "sweep_every", cty.StringVal("30s")), "precondition of output.sweep_schedule_command fails: sweep_every must be at least 1m"},
		{"sweep window under 1h", with(requiredInputs(), "sweep_window", cty.StringVal("59m")), "precondition of output.sweep_schedule_command fails: sweep_window must be between 1h and 400 days"},
		{"sweep window beyond the longest backfill", with(requiredInputs(), "sweep_window", cty.StringVal("9601h")), "precondition of output.sweep_schedule_command fails: sweep_window must be between 1h and 400 days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertFinding(t, checkConditions(m.evaluate(t, c.vars)), c.want)
		})
	}
}

// badLogAlarm counts the worker's "ingestion blocked" lines wrongly.
const badLogAlarm = `
resource "aws_cloudwatch_log_group" "w" {}
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{ logConfiguration = { options = { awslogs-group = aws_cloudwatch_log_group.w.name } } }])
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  log_group_name = aws_cloudwatch_log_group.w.name
  pattern        = "{ $.msg = \"ingestion blocked\" }"
  metric_transformation {
    namespace = "N"
    name      = "IngestionBlocked"
    value     = "$.count"
  }
}
resource "aws_cloudwatch_metric_alarm" "a" {
  namespace   = "N"
  metric_name = "IngestionBlocked"
  statistic   = "Average"
}`

// TestCheckersCatchViolations proves that each checker fails, with a
// file:line, on a configuration that breaks its invariant.
func TestCheckersCatchViolations(t *testing.T) {
	type checker func(t *testing.T, m *module) []finding
	static := func(f func(*module) []finding) checker {
		return func(_ *testing.T, m *module) []finding { return f(m) }
	}
	evaluated := func(f func(*evaluator) []finding) checker {
		return func(t *testing.T, m *module) []finding { return f(m.evaluate(t, nil)) }
	}
	dynamo := evaluated(func(e *evaluator) []finding { return checkDynamoDB(e, map[string]string{"t": store.PartitionKey}) })
	grants := evaluated(func(e *evaluator) []finding {
		return checkTableGrants(e, "p", map[string][]string{"t": {"dynamodb:GetItem"}, "b": {"dynamodb:PutItem"}})
	})
	blockedAlarm := evaluated(func(e *evaluator) []finding {
		return checkLogAlarm(e, logAlarm{message: "ingestion blocked", value: "1"})
	})
	scaling := evaluated(func(e *evaluator) []finding { return checkScaling(e, backlog.MetricBacklogCount) })

	cases := []struct {
		name  string
		check checker
		src   string
		want  string
	}{
		{"undeclared variable", static(checkReferences), `
resource "aws_sqs_queue" "q" {
  name = var.missing
}`, "inline.tf:3: var.missing is not declared"},
		{"undeclared local", static(checkReferences), `
locals {
  a = local.b
}`, "inline.tf:3: local.b is not declared"},
		{"undeclared resource", static(checkReferences), `
output "x" {
  description = "x"
  value       = aws_sqs_queue.nope.arn
}`, "inline.tf:4: aws_sqs_queue.nope is not declared"},
		{"untyped undocumented variable", static(checkDeclarations), `
variable "x" {}`, `inline.tf:2: variable "x" has no type`},
		{"credential variable with default", static(checkDeclarations), `
variable "genesys_client_secret" {
  description = "d"
  type        = string
  default     = "hunter2"
}`, `inline.tf:5: variable "genesys_client_secret" looks like a credential and must not have a default`},
		{"unpinned provider", static(checkVersions), `
terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}`, "inline.tf:5: required_providers.aws must set source"},
		{"failing validation", evaluated(checkConditions), `
variable "t" {
  description = "d"
  type        = number
  default     = 130
  validation {
    condition     = var.t < 120
    error_message = "t below 120"
  }
}`, "inline.tf:7: validation of var.t fails: t below 120"},
		{"validation calling an unknown function", evaluated(checkConditions), `
variable "t" {
  description = "d"
  type        = string
  default     = "x"
  validation {
    condition     = startwith(var.t, "x")
    error_message = "typo"
  }
}`, "inline.tf:7: validation of var.t cannot be evaluated"},
		{"conditional with inconsistent types", evaluated(checkExpressions), `
variable "types" {
  description = "d"
  type        = list(string)
  default     = []
}
locals {
  pattern = length(var.types) > 0 ? var.types : [{ prefix = "v2." }]
}`, "inline.tf:8: local.pattern: inline.tf:8,37-69: Inconsistent conditional result types"},
		{"function misuse in a resource", evaluated(checkExpressions), `
resource "aws_sqs_queue" "q" {
  name = upper(["a"])
}`, "inline.tf:3: aws_sqs_queue.q.name:"},
		{"no partial batch responses", evaluated(checkEventSourceMappings), `
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn = aws_sqs_queue.q.arn
  function_name    = aws_lambda_function.f.arn
}`, "inline.tf:2: aws_lambda_event_source_mapping.m has no function_response_types"},
		{"wrong response types", evaluated(checkEventSourceMappings), `
resource "aws_lambda_event_source_mapping" "m" {
  function_response_types = []
}`, "inline.tf:3: aws_lambda_event_source_mapping.m function_response_types must contain"},
		{"visibility timeout too short", evaluated(checkVisibilityTimeout), `
variable "timeout" {
  description = "d"
  type        = number
  default     = 30
}
locals {
  visibility = 5 * var.timeout
}
resource "aws_sqs_queue" "q" {
  visibility_timeout_seconds = local.visibility
}
resource "aws_lambda_function" "f" {
  timeout = var.timeout
}
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn                   = aws_sqs_queue.q.arn
  function_name                      = aws_lambda_function.f.arn
  maximum_batching_window_in_seconds = 5
}`, "inline.tf:11: aws_sqs_queue.q visibility timeout is 150s, below 6 x aws_lambda_function.f timeout (30s, inline.tf:14) + batching window (5s) = 185s"},
		{"default visibility timeout", evaluated(checkVisibilityTimeout), `
resource "aws_sqs_queue" "q" {}
resource "aws_lambda_function" "f" {
  timeout = 10
}
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn = aws_sqs_queue.q.arn
  function_name    = aws_lambda_function.f.function_name
}`, "visibility timeout is 30s, below 6 x"},
		{"wrong runtime", evaluated(checkLambdaRuntime), `
resource "aws_lambda_function" "f" {
  runtime          = "go1.x"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  source_code_hash = "x"
}`, `inline.tf:3: aws_lambda_function.f runtime must be "provided.al2023", got "go1.x"`},
		{"wrong architecture", evaluated(checkLambdaRuntime), `
resource "aws_lambda_function" "f" {
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["x86_64"]
  source_code_hash = "x"
}`, `inline.tf:5: aws_lambda_function.f architectures must be ["arm64"]`},
		{"secret in Lambda environment", evaluated(checkSecretEnvironment), `
variable "key" {
  description = "d"
  type        = string
}
resource "aws_lambda_function" "f" {
  environment {
    variables = {
      TEMPORAL_ADDRESS = "x:7233"
      TEMPORAL_API_KEY = var.key
    }
  }
}`, "inline.tf:8: aws_lambda_function.f environment variable TEMPORAL_API_KEY looks like a secret"},
		{"secret in container environment", evaluated(checkSecretEnvironment), `
locals {
  env = { GENESYS_CLIENT_SECRET = "x", LOG_LEVEL = "info" }
}
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{
    name        = "worker"
    environment = [for k, v in local.env : { name = k, value = v }]
  }])
}`, `inline.tf:6: aws_ecs_task_definition.t container "worker" environment variable GENESYS_CLIENT_SECRET looks like a secret`},
		{"container secret not an ARN", evaluated(checkSecretEnvironment), `
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{
    name    = "worker"
    secrets = [{ name = "GENESYS_CLIENT_SECRET", valueFrom = "hunter2" }]
  }])
}`, `secret GENESYS_CLIENT_SECRET valueFrom "hunter2" is not a Secrets Manager or SSM ARN`},
		{"wildcard action", evaluated(checkIAM), `
data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["s3:*"]
    resources = ["arn:aws:s3:::bucket"]
  }
}`, `inline.tf:4: data.aws_iam_policy_document.p grants wildcard action "s3:*"`},
		{"star resource", evaluated(checkIAM), `
data "aws_iam_policy_document" "p" {
  statement {
    sid       = "Table"
    actions   = ["dynamodb:PutItem"]
    resources = ["*"]
  }
}`, `inline.tf:6: data.aws_iam_policy_document.p statement Table grants dynamodb:PutItem on Resource "*"`},
		{"PutMetricData without namespace condition", evaluated(checkIAM), `
data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
  }
}`, "grants cloudwatch:PutMetricData on Resource \"*\" without a condition on cloudwatch:namespace"},
		{"wildcard in a dynamic statement", evaluated(checkIAM), `
data "aws_iam_policy_document" "p" {
  dynamic "statement" {
    for_each = ["arn:aws:sqs:eu-west-1:123456789012:q"]
    content {
      actions   = ["sqs:*"]
      resources = [statement.value]
    }
  }
}`, `inline.tf:6: data.aws_iam_policy_document.p grants wildcard action "sqs:*"`},
		{"managed policy attachment", evaluated(checkIAM), `
resource "aws_iam_role_policy_attachment" "a" {
  role       = "r"
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}`, "inline.tf:2: aws_iam_role_policy_attachment.a attaches a managed policy"},
		{"inline JSON policy", evaluated(checkIAM), `
resource "aws_iam_role_policy" "p" {
  role   = "r"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}`, "inline.tf:4: aws_iam_role_policy.p.policy must be data.aws_iam_policy_document.<name>.json"},
		{"inline bucket policy", evaluated(checkIAM), `
resource "aws_s3_bucket_policy" "b" {
  bucket = "b"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "*" }] })
}`, "inline.tf:4: aws_s3_bucket_policy.b.policy must be data.aws_iam_policy_document.<name>.json"},
		{"output precondition", evaluated(checkConditions), `
output "o" {
  description = "d"
  value       = 1
  precondition {
    condition     = 1 > 2
    error_message = "never"
  }
}`, "inline.tf:6: precondition of output.o fails: never"},
		{"hash key differs from store", dynamo, `
resource "aws_dynamodb_table" "t" {
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
}`, `inline.tf:4: aws_dynamodb_table.t hash_key is "id", but the store's key is "conversationId"`},
		{"table the store does not use", dynamo, `
resource "aws_dynamodb_table" "t" {
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "conversationId"
  attribute {
    name = "conversationId"
    type = "S"
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }
}
resource "aws_dynamodb_table" "extra" {}`, "inline.tf:16: aws_dynamodb_table.extra is not a table of activities/store"},
		{"store table missing", dynamo, `
resource "aws_sqs_queue" "q" {}`, `no aws_dynamodb_table.t (partition key "conversationId") in this module`},
		{"more than the worker calls", grants, `
resource "aws_dynamodb_table" "t" {}
resource "aws_dynamodb_table" "b" {}
data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.t.arn]
  }
  statement {
    actions   = ["dynamodb:PutItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.b.arn, "${aws_dynamodb_table.b.arn}/index/*"]
  }
}`, "inline.tf:11: policies grant [dynamodb:PutItem dynamodb:Scan] on aws_dynamodb_table.b, want exactly [dynamodb:PutItem]"},
		{"less than the worker calls", grants, `
resource "aws_dynamodb_table" "t" {}
resource "aws_dynamodb_table" "b" {}
data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["dynamodb:GetItem"]
    resources = [aws_dynamodb_table.t.arn]
  }
}`, "inline.tf:3: policies grant [] on aws_dynamodb_table.b, want exactly [dynamodb:PutItem]"},
		{"log line nobody counts", blockedAlarm, `
resource "aws_cloudwatch_log_group" "w" {}
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{ logConfiguration = { options = { awslogs-group = aws_cloudwatch_log_group.w.name } } }])
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  log_group_name = aws_cloudwatch_log_group.w.name
  pattern        = "{ $.message = \"ingestion blocked\" }"
}`, `no aws_cloudwatch_log_metric_filter with pattern { $.msg = "ingestion blocked" }`},
		{"filter on another log group, alarm on its dimensions", blockedAlarm, `
resource "aws_cloudwatch_log_group" "w" {}
resource "aws_cloudwatch_log_group" "other" {}
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{ logConfiguration = { options = { awslogs-group = aws_cloudwatch_log_group.w.name } } }])
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  log_group_name = aws_cloudwatch_log_group.other.name
  pattern        = "{ $.msg = \"ingestion blocked\" }"
  metric_transformation {
    namespace  = "N"
    name       = "IngestionBlocked"
    value      = "1"
    dimensions = { Reason = "$.reason" }
  }
}
resource "aws_cloudwatch_metric_alarm" "a" {
  namespace     = "N"
  metric_name   = aws_cloudwatch_log_metric_filter.f.metric_transformation[0].name
  statistic     = "Sum"
  alarm_actions = []
}`, "inline.tf:17: aws_cloudwatch_metric_alarm.a reads aws_cloudwatch_log_metric_filter.f's metric without its dimensions"},
		{"summing a field instead of counting lines", blockedAlarm, badLogAlarm, `inline.tf:9: aws_cloudwatch_log_metric_filter.f metric_transformation value is "$.count", want "1"`},
		{"alarm averaging a log metric", blockedAlarm, badLogAlarm, `inline.tf:18: aws_cloudwatch_metric_alarm.a statistic must be "Sum"`},
		{"alarm without actions", blockedAlarm, badLogAlarm, "inline.tf:15: aws_cloudwatch_metric_alarm.a has no alarm_actions"},
		{"no point-in-time recovery", dynamo, `
resource "aws_dynamodb_table" "t" {
  billing_mode = "PROVISIONED"
  hash_key     = "conversationId"
  attribute {
    name = "conversationId"
    type = "N"
  }
  server_side_encryption {
    enabled = true
  }
}`, "inline.tf:2: aws_dynamodb_table.t has no point_in_time_recovery"},
		{"stopTimeout not 120", evaluated(checkStopTimeout), `
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{
    name        = "worker"
    stopTimeout = 30
  }])
}`, `inline.tf:3: aws_ecs_task_definition.t container "worker" stopTimeout must be 120 (got 30)`},
		{"worker drains past stopTimeout", evaluated(checkStopTimeout), `
variable "stop" {
  description = "d"
  type        = number
  default     = 120
}
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{
    name        = "worker"
    stopTimeout = 120
    environment = [{ name = "WORKER_STOP_TIMEOUT", value = "${var.stop}s" }]
  }])
}`, `inline.tf:8: aws_ecs_task_definition.t container "worker" WORKER_STOP_TIMEOUT 120s is not below stopTimeout 120s`},
		{"consumed queue without DLQ", evaluated(checkDLQs), `
resource "aws_sqs_queue" "q" {
  sqs_managed_sse_enabled = true
}
resource "aws_lambda_function" "f" {}
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn = aws_sqs_queue.q.arn
  function_name    = aws_lambda_function.f.arn
}`, "inline.tf:2: aws_sqs_queue.q (consumed by aws_lambda_event_source_mapping.m) has no redrive_policy"},
		{"rule target without DLQ, DLQ without alarm, unencrypted queue", evaluated(checkDLQs), `
resource "aws_sqs_queue" "q" {
  sqs_managed_sse_enabled = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 5
  })
}
resource "aws_sqs_queue" "dlq" {}
resource "aws_lambda_function" "f" {}
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn = aws_sqs_queue.q.arn
  function_name    = aws_lambda_function.f.arn
}
resource "aws_cloudwatch_event_target" "t" {
  rule = "r"
  arn  = aws_sqs_queue.q.arn
}`, "inline.tf:15: aws_cloudwatch_event_target.t has no dead_letter_config"},
		{"DLQ without alarm", evaluated(checkDLQs), `
resource "aws_sqs_queue" "q" {
  sqs_managed_sse_enabled = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 5
  })
}
resource "aws_sqs_queue" "dlq" {
  sqs_managed_sse_enabled = true
}
resource "aws_lambda_function" "f" {}
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn = aws_sqs_queue.q.arn
  function_name    = aws_lambda_function.f.arn
}`, "inline.tf:9: DLQ aws_sqs_queue.dlq (used at inline.tf:4) has no ApproximateNumberOfMessagesVisible alarm"},
		{"unencrypted queue", evaluated(checkDLQs), `
resource "aws_sqs_queue" "plain" {}`, "inline.tf:2: aws_sqs_queue.plain is not encrypted"},
		{"secret value in state", static(checkSecretVersions), `
resource "aws_secretsmanager_secret_version" "v" {
  secret_id     = "x"
  secret_string = jsonencode({ api_key = "hunter2" })
}`, "inline.tf:4: aws_secretsmanager_secret_version.v sets secret_string"},
		{"published port and no circuit breaker", evaluated(checkECS), `
resource "aws_ecs_task_definition" "t" {
  requires_compatibilities = ["FARGATE"]
  runtime_platform {
    cpu_architecture        = "X86_64"
    operating_system_family = "LINUX"
  }
  container_definitions = jsonencode([{
    name             = "worker"
    portMappings     = [{ containerPort = 9464 }]
    logConfiguration = { logDriver = "awslogs" }
  }])
}
resource "aws_ecs_service" "s" {
  network_configuration {
    assign_public_ip = true
  }
}`, `inline.tf:8: aws_ecs_task_definition.t container "worker" publishes portMappings`},
		{"x86 task", evaluated(checkECS), `
resource "aws_ecs_task_definition" "t" {
  runtime_platform {
    cpu_architecture        = "X86_64"
    operating_system_family = "LINUX"
  }
}`, `inline.tf:3: aws_ecs_task_definition.t cpu_architecture must be "ARM64", got "X86_64"`},
		{"service without circuit breaker", evaluated(checkECS), `
resource "aws_ecs_service" "s" {
  network_configuration {
    assign_public_ip = false
  }
}`, "inline.tf:2: aws_ecs_service.s has no deployment_circuit_breaker"},
		{"security group ingress", evaluated(checkECS), `
resource "aws_security_group" "g" {
  ingress {
    from_port = 0
    to_port   = 0
  }
}`, "inline.tf:2: aws_security_group.g has ingress rules"},
		{"ingress rule to the worker from an address range", evaluated(checkECS), `
resource "aws_security_group" "w" {}
resource "aws_ecs_service" "s" {
  network_configuration {
    assign_public_ip = false
    security_groups  = [aws_security_group.w.id]
  }
}
resource "aws_vpc_security_group_ingress_rule" "i" {
  security_group_id = aws_security_group.w.id
  cidr_ipv4         = "10.0.0.0/8"
}`, "inline.tf:10: aws_vpc_security_group_ingress_rule.i: the worker security group aws_security_group.w must have no ingress"},
		{"ingress rule from an address range", evaluated(checkECS), `
resource "aws_security_group" "endpoints" {}
resource "aws_vpc_security_group_ingress_rule" "i" {
  security_group_id = aws_security_group.endpoints.id
  cidr_ipv4         = "0.0.0.0/0"
}`, "inline.tf:3: aws_vpc_security_group_ingress_rule.i must allow a security group (referenced_security_group_id), not an address range"},
		{"egress port range", evaluated(checkECS), `
resource "aws_vpc_security_group_egress_rule" "e" {
  ip_protocol = "tcp"
  from_port   = 0
  to_port     = 65535
}`, "inline.tf:2: aws_vpc_security_group_egress_rule.e opens ports 0-65535"},
		{"no backlog scaling", scaling, `
resource "aws_appautoscaling_policy" "cpu" {
  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}`, "no target tracking policy on the worker's ApproximateBacklogCount metric"},
		{"scaling namespace differs from the worker's", scaling, `
resource "aws_appautoscaling_policy" "backlog" {
  target_tracking_scaling_policy_configuration {
    customized_metric_specification {
      metrics {
        id = "b"
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "Other"
            metric_name = "ApproximateBacklogCount"
          }
        }
      }
    }
  }
}
resource "aws_ecs_task_definition" "t" {
  container_definitions = jsonencode([{
    name        = "worker"
    environment = [{ name = "BACKLOG_METRIC_NAMESPACE", value = "GenesysIngest/x" }]
  }])
}`, `inline.tf:19: aws_ecs_task_definition.t container "worker" publishes the backlog to BACKLOG_METRIC_NAMESPACE "GenesysIngest/x" but the scaling policy reads "Other"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertFinding(t, c.check(t, loadModuleSource(t, c.src)), c.want)
		})
	}

	// Module calls are checked against the called module.
	t.Run("module call with unknown argument and output", func(t *testing.T) {
		callee := loadModuleSource(t, `
variable "needed" {
  description = "d"
  type        = string
}
output "ok" {
  description = "d"
  value       = var.needed
}`)
		caller := loadModuleSource(t, `
module "m" {
  source = "./m"
  typo   = "x"
}
output "o" {
  description = "d"
  value       = module.m.missing
}`)
		fs := checkModuleCall(caller, "m", callee)
		assertFinding(t, fs, `inline.tf:4: module.m passes "typo", which the module does not declare`)
		assertFinding(t, fs, `inline.tf:2: module.m does not pass required variable "needed"`)
		assertFinding(t, fs, `inline.tf:8: module.m has no output "missing"`)
	})
}

// assertFinding fails unless one finding contains want.
func assertFinding(t *testing.T, fs []finding, want string) {
	t.Helper()
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.String()
		if strings.Contains(lines[i], want) {
			if !regexp.MustCompile(`^[^:]+\.tf:\d+: `).MatchString(lines[i]) {
				t.Errorf("finding %q does not start with file:line", lines[i])
			}
			return
		}
	}
	t.Errorf("no finding contains %q; got %d:\n%s", want, len(fs), strings.Join(lines, "\n"))
}

func names(entries []envEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.name
	}
	return out
}

func assertNames(t *testing.T, what string, got, want []string) {
	t.Helper()
	g := append([]string{}, got...)
	w := append([]string{}, want...)
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, ",") != strings.Join(w, ",") {
		t.Errorf("%s names:\n got  %v\n want %v", what, g, w)
	}
}
