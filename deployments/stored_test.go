package deployments_test

// The stored record's side of the module: the orgDay index, the detail
// bucket, who may read and change what is stored, and the command that
// creates the scheduled sweep.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/starter/sweep"
	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// peoplePolicies are the policy documents for the people who run the
// starter CLI; the module attaches them to nothing.
var peoplePolicies = []string{"reader", "operator"}

// TestDayIndexMatchesStore: the conversations table has exactly the orgDay
// index activities/store queries, projecting store.DayIndexAttributes.
func TestDayIndexMatchesStore(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	e := m.evaluate(t, requiredInputs())
	tb := m.find("resource", "aws_dynamodb_table", "conversations")
	if tb == nil {
		t.Fatal("no aws_dynamodb_table.conversations")
	}

	// DynamoDB refuses an attribute definition that keys nothing.
	attrs := map[string]string{}
	for _, a := range nestedBlocks(tb.body(), "attribute") {
		name, _, _ := e.attr(a.Body, "name")
		typ, _, _ := e.attr(a.Body, "type")
		n, _ := knownString(name)
		attrs[n], _ = knownString(typ)
	}
	want := map[string]string{store.PartitionKey: "S", store.DayIndexKey: "S", store.DayIndexSortKey: "S"}
	if fmt.Sprint(attrs) != fmt.Sprint(want) {
		t.Errorf("aws_dynamodb_table.conversations attributes = %v, want %v (the table's and the index's keys)", attrs, want)
	}

	gsis := nestedBlocks(tb.body(), "global_secondary_index")
	if len(gsis) != 1 {
		t.Fatalf("aws_dynamodb_table.conversations has %d global_secondary_index blocks, want 1 (%s)", len(gsis), store.DayIndex)
	}
	gsi := gsis[0].Body
	for attr, want := range map[string]string{
		"name":            store.DayIndex,
		"hash_key":        store.DayIndexKey,
		"range_key":       store.DayIndexSortKey,
		"projection_type": "INCLUDE",
	} {
		if v, _, _ := e.attr(gsi, attr); !isString(v, want) {
			t.Errorf("index %s = %s, want %q", attr, show(v), want)
		}
	}
	v, a, _ := e.attr(gsi, "non_key_attributes")
	els, ok := elements(v)
	if !ok {
		t.Fatal("index non_key_attributes cannot be evaluated")
	}
	var got []string
	for _, el := range els {
		s, _ := knownString(el)
		got = append(got, s)
	}
	if slices.Sort(got); !slices.Equal(slices.Compact(slices.Clone(got)), got) {
		t.Errorf("%s:%d: index non_key_attributes lists an attribute twice: %v", a.SrcRange.Filename, a.SrcRange.Start.Line, got)
	}
	wantAttrs := slices.Sorted(slices.Values(store.DayIndexAttributes))
	if !slices.Equal(got, wantAttrs) {
		t.Errorf("%s:%d: index non_key_attributes\n got  %v\n want %v (store.DayIndexAttributes)", a.SrcRange.Filename, a.SrcRange.Start.Line, got, wantAttrs)
	}
}

