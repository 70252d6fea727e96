package deployments_test

// Checker functions over a parsed module. Each returns the broken invariants
// as findings (file:line: message); terraform_test.go runs them over the real
// configuration and over small bad snippets that prove each one can fail.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// secretEnvName matches environment variable names that would carry a
// credential. Names ending in _ARN carry a reference to one and are allowed.
var secretEnvName = regexp.MustCompile(`(?i)(SECRET|API_?KEY|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|KEY_DATA|CERT_DATA|CREDENTIAL|CLIENT_ID)`)

func secretLookingEnv(name string) bool {
	return secretEnvName.MatchString(name) && !strings.HasSuffix(strings.ToUpper(name), "_ARN")
}

// secretVariableName matches Terraform variable names that would hold a
// credential value (a name merely mentioning secrets, such as
// secret_recovery_window_days or temporal_secret_arn, does not).
var secretVariableName = regexp.MustCompile(`(?i)(secret|secret_string|password|passwd|token|api_?key|private_key|key_data|cert_data|client_id|credentials?)$`)

// noResourceLevelActions are the actions AWS authorizes only on Resource "*",
// with the condition key a statement using them must constrain ("" if none
// applies). Documented next to their use in iam.tf.
var noResourceLevelActions = map[string]string{
	// CloudWatch: PutMetricData has no resource types; limit the namespace.
	"cloudwatch:PutMetricData": "cloudwatch:namespace",
	// ECR: the registry authorization token is account-wide; the pull
	// actions of the same role name the repository.
	"ecr:GetAuthorizationToken": "",
	// EC2: a Lambda in a VPC describes network interfaces and subnets; the
	// actions that change them name the subnets and security groups.
	"ec2:DescribeNetworkInterfaces": "",
	"ec2:DescribeSubnets":           "",
}

// checkReferences: every var., local., resource, data source and module a
// configuration refers to is declared in the same module.
func checkReferences(m *module) []finding {
	declared := map[string]bool{}
	types := map[string]bool{}
	for _, b := range m.blocks {
		declared[b.addr()] = true
		if b.kind == "resource" {
			types[b.typ] = true
		}
	}
	var out []finding
	m.everyAttribute(func(a *hclsyntax.Attribute) {
		for _, tr := range a.Expr.Variables() {
			root := tr.RootName()
			step := func(i int) string {
				if len(tr) <= i {
					return ""
				}
				if s, ok := tr[i].(hcl.TraverseAttr); ok {
					return s.Name
				}
				return ""
			}
			rng := tr.SourceRange()
			switch root {
			case "var":
				if m.variables[step(1)] == nil {
					out = append(out, findingf(rng, "var.%s is not declared in this module", step(1)))
				}
			case "local":
				if m.locals[step(1)] == nil {
					out = append(out, findingf(rng, "local.%s is not declared in this module", step(1)))
				}
			case "data":
				if !declared["data."+step(1)+"."+step(2)] {
					out = append(out, findingf(rng, "data.%s.%s is not declared in this module", step(1), step(2)))
				}
			case "module":
				if !declared["module."+step(1)] {
					out = append(out, findingf(rng, "module.%s is not declared in this module", step(1)))
				}
			case "path", "terraform", "each", "count", "self":
			default:
				if (types[root] || strings.HasPrefix(root, "aws_")) && !declared[root+"."+step(1)] {
					out = append(out, findingf(rng, "%s.%s is not declared in this module", root, step(1)))
				}
			}
		}
	})
	return out
}

// checkDeclarations: every variable has a type and a description, every
// output a description, and no variable holding a credential has a default
// or lacks sensitive = true.
func checkDeclarations(m *module) []finding {
	var out []finding
	names := make([]string, 0, len(m.variables))
	for n := range m.variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := m.variables[n]
		body := v.block.Body
		if body.Attributes["type"] == nil {
			out = append(out, findingf(v.block.DefRange(), "variable %q has no type", n))
		}
		if !hasNonEmptyString(body, "description") {
			out = append(out, findingf(v.block.DefRange(), "variable %q has no description", n))
		}
		if secretVariableName.MatchString(n) {
			if body.Attributes["default"] != nil {
				out = append(out, findingf(body.Attributes["default"].SrcRange, "variable %q looks like a credential and must not have a default (pass a Secrets Manager ARN instead)", n))
			}
			if s, ok := body.Attributes["sensitive"]; !ok || hcl.ExprAsKeyword(s.Expr) != "true" {
				out = append(out, findingf(v.block.DefRange(), "variable %q looks like a credential: take a Secrets Manager ARN instead, or at least mark it sensitive = true", n))
			}
		}
	}
	for _, o := range m.all("output", "") {
		if !hasNonEmptyString(o.body(), "description") {
			out = append(out, findingf(o.block.DefRange(), "output %q has no description", o.name))
		}
	}
	return out
}

func hasNonEmptyString(body *hclsyntax.Body, name string) bool {
	a := body.Attributes[name]
	if a == nil {
		return false
	}
	v, diags := a.Expr.Value(nil)
	s, ok := knownString(v)
	return !diags.HasErrors() && ok && strings.TrimSpace(s) != ""
}

// checkVersions: the terraform block pins required_version and the aws
// provider's source and version.
func checkVersions(m *module) []finding {
	var (
		out         []finding
		hasVersion  bool
		hasProvider bool
	)
	for _, tb := range m.terraform {
		if a := tb.Body.Attributes["required_version"]; a != nil {
			v, _ := a.Expr.Value(nil)
			if s, ok := knownString(v); ok && strings.TrimSpace(s) != "" {
				hasVersion = true
			}
		}
		for _, rp := range nestedBlocks(tb.Body, "required_providers") {
			a := rp.Body.Attributes["aws"]
			if a == nil {
				continue
			}
			v, _ := a.Expr.Value(nil)
			src, okSrc := attrOf(v, "source")
			ver, okVer := attrOf(v, "version")
			s, _ := knownString(src)
			vs, _ := knownString(ver)
			if !okSrc || !okVer || s != "hashicorp/aws" || strings.TrimSpace(vs) == "" {
				out = append(out, findingf(a.SrcRange, "required_providers.aws must set source = \"hashicorp/aws\" and a version constraint"))
				continue
			}
			hasProvider = true
		}
	}
	rng := hcl.Range{Filename: "(module)"}
	if len(m.bodies) > 0 {
		rng = m.bodies[0].SrcRange
	}
	if !hasVersion {
		out = append(out, findingf(rng, "no terraform { required_version = ... } in this module"))
	}
	if !hasProvider {
		out = append(out, findingf(rng, "no terraform { required_providers { aws = {...} } } in this module"))
	}
	return out
}