// TestDetailBucket: the bucket is private, owner-enforced, encrypted the
// way the store writes (SSE-S3), versioned, moved to Standard-IA and
// expired as the variables say, and refuses plain HTTP and unencrypted puts.
func TestDetailBucket(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	resource := func(typ string) *tfBlock {
		t.Helper()
		b := m.find("resource", typ, "details")
		if b == nil {
			t.Fatalf("no %s.details", typ)
		}
		if typ != "aws_s3_bucket" {
			if a := b.body().Attributes["bucket"]; a == nil || !referencesAttr(a.Expr, "aws_s3_bucket", "details", "id") {
				t.Errorf("%s.details must configure aws_s3_bucket.details (bucket = aws_s3_bucket.details.id)", typ)
			}
		}
		return b
	}
	nested := func(b *tfBlock, path ...string) *hclsyntax.Body {
		t.Helper()
		body := b.body()
		for _, p := range path {
			nb := nestedBlock(body, p)
			if nb == nil {
				t.Fatalf("%s has no %s block", b.addr(), strings.Join(path, "."))
			}
			body = nb.Body
		}
		return body
	}
	expect := func(e *evaluator, b *tfBlock, body *hclsyntax.Body, attr string, want cty.Value) {
		t.Helper()
		if v, _, _ := e.attr(body, attr); v == cty.NilVal || !v.IsWhollyKnown() || !v.Equals(want).True() {
			t.Errorf("%s %s = %s, want %s", b.addr(), attr, show(v), show(want))
		}
	}

	e := m.evaluate(t, requiredInputs())
	bucket := resource("aws_s3_bucket")
	expect(e, bucket, bucket.body(), "force_destroy", cty.False)
	pab := resource("aws_s3_bucket_public_access_block")
	for _, attr := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		expect(e, pab, pab.body(), attr, cty.True)
	}
	own := resource("aws_s3_bucket_ownership_controls")
	expect(e, own, nested(own, "rule"), "object_ownership", cty.StringVal("BucketOwnerEnforced"))
	sse := resource("aws_s3_bucket_server_side_encryption_configuration")
	expect(e, sse, nested(sse, "rule", "apply_server_side_encryption_by_default"), "sse_algorithm", cty.StringVal(string(s3types.ServerSideEncryptionAes256)))
	ver := resource("aws_s3_bucket_versioning")
	expect(e, ver, nested(ver, "versioning_configuration"), "status", cty.StringVal("Enabled"))

	// Standard-IA and expiry as the variables say; no expiry by default.
	lc := resource("aws_s3_bucket_lifecycle_configuration")
	for _, c := range []struct {
		ia      int64
		expire  cty.Value
		expires bool
	}{
		{30, cty.NullVal(cty.Number), false},
		{90, cty.NumberIntVal(400), true},
	} {
		e := m.evaluate(t, with(requiredInputs(), "detail_bucket_ia_after_days", cty.NumberIntVal(c.ia), "detail_bucket_expire_after_days", c.expire))
		reportFindings(t, "validations", checkConditions(e))
		rules := nestedBlocks(lc.body(), "rule")
		if len(rules) != 1 {
			t.Fatalf("%s has %d rules, want 1", lc.addr(), len(rules))
		}
		rule := rules[0].Body
		expect(e, lc, rule, "status", cty.StringVal("Enabled"))
		tr := nestedBlock(rule, "transition")
		if tr == nil {
			t.Fatalf("%s has no transition", lc.addr())
		}
		expect(e, lc, tr.Body, "days", cty.NumberIntVal(c.ia))
		expect(e, lc, tr.Body, "storage_class", cty.StringVal("STANDARD_IA"))
		exp := e.expand(rule, "expiration")
		if got := len(exp) == 1; got != c.expires {
			t.Errorf("detail_bucket_expire_after_days = %s: %s expires objects: %v, want %v", show(c.expire), lc.addr(), got, c.expires)
		}
		for _, x := range exp {
			if v, _ := e.valueIn(x.ctx, x.body.Attributes["days"].Expr); !v.Equals(c.expire).True() {
				t.Errorf("%s expiration days = %s, want %s", lc.addr(), show(v), show(c.expire))
			}
		}
		if nestedBlock(rule, "noncurrent_version_expiration") == nil {
			t.Errorf("%s keeps noncurrent versions forever: add noncurrent_version_expiration", lc.addr())
		}
	}

	// The default name is one the module accepts, even with the longest
	// name prefix.
	longest := strings.Repeat("n", 32)
	e = m.evaluate(t, with(requiredInputs(), "name", cty.StringVal(longest)))
	locals := map[string]cty.Value{}
	for it := e.ctx.Variables["local"].ElementIterator(); it.Next(); {
		k, v := it.Element()
		locals[k.AsString()] = v
	}
	locals["account_id"] = cty.StringVal("123456789012")
	ctx := e.ctx.NewChild()
	ctx.Variables = map[string]cty.Value{"local": cty.ObjectVal(locals)}
	name, _ := e.valueIn(ctx, m.locals["detail_bucket_name"].Expr)
	if !isString(name, longest+"-details-123456789012") {
		t.Errorf("local.detail_bucket_name = %s, want <name>-details-<account id>", show(name))
	}
	reportFindings(t, "default bucket name as detail_bucket_name", checkConditions(m.evaluate(t, with(requiredInputs(), "detail_bucket_name", name))))
	e = m.evaluate(t, with(requiredInputs(), "detail_bucket_name", cty.StringVal("acme-genesys-details")))
	expect(e, bucket, bucket.body(), "bucket", cty.StringVal("acme-genesys-details"))

	// The bucket policy denies plain HTTP and puts without SSE-S3, to
	// everyone.
	policy := resource("aws_s3_bucket_policy")
	if a := policy.body().Attributes["policy"]; a == nil || !slices.Contains(refs(a.Expr, "data"), "aws_iam_policy_document") {
		t.Fatalf("%s policy must be a data.aws_iam_policy_document", policy.addr())
	}
	e = m.evaluate(t, requiredInputs())
	withPlaceholders(e, "aws_s3_bucket")
	arn := placeholder("aws_s3_bucket", "details", "arn")
	denies := map[string]string{}
	for _, st := range statements(t, e, "details_bucket") {
		if st.effect != "Deny" || fmt.Sprint(st.principals) != "[*:*]" {
			continue
		}
		denies[fmt.Sprintf("%v on %v", st.actions, st.resources)] = fmt.Sprint(st.conditions)
	}
	for deny, cond := range map[string]string{
		fmt.Sprintf("[s3:*] on [%s %s/*]", arn, arn): "[Bool aws:SecureTransport [false]]",
		fmt.Sprintf("[s3:PutObject] on [%s/*]", arn): "[StringNotEquals s3:x-amz-server-side-encryption [" + string(s3types.ServerSideEncryptionAes256) + "]]",
	} {
		if got, ok := denies[deny]; !ok || got != cond {
			t.Errorf("the bucket policy has no Deny of %s to everyone when %s (denies: %v)", deny, cond, denies)
		}
	}
}