// checkConditions: every variable validation and lifecycle precondition
// that can be evaluated with the given inputs holds, and none fails to
// evaluate (which would hide a typo that `terraform validate` would catch).
func checkConditions(e *evaluator) []finding {
	var out []finding
	check := func(ctx *hcl.EvalContext, blk *hclsyntax.Block, what string) {
		cond := blk.Body.Attributes["condition"]
		if cond == nil {
			out = append(out, findingf(blk.DefRange(), "%s has no condition", what))
			return
		}
		v, diags := e.valueIn(ctx, cond.Expr)
		if diags.HasErrors() {
			out = append(out, findingf(cond.SrcRange, "%s cannot be evaluated: %s", what, diags.Error()))
			return
		}
		if ok, known := knownBool(v); known && !ok {
			msg := ""
			if m := blk.Body.Attributes["error_message"]; m != nil {
				mv, _ := m.Expr.Value(e.ctx)
				msg, _ = knownString(mv)
			}
			out = append(out, findingf(cond.SrcRange, "%s fails: %s", what, msg))
		}
	}
	names := make([]string, 0, len(e.m.variables))
	for n := range e.m.variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, val := range nestedBlocks(e.m.variables[n].block.Body, "validation") {
			check(e.ctx, val, "validation of var."+n)
		}
	}
	for _, b := range e.m.blocks {
		if !e.mayExist(b) {
			continue // count = 0 or an empty for_each: Terraform skips its conditions
		}
		if lc := nestedBlock(b.body(), "lifecycle"); lc != nil {
			for _, pc := range nestedBlocks(lc.Body, "precondition") {
				check(e.resourceCtx(), pc, "precondition of "+b.addr())
			}
		}
		if b.kind == "output" { // an output's preconditions are its own blocks
			for _, pc := range nestedBlocks(b.body(), "precondition") {
				check(e.ctx, pc, "precondition of "+b.addr())
			}
		}
	}
	return out
}

// checkExpressions: every expression of locals, resources, data sources,
// module calls and outputs evaluates without error (resources being unknown),
// which catches what `terraform validate` would: type mismatches, wrong
// function arguments, references to missing attributes of known values.
func checkExpressions(e *evaluator) []finding {
	var out []finding
	eval := func(ctx *hcl.EvalContext, a *hclsyntax.Attribute, what string) {
		if _, diags := e.valueIn(ctx, a.Expr); diags.HasErrors() {
			out = append(out, findingf(a.SrcRange, "%s: %s", what, diags.Errs()[0].Error()))
		}
	}
	for _, name := range sortedKeys(e.m.locals) {
		eval(e.ctx, e.m.locals[name], "local."+name)
	}
	skip := map[string]bool{"depends_on": true, "providers": true, "source": true, "version": true}
	var walk func(b *tfBlock, body *hclsyntax.Body, ctx *hcl.EvalContext)
	walk = func(b *tfBlock, body *hclsyntax.Body, ctx *hcl.EvalContext) {
		for _, n := range sortedKeys(body.Attributes) {
			if !skip[n] {
				eval(ctx, body.Attributes[n], b.addr()+"."+n)
			}
		}
		for _, nb := range body.Blocks {
			switch {
			case nb.Type == "lifecycle":
				for _, pc := range nb.Body.Blocks {
					walk(b, pc.Body, ctx)
				}
			case nb.Type == "dynamic" && len(nb.Labels) == 1:
				iter := nb.Labels[0]
				if a := nb.Body.Attributes["iterator"]; a != nil {
					iter = hcl.ExprAsKeyword(a.Expr)
				}
				if a := nb.Body.Attributes["for_each"]; a != nil {
					eval(ctx, a, b.addr()+" dynamic "+nb.Labels[0]+" for_each")
				}
				child := ctx.NewChild()
				child.Variables = map[string]cty.Value{iter: cty.DynamicVal}
				if c := nestedBlock(nb.Body, "content"); c != nil {
					walk(b, c.Body, child)
				}
			default:
				walk(b, nb.Body, ctx)
			}
		}
	}
	for _, b := range e.m.blocks {
		if e.mayExist(b) { // Terraform evaluates nothing of a block with count 0
			walk(b, b.body(), e.resourceCtx())
		}
	}
	return out
}

// checkEventSourceMappings: every SQS event source mapping reports partial
// batch failures.
func checkEventSourceMappings(e *evaluator) []finding {
	esms := e.m.resources("aws_lambda_event_source_mapping")
	if len(esms) == 0 {
		return []finding{findingf(moduleRange(e.m), "no aws_lambda_event_source_mapping in this module")}
	}
	var out []finding
	for _, esm := range esms {
		v, a, ok := e.attr(esm.body(), "function_response_types")
		if !ok {
			out = append(out, findingf(esm.block.DefRange(), "%s has no function_response_types: set [\"ReportBatchItemFailures\"]", esm.addr()))
			continue
		}
		if !containsString(v, "ReportBatchItemFailures") {
			out = append(out, findingf(a.SrcRange, "%s function_response_types must contain \"ReportBatchItemFailures\" (got %s)", esm.addr(), show(v)))
		}
	}
	return out
}

// checkVisibilityTimeout: the visibility timeout of each queue a Lambda
// consumes is at least 6 x the function timeout + the batching window.
func checkVisibilityTimeout(e *evaluator) []finding {
	var out []finding
	for _, esm := range e.m.resources("aws_lambda_event_source_mapping") {
		q, fn, fs := esmEnds(e.m, esm)
		out = append(out, fs...)
		if q == nil || fn == nil {
			continue
		}
		vis, visRng, ok := numberAttr(e, q, "visibility_timeout_seconds", 30)
		if !ok {
			out = append(out, findingf(visRng, "%s.visibility_timeout_seconds cannot be evaluated from defaults", q.addr()))
			continue
		}
		timeout, toRng, ok := numberAttr(e, fn, "timeout", 3)
		if !ok {
			out = append(out, findingf(toRng, "%s.timeout cannot be evaluated from defaults", fn.addr()))
			continue
		}
		window, _, ok := numberAttr(e, esm, "maximum_batching_window_in_seconds", 0)
		if !ok {
			window = 0
		}
		if need := 6*timeout + window; vis < need {
			out = append(out, findingf(visRng, "%s visibility timeout is %gs, below 6 x %s timeout (%gs, %s:%d) + batching window (%gs) = %gs",
				q.addr(), vis, fn.addr(), timeout, toRng.Filename, toRng.Start.Line, window, need))
		}
	}
	return out
}

// esmEnds resolves the queue and function an event source mapping joins.
func esmEnds(m *module, esm *tfBlock) (queue, fn *tfBlock, out []finding) {
	src := esm.body().Attributes["event_source_arn"]
	fnAttr := esm.body().Attributes["function_name"]
	if src == nil || fnAttr == nil {
		return nil, nil, []finding{findingf(esm.block.DefRange(), "%s needs event_source_arn and function_name", esm.addr())}
	}
	qs := refs(src.Expr, "aws_sqs_queue")
	fns := refs(fnAttr.Expr, "aws_lambda_function")
	if len(qs) != 1 {
		out = append(out, findingf(src.SrcRange, "%s event_source_arn must reference exactly one aws_sqs_queue of this module", esm.addr()))
	} else if queue = m.find("resource", "aws_sqs_queue", qs[0]); queue == nil {
		out = append(out, findingf(src.SrcRange, "aws_sqs_queue.%s is not declared", qs[0]))
	}
	if len(fns) != 1 {
		out = append(out, findingf(fnAttr.SrcRange, "%s function_name must reference exactly one aws_lambda_function of this module", esm.addr()))
	} else if fn = m.find("resource", "aws_lambda_function", fns[0]); fn == nil {
		out = append(out, findingf(fnAttr.SrcRange, "aws_lambda_function.%s is not declared", fns[0]))
	}
	return queue, fn, out
}

// numberAttr evaluates a numeric attribute, def when absent.
func numberAttr(e *evaluator, b *tfBlock, name string, def float64) (float64, hcl.Range, bool) {
	v, a, ok := e.attr(b.body(), name)
	if !ok {
		return def, b.block.DefRange(), true
	}
	n, known := knownNumber(v)
	return n, a.SrcRange, known
}

// checkLambdaRuntime: Go functions run on provided.al2023, arm64, with the
// executable bootstrap.
func checkLambdaRuntime(e *evaluator) []finding {
	fns := e.m.resources("aws_lambda_function")
	if len(fns) == 0 {
		return []finding{findingf(moduleRange(e.m), "no aws_lambda_function in this module")}
	}
	var out []finding
	for _, fn := range fns {
		want := map[string]string{"runtime": "provided.al2023", "handler": "bootstrap"}
		for _, name := range []string{"runtime", "handler"} {
			v, a, ok := e.attr(fn.body(), name)
			s, known := knownString(v)
			switch {
			case !ok:
				out = append(out, findingf(fn.block.DefRange(), "%s has no %s (want %q)", fn.addr(), name, want[name]))
			case !known || s != want[name]:
				out = append(out, findingf(a.SrcRange, "%s %s must be %q, got %s", fn.addr(), name, want[name], show(v)))
			}
		}
		v, a, ok := e.attr(fn.body(), "architectures")
		els, known := elements(v)
		switch {
		case !ok:
			out = append(out, findingf(fn.block.DefRange(), "%s has no architectures (want [\"arm64\"])", fn.addr()))
		case !known || len(els) != 1 || !containsString(v, "arm64"):
			out = append(out, findingf(a.SrcRange, "%s architectures must be [\"arm64\"], got %s", fn.addr(), show(v)))
		}
		if fn.body().Attributes["source_code_hash"] == nil {
			out = append(out, findingf(fn.block.DefRange(), "%s has no source_code_hash: a rebuilt package would not be deployed", fn.addr()))
		}
	}
	return out
}

// envEntry is one environment variable of a Lambda or a container.
type envEntry struct {
	name  string
	value cty.Value
}

// lambdaEnvironment returns the environment variables of a function.
func lambdaEnvironment(e *evaluator, fn *tfBlock) (entries []envEntry, rng hcl.Range, ok bool) {
	env := nestedBlock(fn.body(), "environment")
	if env == nil {
		return nil, fn.block.DefRange(), true
	}
	a := env.Body.Attributes["variables"]
	if a == nil {
		return nil, env.DefRange(), true
	}
	v, _ := e.value(a.Expr)
	keys, known := keysOf(v)
	if !known {
		return nil, a.SrcRange, false
	}
	for _, k := range keys {
		val, _ := attrOf(v, k)
		entries = append(entries, envEntry{name: k, value: val})
	}
	return entries, a.SrcRange, true
}

// container is one container definition of an ECS task definition.
type container struct {
	td    *tfBlock
	rng   hcl.Range
	value cty.Value
}

func (c container) name() string {
	v, _ := attrOf(c.value, "name")
	s, _ := knownString(v)
	return s
}

// containerDefinitions evaluates container_definitions: the argument of
// jsonencode(...) (so unknown ARNs do not hide the structure), or a JSON
// string.
func containerDefinitions(e *evaluator) ([]container, []finding) {
	var (
		out []container
		fs  []finding
	)
	for _, td := range e.m.resources("aws_ecs_task_definition") {
		a := td.body().Attributes["container_definitions"]
		if a == nil {
			fs = append(fs, findingf(td.block.DefRange(), "%s has no container_definitions", td.addr()))
			continue
		}
		var v cty.Value
		if call, ok := a.Expr.(*hclsyntax.FunctionCallExpr); ok && call.Name == "jsonencode" && len(call.Args) == 1 {
			v, _ = e.value(call.Args[0])
		} else {
			s, _ := e.value(a.Expr)
			if str, ok := knownString(s); ok {
				if dv, err := decodeJSON(str); err == nil {
					v = dv
				}
			}
		}
		els, ok := elements(v)
		if !ok {
			fs = append(fs, findingf(a.SrcRange, "%s container_definitions cannot be evaluated (write it as jsonencode([...]))", td.addr()))
			continue
		}
		for _, el := range els {
			out = append(out, container{td: td, rng: a.SrcRange, value: el})
		}
	}
	return out, fs
}

// containerEnvironment returns the environment list of a container.
func containerEnvironment(c container) ([]envEntry, bool) {
	return containerEntries(c, "environment", "value")
}

// containerSecrets returns the secrets list of a container.
func containerSecrets(c container) ([]envEntry, bool) {
	return containerEntries(c, "secrets", "valueFrom")
}

// containerEntries reads a list of {name, <valueKey>} objects; false when a
// name is not a known string.
func containerEntries(c container, listKey, valueKey string) ([]envEntry, bool) {
	list, ok := attrOf(c.value, listKey)
	if !ok || list.IsNull() {
		return nil, true
	}
	els, ok := elements(list)
	if !ok {
		return nil, false
	}
	var out []envEntry
	for _, el := range els {
		n, _ := attrOf(el, "name")
		name, known := knownString(n)
		if !known {
			return nil, false
		}
		v, _ := attrOf(el, valueKey)
		out = append(out, envEntry{name: name, value: v})
	}
	return out, true
}

var secretRefARN = regexp.MustCompile(`^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:[0-9]{12}:(secret:|parameter/)`)

// checkSecretEnvironment: no Lambda or container environment variable has a
// secret-looking name (credentials reach the Lambda as a Secrets Manager ARN
// and the container through `secrets`), and container secrets point at
// Secrets Manager or SSM ARNs.
func checkSecretEnvironment(e *evaluator) []finding {
	var out []finding
	for _, fn := range e.m.resources("aws_lambda_function") {
		entries, rng, ok := lambdaEnvironment(e, fn)
		if !ok {
			out = append(out, findingf(rng, "%s environment variables cannot be evaluated", fn.addr()))
			continue
		}
		for _, en := range entries {
			if secretLookingEnv(en.name) {
				out = append(out, findingf(rng, "%s environment variable %s looks like a secret: pass a Secrets Manager ARN (e.g. %s_SECRET_ARN) and read it at run time", fn.addr(), en.name, en.name))
			}
		}
	}
	containers, fs := containerDefinitions(e)
	out = append(out, fs...)
	for _, c := range containers {
		env, ok := containerEnvironment(c)
		if !ok {
			out = append(out, findingf(c.rng, "%s container %q environment cannot be evaluated", c.td.addr(), c.name()))
		}
		for _, en := range env {
			if secretLookingEnv(en.name) {
				out = append(out, findingf(c.rng, "%s container %q environment variable %s looks like a secret: move it to `secrets` (valueFrom a Secrets Manager ARN)", c.td.addr(), c.name(), en.name))
			}
		}
		secrets, ok := containerSecrets(c)
		if !ok {
			out = append(out, findingf(c.rng, "%s container %q secrets cannot be evaluated", c.td.addr(), c.name()))
		}
		for _, s := range secrets {
			if ref, known := knownString(s.value); known && !secretRefARN.MatchString(ref) {
				out = append(out, findingf(c.rng, "%s container %q secret %s valueFrom %q is not a Secrets Manager or SSM ARN", c.td.addr(), c.name(), s.name, ref))
			}
		}
	}
	return out
}