// TestStoreAccess: the worker may only put detail objects; readers and
// operators get exactly what their starter commands call, on the tables,
// the orgDay index, the bucket and the Temporal secret: conversations where
// reads the conversation's item and then each batch's record with GetItem
// (store.Table.Handling, store.Batches.Get).
func TestStoreAccess(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	table := func(name string) string { return placeholder("aws_dynamodb_table", name, "arn") }
	objects := placeholder("aws_s3_bucket", "details", "arn") + "/*"
	reader := map[string][]string{
		table("conversations"):                              {"dynamodb:GetItem", "dynamodb:Scan"},
		table("conversations") + "/index/" + store.DayIndex: {"dynamodb:Query"},
		table("batches"):                                    {"dynamodb:GetItem", "dynamodb:Scan"}, // batches list; conversations where
		objects:                                             {"s3:GetObject"},
	}
	operator := func(extra map[string][]string) map[string][]string {
		out := map[string][]string{}
		for _, g := range []map[string][]string{reader, extra} {
			for r, acts := range g {
				out[r] = slices.Sorted(slices.Values(append(slices.Clone(out[r]), acts...)))
			}
		}
		return out
	}
	cases := []struct {
		name     string
		vars     map[string]cty.Value
		operator map[string][]string
	}{
		{"API key", with(requiredInputs(), "temporal_secret_arn", cty.StringVal(secretARN)), operator(map[string][]string{
			table("conversations"): {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"},
			secretARN:              {"secretsmanager:GetSecretValue"},
		})},
		{"API key in a secret with its own KMS key", with(requiredInputs(), "temporal_secret_arn", cty.StringVal(secretARN), "secrets_kms_key_arn", cty.StringVal(kmsARN)), operator(map[string][]string{
			table("conversations"): {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"},
			secretARN:              {"secretsmanager:GetSecretValue"},
			kmsARN:                 {"kms:Decrypt"},
		})},
		{"no Temporal auth", with(requiredInputs(), "temporal_auth_mode", cty.StringVal("none"), "secrets_kms_key_arn", cty.StringVal(kmsARN)), operator(map[string][]string{
			table("conversations"): {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"},
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := m.evaluate(t, c.vars)
			withPlaceholders(e, "aws_dynamodb_table", "aws_s3_bucket")
			assertGrants(t, "reader", grants(t, e, "reader"), reader)
			assertGrants(t, "operator", grants(t, e, "operator"), c.operator)

			worker := map[string][]string{}
			for r, acts := range grants(t, e, workerPolicy) {
				if strings.Contains(r, "aws_s3_bucket") {
					worker[r] = acts
				}
			}
			assertGrants(t, "worker (S3)", worker, map[string][]string{objects: {"s3:PutObject"}})
		})
	}

	// The people's policies are outputs, attached to nothing here.
	for _, name := range peoplePolicies {
		out := m.find("output", "", name+"_policy_json")
		if out == nil || !slices.Contains(policyDocuments(out.body()), name) {
			t.Errorf("no output %s_policy_json with data.aws_iam_policy_document.%s.json", name, name)
		}
		for _, b := range m.all("resource", "") {
			if slices.Contains(policyDocuments(b.body()), name) {
				t.Errorf("%s uses data.aws_iam_policy_document.%s: the people's policies are for roles outside the module", b.addr(), name)
			}
		}
	}
}

// TestSweepScheduleCommand: the command creates the schedule with the
// connection and queues the forwarder and the worker have, valid settings,
// and the API key read from the secret, never written out.
func TestSweepScheduleCommand(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	out := m.find("output", "", "sweep_schedule_command")
	if out == nil {
		t.Fatal("no output sweep_schedule_command")
	}
	const orgID = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	cases := []struct {
		name string
		vars map[string]cty.Value
		args []string // after `go run ./starter`
		env  []string
	}{
		{"API key, defaults", with(requiredInputs(), "temporal_secret_arn", cty.StringVal(secretARN)),
			[]string{"sweep", "schedule", "--every", "1h", "--window", "48h", "--org", orgID},
			[]string{"GENESYS_TASK_QUEUE", "READY_POLL_INTERVAL", "READY_TIMEOUT", "TEMPORAL_ADDRESS", "TEMPORAL_API_KEY", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"}},
		{"self-hosted with TLS, own queues, no org id", with(requiredInputs(),
			"temporal_auth_mode", cty.StringVal("none"), "temporal_tls", cty.True,
			"temporal_address", cty.StringVal("temporal.internal:7233"), "temporal_namespace", cty.StringVal("acme's namespace"),
			"temporal_task_queue", cty.StringVal("acme"), "genesys_task_queue", cty.StringVal("acme-genesys"), "ready_timeout", cty.StringVal("3h"),
			"sweep_every", cty.StringVal("15m"), "sweep_window", cty.StringVal("72h"),
			"existing_event_bus_name", cty.StringVal("aws.partner/genesys.com/cloud/org/suffix"),
			"genesys_org_id", cty.NullVal(cty.String), "genesys_event_source_suffix", cty.NullVal(cty.String)),
			[]string{"sweep", "schedule", "--every", "15m", "--window", "72h"},
			[]string{"GENESYS_TASK_QUEUE", "READY_POLL_INTERVAL", "READY_TIMEOUT", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "TEMPORAL_TLS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := m.evaluate(t, c.vars)
			reportFindings(t, "validations and preconditions", checkConditions(e))
			v, _, _ := e.attr(out.body(), "value")
			cmd, ok := knownString(v)
			if !ok {
				t.Fatal("sweep_schedule_command cannot be evaluated")
			}
			words, err := shellWords(cmd)
			if err != nil {
				t.Fatalf("%q: %v", cmd, err)
			}
			env := map[string]string{}
			for len(words) > 0 {
				name, value, ok := strings.Cut(words[0], "=")
				if !ok || strings.ToUpper(name) != name {
					break
				}
				env[name], words = value, words[1:]
			}
			assertNames(t, "environment", slices.Collect(maps.Keys(env)), c.env)
			if want := append([]string{"go", "run", "./starter"}, c.args...); !slices.Equal(words, want) {
				t.Errorf("command %q\n got  %q\n want %q", cmd, words, want)
			}

			// The forwarder's connection and batch options; the worker's
			// queues and TLS.
			fn := m.find("resource", "aws_lambda_function", "forwarder")
			lambda, _, _ := lambdaEnvironment(e, fn)
			containers, _ := containerDefinitions(e)
			worker, _ := containerEnvironment(containers[0])
			for _, src := range []struct {
				what    string
				entries []envEntry
				names   []string
			}{
				{"forwarder", lambda, []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "GENESYS_TASK_QUEUE", "READY_POLL_INTERVAL", "READY_TIMEOUT"}},
				{"worker", worker, []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "GENESYS_TASK_QUEUE", "TEMPORAL_TLS"}},
			} {
				for _, en := range src.entries {
					if !slices.Contains(src.names, en.name) {
						continue
					}
					if want, _ := knownString(en.value); env[en.name] != want {
						t.Errorf("%s=%q in the command, %q in the %s", en.name, env[en.name], want, src.what)
					}
				}
			}

			key, hasKey := env["TEMPORAL_API_KEY"]
			if want := "$(aws secretsmanager get-secret-value --region eu-west-1 --secret-id '" + secretARN + "' --query SecretString --output text | jq -r .api_key)"; hasKey && key != want {
				t.Errorf("TEMPORAL_API_KEY=%q, want it read from the Temporal secret: %q", key, want)
			}

			every, err1 := time.ParseDuration(c.args[3])
			window, err2 := time.ParseDuration(c.args[5])
			s := sweep.Settings{Every: every, Window: window, TaskQueue: env["TEMPORAL_TASK_QUEUE"]}
			if err := s.Validate(); err1 != nil || err2 != nil || err != nil {
				t.Errorf("the starter would refuse --every %s --window %s: %v", c.args[3], c.args[5], errors.Join(err1, err2, err))
			}
		})
	}

	// The module refuses at plan what the starter would refuse.
	longest := time.Duration(workflows.MaxBackfillDays) * 24 * time.Hour
	for _, c := range []struct{ every, window time.Duration }{
		{59 * time.Second, time.Hour}, {time.Minute, time.Hour}, {time.Hour, 59 * time.Minute},
		{time.Hour, longest}, {time.Hour, longest + time.Hour}, {90 * time.Second, 36 * time.Hour},
	} {
		e := m.evaluate(t, with(requiredInputs(), "sweep_every", cty.StringVal(c.every.String()), "sweep_window", cty.StringVal(c.window.String())))
		var refused []string
		for _, f := range checkConditions(e) {
			refused = append(refused, f.msg)
		}
		starter := sweep.Settings{Every: c.every, Window: c.window, TaskQueue: workflows.DefaultTaskQueue}.Validate()
		if (len(refused) > 0) != (starter != nil) {
			t.Errorf("--every %s --window %s: the module refuses it: %v; the starter: %v", c.every, c.window, refused, starter)
		}
	}
}

// shellWords splits a POSIX shell command line into words: quotes removed,
// nothing expanded (a "$(...)" stays as written).
func shellWords(s string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			if inWord {
				words, inWord = append(words, word.String()), false
				word.Reset()
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' at %d", i)
			}
			word.WriteString(s[i+1 : i+1+end])
			i, inWord = i+1+end, true
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated \" at %d", i)
			}
			word.WriteString(s[i+1 : i+1+end])
			i, inWord = i+1+end, true
		case c == '\\' && i+1 < len(s):
			word.WriteByte(s[i+1])
			i, inWord = i+1, true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// placeholder is the value withPlaceholders gives typ.name.attr.
func placeholder(typ, name, attr string) string { return fmt.Sprintf("<%s.%s.%s>", typ, name, attr) }

// withPlaceholders makes the arn, id, name and bucket of the module's
// resources of these types known, as placeholder(...), so that statements
// naming them can be compared.
func withPlaceholders(e *evaluator, types ...string) {
	for _, typ := range types {
		objs := map[string]cty.Value{}
		for _, b := range e.m.resources(typ) {
			attrs := map[string]cty.Value{}
			for _, a := range []string{"arn", "id", "name", "bucket"} {
				attrs[a] = cty.StringVal(placeholder(typ, b.name, a))
			}
			objs[b.name] = cty.ObjectVal(attrs)
		}
		e.ctx.Variables[typ] = cty.ObjectVal(objs)
	}
}

// statement is one evaluated statement of a policy document.
type statement struct {
	effect                                     string
	actions, resources, principals, conditions []string
}

// statements evaluates the statements of data.aws_iam_policy_document.name,
// those of its source_policy_documents first.
func statements(t *testing.T, e *evaluator, name string) []statement {
	t.Helper()
	doc := e.m.find("data", "aws_iam_policy_document", name)
	if doc == nil {
		t.Fatalf("no data.aws_iam_policy_document.%s", name)
	}
	var out []statement
	if a := doc.body().Attributes["source_policy_documents"]; a != nil {
		for _, src := range policyDocuments(&hclsyntax.Body{Attributes: hclsyntax.Attributes{a.Name: a}}) {
			out = append(out, statements(t, e, src)...)
		}
	}
	list := func(ctx *hcl.EvalContext, body *hclsyntax.Body, attr string) []string {
		t.Helper()
		a := body.Attributes[attr]
		if a == nil {
			return nil
		}
		v, _ := e.valueIn(ctx, a.Expr)
		if s, ok := knownString(v); ok && v.Type() == cty.String {
			return []string{s}
		}
		els, ok := elements(v)
		if !ok {
			t.Fatalf("%s:%d: %s cannot be evaluated", a.SrcRange.Filename, a.SrcRange.Start.Line, attr)
		}
		var out []string
		for _, el := range els {
			s, ok := knownString(el)
			switch {
			case !ok && attr == "values": // a condition on something known after apply, e.g. the region
				s = "(known after apply)"
			case !ok:
				t.Fatalf("%s:%d: %s has a value that cannot be evaluated", a.SrcRange.Filename, a.SrcRange.Start.Line, attr)
			}
			out = append(out, s)
		}
		return out
	}
	for _, st := range e.expand(doc.body(), "statement") {
		s := statement{effect: "Allow", actions: list(st.ctx, st.body, "actions"), resources: list(st.ctx, st.body, "resources")}
		if effect := list(st.ctx, st.body, "effect"); len(effect) == 1 {
			s.effect = effect[0]
		}
		for _, p := range nestedBlocks(st.body, "principals") {
			for _, id := range list(st.ctx, p.Body, "identifiers") {
				s.principals = append(s.principals, strings.Join(list(st.ctx, p.Body, "type"), "")+":"+id)
			}
		}
		for _, c := range nestedBlocks(st.body, "condition") {
			s.conditions = append(s.conditions, fmt.Sprintf("%s %s %v",
				strings.Join(list(st.ctx, c.Body, "test"), ""), strings.Join(list(st.ctx, c.Body, "variable"), ""), list(st.ctx, c.Body, "values")))
		}
		out = append(out, s)
	}
	return out
}

// grants returns, by resource, the actions a policy document allows.
func grants(t *testing.T, e *evaluator, name string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, st := range statements(t, e, name) {
		if st.effect != "Allow" {
			continue
		}
		for _, r := range st.resources {
			out[r] = slices.Compact(slices.Sorted(slices.Values(append(out[r], st.actions...))))
		}
	}
	return out
}

func assertGrants(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for _, r := range sortedKeys(got) {
		if !slices.Equal(got[r], want[r]) {
			t.Errorf("%s may %v on %s, want %v", what, got[r], r, want[r])
		}
	}
	for _, r := range sortedKeys(want) {
		if _, ok := got[r]; !ok {
			t.Errorf("%s may nothing on %s, want %v", what, r, want[r])
		}
	}
}

// policyDocuments returns the names N of data.aws_iam_policy_document.N
// referenced anywhere in body.
func policyDocuments(body *hclsyntax.Body) []string {
	var out []string
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, a := range b.Attributes {
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() != "data" || len(tr) < 3 {
					continue
				}
				typ, ok1 := tr[1].(hcl.TraverseAttr)
				name, ok2 := tr[2].(hcl.TraverseAttr)
				if ok1 && ok2 && typ.Name == "aws_iam_policy_document" {
					out = append(out, name.Name)
				}
			}
		}
		for _, nb := range b.Blocks {
			walk(nb.Body)
		}
	}
	walk(body)
	return out
}