// checkIAM: policy documents name specific actions and resources; "*" as a
// resource only for actions without resource-level permissions (with their
// condition key); no managed policy attachments; every policy attribute
// comes from an aws_iam_policy_document so these checks see it.
func checkIAM(e *evaluator) []finding {
	var out []finding
	for _, doc := range e.m.all("data", "aws_iam_policy_document") {
		for _, st := range e.expand(doc.body(), "statement") {
			out = append(out, checkStatement(e, doc, st)...)
		}
	}
	for _, typ := range []string{"aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment"} {
		for _, r := range e.m.resources(typ) {
			out = append(out, findingf(r.block.DefRange(), "%s attaches a managed policy: write an inline aws_iam_policy_document with specific actions and ARNs", r.addr()))
		}
	}
	policyAttrs := map[string][]string{
		"aws_iam_role":                     {"assume_role_policy"},
		"aws_iam_role_policy":              {"policy"},
		"aws_iam_policy":                   {"policy"},
		"aws_sqs_queue_policy":             {"policy"},
		"aws_sns_topic_policy":             {"policy"},
		"aws_secretsmanager_secret":        {"policy"},
		"aws_secretsmanager_secret_policy": {"policy"},
		"aws_kms_key":                      {"policy"},
		"aws_cloudwatch_event_bus_policy":  {"policy"},
		"aws_sqs_queue":                    {"policy"},
		"aws_s3_bucket_policy":             {"policy"},
	}
	for typ, attrs := range policyAttrs {
		for _, r := range e.m.resources(typ) {
			if r.typ == "aws_iam_role" {
				if r.body().Attributes["managed_policy_arns"] != nil || nestedBlock(r.body(), "inline_policy") != nil {
					out = append(out, findingf(r.block.DefRange(), "%s uses managed_policy_arns or inline_policy: use aws_iam_role_policy with an aws_iam_policy_document", r.addr()))
				}
			}
			for _, name := range attrs {
				a := r.body().Attributes[name]
				if a == nil {
					continue
				}
				if !referencesPolicyDocument(a.Expr) {
					out = append(out, findingf(a.SrcRange, "%s.%s must be data.aws_iam_policy_document.<name>.json so its statements are checked", r.addr(), name))
				}
			}
		}
	}
	return out
}

func referencesPolicyDocument(expr hclsyntax.Expression) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "data" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == "aws_iam_policy_document" {
			return true
		}
	}
	return false
}

func checkStatement(e *evaluator, doc *tfBlock, st instance) []finding {
	var out []finding
	where := doc.addr()
	if sid := st.body.Attributes["sid"]; sid != nil {
		v, _ := e.valueIn(st.ctx, sid.Expr)
		if s, ok := knownString(v); ok {
			where += " statement " + s
		}
	}
	if a := st.body.Attributes["effect"]; a != nil {
		v, _ := e.valueIn(st.ctx, a.Expr)
		if s, _ := knownString(v); s == "Deny" {
			return nil // a Deny never grants anything
		}
	}
	for _, n := range []string{"not_actions", "not_resources", "not_principals"} {
		if a := st.body.Attributes[n]; a != nil {
			out = append(out, findingf(a.SrcRange, "%s uses %s: an Allow with not_* grants everything else", where, n))
		}
	}
	var actions []string
	if a := st.body.Attributes["actions"]; a == nil {
		out = append(out, findingf(st.rng, "%s has no actions", where))
	} else {
		v, _ := e.valueIn(st.ctx, a.Expr)
		els, ok := elements(v)
		if !ok {
			out = append(out, findingf(a.SrcRange, "%s actions cannot be evaluated: list them literally", where))
		}
		for _, el := range els {
			s, known := knownString(el)
			switch {
			case !known:
				out = append(out, findingf(a.SrcRange, "%s has an action that cannot be evaluated: list actions literally", where))
			case strings.Contains(s, "*"):
				out = append(out, findingf(a.SrcRange, "%s grants wildcard action %q: name each action", where, s))
			default:
				actions = append(actions, s)
			}
		}
	}
	a := st.body.Attributes["resources"]
	if a == nil {
		if nestedBlock(st.body, "principals") == nil {
			out = append(out, findingf(st.rng, "%s has no resources (an identity policy statement needs specific ARNs)", where))
		}
		return out
	}
	v, _ := e.valueIn(st.ctx, a.Expr)
	els, ok := elements(v)
	if !ok {
		return append(out, findingf(a.SrcRange, "%s resources cannot be evaluated to a list", where))
	}
	for _, el := range els {
		s, known := knownString(el)
		if !known || s != "*" {
			continue
		}
		for _, act := range actions {
			cond, allowed := noResourceLevelActions[act]
			if !allowed {
				out = append(out, findingf(a.SrcRange, "%s grants %s on Resource \"*\": name the resource ARNs (only %s may use \"*\")", where, act, strings.Join(sortedKeys(noResourceLevelActions), ", ")))
				continue
			}
			if cond != "" && !hasConditionOn(e, st, cond) {
				out = append(out, findingf(a.SrcRange, "%s grants %s on Resource \"*\" without a condition on %s", where, act, cond))
			}
		}
	}
	return out
}

func hasConditionOn(e *evaluator, st instance, key string) bool {
	for _, c := range e.expand(st.body, "condition") {
		a := c.body.Attributes["variable"]
		if a == nil {
			continue
		}
		v, _ := e.valueIn(st.ctx, a.Expr)
		if s, ok := knownString(v); ok && s == key {
			vals := c.body.Attributes["values"]
			if vals == nil {
				return false
			}
			vv, _ := e.valueIn(st.ctx, vals.Expr)
			els, ok := elements(vv)
			if !ok || len(els) == 0 {
				return false
			}
			for _, el := range els {
				if s, known := knownString(el); known && strings.Contains(s, "*") {
					return false
				}
			}
			return true
		}
	}
	return false
}

// checkDynamoDB: the module's tables are exactly the ones the Go store package
// uses (keys: resource name -> its partition key, store.PartitionKey or
// store.BatchKey), each keyed like the store, on-demand, with point-in-time
// recovery and encryption.
func checkDynamoDB(e *evaluator, keys map[string]string) []finding {
	tables := e.m.resources("aws_dynamodb_table")
	var out []finding
	declared := map[string]bool{}
	for _, tb := range tables {
		declared[tb.name] = true
		partitionKey, known := keys[tb.name]
		if !known {
			out = append(out, findingf(tb.block.DefRange(), "%s is not a table of activities/store (want one of aws_dynamodb_table.%s)", tb.addr(), strings.Join(sortedKeys(keys), ", aws_dynamodb_table.")))
			continue
		}
		if v, a, ok := e.attr(tb.body(), "hash_key"); !ok {
			out = append(out, findingf(tb.block.DefRange(), "%s has no hash_key (want %q)", tb.addr(), partitionKey))
		} else if s, _ := knownString(v); s != partitionKey {
			out = append(out, findingf(a.SrcRange, "%s hash_key is %s, but the store's key is %q", tb.addr(), show(v), partitionKey))
		}
		found := false
		for _, at := range nestedBlocks(tb.body(), "attribute") {
			n, _, _ := e.attr(at.Body, "name")
			if s, _ := knownString(n); s != partitionKey {
				continue
			}
			found = true
			if t, a, _ := e.attr(at.Body, "type"); a == nil {
				out = append(out, findingf(at.DefRange(), "%s attribute %q has no type (want \"S\")", tb.addr(), partitionKey))
			} else if s, _ := knownString(t); s != "S" {
				out = append(out, findingf(a.SrcRange, "%s attribute %q must have type \"S\", got %s", tb.addr(), partitionKey, show(t)))
			}
		}
		if !found {
			out = append(out, findingf(tb.block.DefRange(), "%s declares no attribute %q", tb.addr(), partitionKey))
		}
		if v, a, ok := e.attr(tb.body(), "billing_mode"); !ok {
			out = append(out, findingf(tb.block.DefRange(), "%s has no billing_mode (want \"PAY_PER_REQUEST\")", tb.addr()))
		} else if s, _ := knownString(v); s != "PAY_PER_REQUEST" {
			out = append(out, findingf(a.SrcRange, "%s billing_mode must be \"PAY_PER_REQUEST\", got %s", tb.addr(), show(v)))
		}
		for _, blk := range []string{"point_in_time_recovery", "server_side_encryption"} {
			nb := nestedBlock(tb.body(), blk)
			if nb == nil {
				out = append(out, findingf(tb.block.DefRange(), "%s has no %s { enabled = true }", tb.addr(), blk))
				continue
			}
			if v, _, _ := e.attr(nb.Body, "enabled"); !isTrue(v) {
				out = append(out, findingf(nb.DefRange(), "%s %s must be enabled", tb.addr(), blk))
			}
		}
	}
	for _, name := range sortedKeys(keys) {
		if !declared[name] {
			out = append(out, findingf(moduleRange(e.m), "no aws_dynamodb_table.%s (partition key %q) in this module", name, keys[name]))
		}
	}
	return out
}

// checkTableGrants: in the policy document docName (the worker's), the
// DynamoDB actions granted on each table of the module are exactly
// want[table resource name] (the calls the worker makes at run time):
// nothing it needs is missing, and nothing more is granted. A table want does
// not list may be granted nothing.
func checkTableGrants(e *evaluator, docName string, want map[string][]string) []finding {
	granted := map[string]map[string]bool{}
	where := map[string]hcl.Range{}
	var out []finding
	for _, doc := range e.m.all("data", "aws_iam_policy_document") {
		if doc.name != docName {
			continue
		}
		for _, st := range e.expand(doc.body(), "statement") {
			res := st.body.Attributes["resources"]
			if res == nil {
				continue
			}
			tables := refs(res.Expr, "aws_dynamodb_table")
			if len(tables) == 0 {
				continue
			}
			var actions []string
			if a := st.body.Attributes["actions"]; a != nil {
				v, _ := e.valueIn(st.ctx, a.Expr)
				els, _ := elements(v)
				for _, el := range els {
					if s, ok := knownString(el); ok {
						actions = append(actions, s)
					}
				}
			}
			for _, tb := range tables {
				if granted[tb] == nil {
					granted[tb] = map[string]bool{}
					where[tb] = res.SrcRange
				}
				for _, act := range actions {
					granted[tb][act] = true
				}
			}
		}
	}
	tables := map[string]bool{}
	for _, tb := range e.m.resources("aws_dynamodb_table") {
		tables[tb.name] = true
	}
	for name := range want {
		tables[name] = true
	}
	for _, name := range sortedKeys(tables) {
		got := sortedKeys(granted[name])
		w := append([]string{}, want[name]...)
		sort.Strings(w)
		if strings.Join(got, ",") == strings.Join(w, ",") {
			continue
		}
		rng, ok := where[name]
		if !ok {
			rng = moduleRange(e.m)
			if tb := e.m.find("resource", "aws_dynamodb_table", name); tb != nil {
				rng = tb.block.DefRange()
			}
		}
		out = append(out, findingf(rng, "policies grant %v on aws_dynamodb_table.%s, want exactly %v", got, name, w))
	}
	return out
}

// logAlarm is an alarm on a line the worker logs.
type logAlarm struct {
	message string // the line's message (JSON key "msg")
	value   string // metric_transformation value: "1" counts lines, "$.<field>" sums a field
}

// pattern is the CloudWatch Logs filter pattern that matches the line.
func (la logAlarm) pattern() string { return fmt.Sprintf("{ $.msg = %q }", la.message) }

// checkLogAlarm: a metric filter on the log group the worker container
// writes to matches the line exactly, with the wanted value, and an alarm
// (with actions, statistic Sum) reads that filter's metric; an alarm on a
// filter with dimensions must name them, or it would read a metric that
// never gets data.
func checkLogAlarm(e *evaluator, la logAlarm) []finding {
	var out []finding
	workerGroups := map[string]bool{}
	for _, td := range e.m.resources("aws_ecs_task_definition") {
		if a := td.body().Attributes["container_definitions"]; a != nil {
			for _, g := range refs(a.Expr, "aws_cloudwatch_log_group") {
				workerGroups[g] = true
			}
		}
	}
	type filter struct {
		b          *tfBlock
		metric, ns string
		dimensions bool
	}
	var filters []filter
	for _, f := range e.m.resources("aws_cloudwatch_log_metric_filter") {
		if v, _, _ := e.attr(f.body(), "pattern"); !isString(v, la.pattern()) {
			continue
		}
		lg := f.body().Attributes["log_group_name"]
		onWorker := false
		if lg != nil {
			for _, g := range refs(lg.Expr, "aws_cloudwatch_log_group") {
				onWorker = onWorker || workerGroups[g]
			}
		}
		if !onWorker {
			out = append(out, findingf(f.block.DefRange(), "%s must read the log group the worker container writes to (aws_cloudwatch_log_group.%s)", f.addr(), strings.Join(sortedKeys(workerGroups), ", ")))
		}
		mt := nestedBlock(f.body(), "metric_transformation")
		if mt == nil {
			out = append(out, findingf(f.block.DefRange(), "%s has no metric_transformation", f.addr()))
			continue
		}
		if v, _, _ := e.attr(mt.Body, "value"); !isString(v, la.value) {
			out = append(out, findingf(mt.DefRange(), "%s metric_transformation value is %s, want %q", f.addr(), show(v), la.value))
		}
		name, _, _ := e.attr(mt.Body, "name")
		ns, _, _ := e.attr(mt.Body, "namespace")
		n, okName := knownString(name)
		s, okNS := knownString(ns)
		if !okName || !okNS {
			out = append(out, findingf(mt.DefRange(), "%s metric name and namespace cannot be evaluated", f.addr()))
			continue
		}
		_, dims := mt.Body.Attributes["dimensions"]
		filters = append(filters, filter{b: f, metric: n, ns: s, dimensions: dims})
	}
	if len(filters) == 0 {
		return append(out, findingf(moduleRange(e.m), "no aws_cloudwatch_log_metric_filter with pattern %s: nothing counts the worker's %q lines", la.pattern(), la.message))
	}
	alarmed := false
	for _, al := range e.m.resources("aws_cloudwatch_metric_alarm") {
		mn := al.body().Attributes["metric_name"]
		if mn == nil {
			continue
		}
		name, _, _ := e.attr(al.body(), "metric_name")
		ns, _, _ := e.attr(al.body(), "namespace")
		for _, f := range filters {
			byRef := false
			for _, r := range refs(mn.Expr, "aws_cloudwatch_log_metric_filter") {
				byRef = byRef || r == f.b.name
			}
			if !byRef && !(isString(name, f.metric) && isString(ns, f.ns)) {
				continue
			}
			if f.dimensions && al.body().Attributes["dimensions"] == nil {
				out = append(out, findingf(al.block.DefRange(), "%s reads %s's metric without its dimensions: it would never get data (alarm on a filter without dimensions)", al.addr(), f.b.addr()))
				continue
			}
			alarmed = true
			if al.body().Attributes["alarm_actions"] == nil {
				out = append(out, findingf(al.block.DefRange(), "%s has no alarm_actions", al.addr()))
			}
			if v, a, _ := e.attr(al.body(), "statistic"); !isString(v, "Sum") {
				rng := al.block.DefRange()
				if a != nil {
					rng = a.SrcRange
				}
				out = append(out, findingf(rng, "%s statistic must be \"Sum\" (a log metric's datapoints are per line), got %s", al.addr(), show(v)))
			}
		}
	}
	if !alarmed {
		out = append(out, findingf(filters[0].b.block.DefRange(), "no aws_cloudwatch_metric_alarm on the metric of %s (%q lines)", filters[0].b.addr(), la.message))
	}
	return out
}

func isString(v cty.Value, want string) bool {
	s, ok := knownString(v)
	return ok && s == want
}

// checkStopTimeout: every container stops within Fargate's 120 s and the
// worker's own drain timeout (WORKER_STOP_TIMEOUT) is below it.
func checkStopTimeout(e *evaluator) []finding {
	containers, out := containerDefinitions(e)
	if len(containers) == 0 && len(out) == 0 {
		return []finding{findingf(moduleRange(e.m), "no aws_ecs_task_definition container in this module")}
	}
	for _, c := range containers {
		st, ok := attrOf(c.value, "stopTimeout")
		n, known := knownNumber(st)
		if !ok || !known || n != 120 {
			out = append(out, findingf(c.rng, "%s container %q stopTimeout must be 120 (got %s)", c.td.addr(), c.name(), show(st)))
			continue
		}
		env, _ := containerEnvironment(c)
		var wst *envEntry
		for i := range env {
			if env[i].name == "WORKER_STOP_TIMEOUT" {
				wst = &env[i]
			}
		}
		if wst == nil {
			out = append(out, findingf(c.rng, "%s container %q sets no WORKER_STOP_TIMEOUT (must be below stopTimeout %gs)", c.td.addr(), c.name(), n))
			continue
		}
		s, known := knownString(wst.value)
		d, err := time.ParseDuration(s)
		switch {
		case !known:
			out = append(out, findingf(c.rng, "%s container %q WORKER_STOP_TIMEOUT cannot be evaluated", c.td.addr(), c.name()))
		case err != nil:
			out = append(out, findingf(c.rng, "%s container %q WORKER_STOP_TIMEOUT %q is not a Go duration: %v", c.td.addr(), c.name(), s, err))
		case d.Seconds() >= n:
			out = append(out, findingf(c.rng, "%s container %q WORKER_STOP_TIMEOUT %s is not below stopTimeout %gs: ECS would kill the worker while it drains", c.td.addr(), c.name(), s, n))
		}
	}
	return out
}

// checkDLQs: the queue a Lambda consumes redrives to its own DLQ, every SQS
// rule target has a dead_letter_config and retry_policy, every DLQ has an
// ApproximateNumberOfMessagesVisible alarm, and every queue is encrypted.
func checkDLQs(e *evaluator) []finding {
	var out []finding
	dlqs := map[string]hcl.Range{}
	esms := e.m.resources("aws_lambda_event_source_mapping")
	if len(esms) == 0 {
		out = append(out, findingf(moduleRange(e.m), "no aws_lambda_event_source_mapping in this module"))
	}
	for _, esm := range esms {
		q, _, _ := esmEnds(e.m, esm)
		if q == nil {
			continue
		}
		a := q.body().Attributes["redrive_policy"]
		if a == nil {
			out = append(out, findingf(q.block.DefRange(), "%s (consumed by %s) has no redrive_policy to a DLQ", q.addr(), esm.addr()))
			continue
		}
		obj := jsonencodeObject(a.Expr)
		if obj == nil {
			out = append(out, findingf(a.SrcRange, "%s redrive_policy must be jsonencode({ deadLetterTargetArn = aws_sqs_queue.<dlq>.arn, maxReceiveCount = ... })", q.addr()))
			continue
		}
		target := objectItem(obj, "deadLetterTargetArn")
		var names []string
		if target != nil {
			names = refs(target, "aws_sqs_queue")
		}
		switch {
		case len(names) != 1:
			out = append(out, findingf(a.SrcRange, "%s redrive_policy deadLetterTargetArn must reference one aws_sqs_queue", q.addr()))
		case names[0] == q.name:
			out = append(out, findingf(a.SrcRange, "%s redrives to itself", q.addr()))
		case e.m.find("resource", "aws_sqs_queue", names[0]) == nil:
			out = append(out, findingf(a.SrcRange, "%s redrives to undeclared aws_sqs_queue.%s", q.addr(), names[0]))
		default:
			dlqs[names[0]] = a.SrcRange
		}
		mrc := objectItem(obj, "maxReceiveCount")
		if mrc == nil {
			out = append(out, findingf(a.SrcRange, "%s redrive_policy has no maxReceiveCount", q.addr()))
		} else if v, _ := e.value(mrc); !isKnownAtLeast(v, 1) {
			out = append(out, findingf(a.SrcRange, "%s redrive_policy maxReceiveCount must be a known number >= 1, got %s", q.addr(), show(v)))
		}
	}
	for _, tg := range e.m.resources("aws_cloudwatch_event_target") {
		arn := tg.body().Attributes["arn"]
		if arn == nil || len(refs(arn.Expr, "aws_sqs_queue")) == 0 {
			continue
		}
		if nestedBlock(tg.body(), "retry_policy") == nil {
			out = append(out, findingf(tg.block.DefRange(), "%s has no retry_policy (maximum_event_age_in_seconds, maximum_retry_attempts)", tg.addr()))
		}
		dl := nestedBlock(tg.body(), "dead_letter_config")
		if dl == nil {
			out = append(out, findingf(tg.block.DefRange(), "%s has no dead_letter_config: undeliverable events would be dropped", tg.addr()))
			continue
		}
		var names []string
		if a := dl.Body.Attributes["arn"]; a != nil {
			names = refs(a.Expr, "aws_sqs_queue")
		}
		if len(names) != 1 || e.m.find("resource", "aws_sqs_queue", names[0]) == nil {
			out = append(out, findingf(dl.DefRange(), "%s dead_letter_config arn must reference an aws_sqs_queue of this module", tg.addr()))
			continue
		}
		dlqs[names[0]] = dl.DefRange()
	}
	for _, name := range sortedKeys(dlqs) {
		if !hasDepthAlarm(e, name) {
			q := e.m.find("resource", "aws_sqs_queue", name)
			out = append(out, findingf(q.block.DefRange(), "DLQ aws_sqs_queue.%s (used at %s:%d) has no ApproximateNumberOfMessagesVisible alarm", name, dlqs[name].Filename, dlqs[name].Start.Line))
		}
	}
	for _, q := range e.m.resources("aws_sqs_queue") {
		sse, _, _ := e.attr(q.body(), "sqs_managed_sse_enabled")
		kms, _, hasKMS := e.attr(q.body(), "kms_master_key_id")
		_, kmsSet := knownString(kms)
		if !isTrue(sse) && !(hasKMS && kmsSet) {
			out = append(out, findingf(q.block.DefRange(), "%s is not encrypted: set sqs_managed_sse_enabled = true or kms_master_key_id", q.addr()))
		}
	}
	return out
}

func hasDepthAlarm(e *evaluator, queue string) bool {
	for _, al := range e.m.resources("aws_cloudwatch_metric_alarm") {
		mn, _, _ := e.attr(al.body(), "metric_name")
		if s, _ := knownString(mn); s != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		if d := al.body().Attributes["dimensions"]; d != nil {
			for _, n := range refs(d.Expr, "aws_sqs_queue") {
				if n == queue {
					return true
				}
			}
		}
	}
	return false
}

// checkSecretVersions: no secret value is written by Terraform (it would be
// in the state).
func checkSecretVersions(m *module) []finding {
	var out []finding
	for _, r := range m.resources("aws_secretsmanager_secret_version") {
		for _, n := range []string{"secret_string", "secret_binary"} {
			if a := r.body().Attributes[n]; a != nil {
				out = append(out, findingf(a.SrcRange, "%s sets %s: the value would be stored in Terraform state; create the secret only and put the value with `aws secretsmanager put-secret-value`", r.addr(), n))
			}
		}
	}
	return out
}

// checkECS: Fargate ARM64 task without published ports, logs to awslogs,
// service in private subnets with a rolling-back circuit breaker, security
// groups with single-port TCP egress only and no ingress, but from a
// security group to one the service does not use.
func checkECS(e *evaluator) []finding {
	var out []finding
	for _, td := range e.m.resources("aws_ecs_task_definition") {
		rp := nestedBlock(td.body(), "runtime_platform")
		if rp == nil {
			out = append(out, findingf(td.block.DefRange(), "%s has no runtime_platform { cpu_architecture = \"ARM64\" }", td.addr()))
		} else {
			arch, _, _ := e.attr(rp.Body, "cpu_architecture")
			osf, _, _ := e.attr(rp.Body, "operating_system_family")
			if s, _ := knownString(arch); s != "ARM64" {
				out = append(out, findingf(rp.DefRange(), "%s cpu_architecture must be \"ARM64\", got %s", td.addr(), show(arch)))
			}
			if s, _ := knownString(osf); s != "LINUX" {
				out = append(out, findingf(rp.DefRange(), "%s operating_system_family must be \"LINUX\", got %s", td.addr(), show(osf)))
			}
		}
		if v, a, ok := e.attr(td.body(), "requires_compatibilities"); !ok || !containsString(v, "FARGATE") {
			rng := td.block.DefRange()
			if a != nil {
				rng = a.SrcRange
			}
			out = append(out, findingf(rng, "%s requires_compatibilities must contain \"FARGATE\"", td.addr()))
		}
	}
	containers, fs := containerDefinitions(e)
	out = append(out, fs...)
	for _, c := range containers {
		if pm, ok := attrOf(c.value, "portMappings"); ok && !pm.IsNull() {
			if els, known := elements(pm); !known || len(els) > 0 {
				out = append(out, findingf(c.rng, "%s container %q publishes portMappings: the worker takes no inbound connections", c.td.addr(), c.name()))
			}
		}
		lc, _ := attrOf(c.value, "logConfiguration")
		drv, _ := attrOf(lc, "logDriver")
		if s, _ := knownString(drv); s != "awslogs" {
			out = append(out, findingf(c.rng, "%s container %q must log with logDriver \"awslogs\"", c.td.addr(), c.name()))
		}
	}
	for _, svc := range e.m.resources("aws_ecs_service") {
		cb := nestedBlock(svc.body(), "deployment_circuit_breaker")
		if cb == nil {
			out = append(out, findingf(svc.block.DefRange(), "%s has no deployment_circuit_breaker { enable = true, rollback = true }", svc.addr()))
		} else {
			en, _, _ := e.attr(cb.Body, "enable")
			rb, _, _ := e.attr(cb.Body, "rollback")
			if !isTrue(en) || !isTrue(rb) {
				out = append(out, findingf(cb.DefRange(), "%s deployment_circuit_breaker must have enable = true and rollback = true", svc.addr()))
			}
		}
		nc := nestedBlock(svc.body(), "network_configuration")
		if nc == nil {
			out = append(out, findingf(svc.block.DefRange(), "%s has no network_configuration", svc.addr()))
		} else if v, a, ok := e.attr(nc.Body, "assign_public_ip"); ok && !isFalse(v) {
			out = append(out, findingf(a.SrcRange, "%s assign_public_ip must be false (private subnets)", svc.addr()))
		}
	}
	for _, sg := range e.m.resources("aws_security_group") {
		if nestedBlock(sg.body(), "ingress") != nil || len(e.expand(sg.body(), "ingress")) > 0 {
			out = append(out, findingf(sg.block.DefRange(), "%s has ingress rules: nothing connects to the worker", sg.addr()))
		}
		if nestedBlock(sg.body(), "egress") != nil {
			out = append(out, findingf(sg.block.DefRange(), "%s has inline egress: use aws_vpc_security_group_egress_rule resources", sg.addr()))
		}
	}
	// Ingress only to what the worker calls (VPC interface endpoints), and
	// only from a security group: never to the service's own groups.
	serviceGroups := map[string]bool{}
	for _, svc := range e.m.resources("aws_ecs_service") {
		if nc := nestedBlock(svc.body(), "network_configuration"); nc != nil {
			if a := nc.Body.Attributes["security_groups"]; a != nil {
				for _, g := range refs(a.Expr, "aws_security_group") {
					serviceGroups[g] = true
				}
			}
		}
	}
	for _, r := range e.m.resources("aws_vpc_security_group_ingress_rule") {
		if a := r.body().Attributes["security_group_id"]; a == nil || len(refs(a.Expr, "aws_security_group")) == 0 {
			out = append(out, findingf(r.block.DefRange(), "%s must name a security group of this module", r.addr()))
		} else {
			for _, g := range refs(a.Expr, "aws_security_group") {
				if serviceGroups[g] {
					out = append(out, findingf(a.SrcRange, "%s: the worker security group aws_security_group.%s must have no ingress", r.addr(), g))
				}
			}
		}
		if r.body().Attributes["referenced_security_group_id"] == nil {
			out = append(out, findingf(r.block.DefRange(), "%s must allow a security group (referenced_security_group_id), not an address range", r.addr()))
		}
	}
	for _, r := range e.m.resources("aws_security_group_rule") {
		out = append(out, findingf(r.block.DefRange(), "%s: use aws_vpc_security_group_egress_rule (and no ingress)", r.addr()))
	}
	for _, r := range e.m.resources("aws_vpc_security_group_egress_rule") {
		proto, _, _ := e.attr(r.body(), "ip_protocol")
		from, _, _ := e.attr(r.body(), "from_port")
		to, _, _ := e.attr(r.body(), "to_port")
		p, _ := knownString(proto)
		if p != "tcp" {
			out = append(out, findingf(r.block.DefRange(), "%s ip_protocol must be \"tcp\", got %s", r.addr(), show(proto)))
		}
		f, fk := knownNumber(from)
		t, tk := knownNumber(to)
		if fk && tk && f != t {
			out = append(out, findingf(r.block.DefRange(), "%s opens ports %g-%g: allow single ports only (443, Temporal)", r.addr(), f, t))
		}
	}
	return out
}

// checkScaling: the service scales by target tracking on the backlog metric
// the worker publishes (in the namespace the worker is given and may write)
// and on CPU.
func checkScaling(e *evaluator, metricName string) []finding {
	var (
		out        []finding
		namespaces []string
		nsRanges   []hcl.Range
		hasCPU     bool
		hasBacklog bool
	)
	for _, p := range e.m.resources("aws_appautoscaling_policy") {
		tt := nestedBlock(p.body(), "target_tracking_scaling_policy_configuration")
		if tt == nil {
			continue
		}
		if pm := nestedBlock(tt.Body, "predefined_metric_specification"); pm != nil {
			v, _, _ := e.attr(pm.Body, "predefined_metric_type")
			if s, _ := knownString(v); s == "ECSServiceAverageCPUUtilization" {
				hasCPU = true
			}
		}
		cm := nestedBlock(tt.Body, "customized_metric_specification")
		if cm == nil {
			continue
		}
		var metrics []*hclsyntax.Body
		metrics = append(metrics, cm.Body)
		for _, mb := range nestedBlocks(cm.Body, "metrics") {
			if ms := nestedBlock(mb.Body, "metric_stat"); ms != nil {
				if mm := nestedBlock(ms.Body, "metric"); mm != nil {
					metrics = append(metrics, mm.Body)
				}
			}
		}
		for _, mb := range metrics {
			n, _, _ := e.attr(mb, "metric_name")
			if s, _ := knownString(n); s != metricName {
				continue
			}
			hasBacklog = true
			ns, _, _ := e.attr(mb, "namespace")
			s, ok := knownString(ns)
			if !ok {
				out = append(out, findingf(p.block.DefRange(), "%s backlog metric namespace cannot be evaluated", p.addr()))
				continue
			}
			namespaces = append(namespaces, s)
			nsRanges = append(nsRanges, p.block.DefRange())
		}
	}
	if !hasBacklog {
		out = append(out, findingf(moduleRange(e.m), "no target tracking policy on the worker's %s metric", metricName))
	}
	if !hasCPU {
		out = append(out, findingf(moduleRange(e.m), "no ECSServiceAverageCPUUtilization target tracking fallback policy"))
	}
	containers, _ := containerDefinitions(e)
	for _, c := range containers {
		env, _ := containerEnvironment(c)
		var workerNS string
		for _, en := range env {
			if en.name == "BACKLOG_METRIC_NAMESPACE" {
				workerNS, _ = knownString(en.value)
			}
		}
		for _, ns := range namespaces {
			if ns != workerNS {
				out = append(out, findingf(c.rng, "%s container %q publishes the backlog to BACKLOG_METRIC_NAMESPACE %q but the scaling policy reads %q", c.td.addr(), c.name(), workerNS, ns))
			}
		}
	}
	// The task role may put metrics to that namespace only.
	for i, ns := range namespaces {
		if !putMetricAllowed(e, ns) {
			out = append(out, findingf(nsRanges[i], "no policy statement allows cloudwatch:PutMetricData with cloudwatch:namespace = %q", ns))
		}
	}
	return out
}

func putMetricAllowed(e *evaluator, namespace string) bool {
	for _, doc := range e.m.all("data", "aws_iam_policy_document") {
		for _, st := range e.expand(doc.body(), "statement") {
			a := st.body.Attributes["actions"]
			if a == nil {
				continue
			}
			v, _ := e.valueIn(st.ctx, a.Expr)
			if !containsString(v, "cloudwatch:PutMetricData") {
				continue
			}
			for _, c := range e.expand(st.body, "condition") {
				vv, _ := e.valueIn(st.ctx, c.body.Attributes["values"].Expr)
				if containsString(vv, namespace) {
					return true
				}
			}
		}
	}
	return false
}

// checkModuleCall: the arguments of a module call are variables of the
// called module, its required variables are all passed, and the outputs the
// caller reads exist.
func checkModuleCall(caller *module, name string, callee *module) []finding {
	call := caller.find("module", "", name)
	if call == nil {
		return []finding{findingf(moduleRange(caller), "no module %q", name)}
	}
	var out []finding
	meta := map[string]bool{"source": true, "version": true, "providers": true, "depends_on": true, "count": true, "for_each": true}
	for n, a := range call.body().Attributes {
		if !meta[n] && callee.variables[n] == nil {
			out = append(out, findingf(a.SrcRange, "module.%s passes %q, which the module does not declare", name, n))
		}
	}
	for n, v := range callee.variables {
		if v.block.Body.Attributes["default"] == nil && call.body().Attributes[n] == nil {
			out = append(out, findingf(call.block.DefRange(), "module.%s does not pass required variable %q", name, n))
		}
	}
	outputs := map[string]bool{}
	for _, o := range callee.all("output", "") {
		outputs[o.name] = true
	}
	caller.everyAttribute(func(a *hclsyntax.Attribute) {
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() != "module" || len(tr) < 3 {
				continue
			}
			m, ok1 := tr[1].(hcl.TraverseAttr)
			o, ok2 := tr[2].(hcl.TraverseAttr)
			if ok1 && ok2 && m.Name == name && !outputs[o.Name] {
				out = append(out, findingf(tr.SourceRange(), "module.%s has no output %q", name, o.Name))
			}
		}
	})
	return out
}

// ---------------------------------------------------------------------------

func moduleRange(m *module) hcl.Range {
	if len(m.bodies) == 0 {
		return hcl.Range{Filename: "(empty module)"}
	}
	r := m.bodies[0].SrcRange
	r.End = r.Start
	return r
}

func containsString(v cty.Value, want string) bool {
	els, ok := elements(v)
	if !ok {
		return false
	}
	for _, el := range els {
		if s, known := knownString(el); known && s == want {
			return true
		}
	}
	return false
}

func isTrue(v cty.Value) bool {
	b, known := knownBool(v)
	return known && b
}

func isFalse(v cty.Value) bool {
	b, known := knownBool(v)
	return known && !b
}

func isKnownAtLeast(v cty.Value, min float64) bool {
	n, ok := knownNumber(v)
	return ok && n >= min
}

func show(v cty.Value) string {
	switch {
	case v == cty.NilVal:
		return "nothing"
	case !v.IsWhollyKnown():
		return "(unknown)"
	case v.IsNull():
		return "null"
	}
	if v.Type() == cty.String {
		return `"` + v.AsString() + `"`
	}
	if s, ok := knownString(v); ok && v.Type().IsPrimitiveType() {
		return s
	}
	if els, ok := elements(v); ok {
		parts := make([]string, len(els))
		for i, el := range els {
			parts[i] = show(el)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return v.GoString()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
