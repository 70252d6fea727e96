package deployments_test

// The container health check, the forwarder in a VPC, the VPC endpoints,
// the event archive, the log groups' key, the secret setup commands, the
// contact hash key, and the trivy findings the configuration accepts.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func lambdaVPCConfig() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"subnet_ids":         cty.ListVal([]cty.Value{cty.StringVal("subnet-0123456789abcdef0")}),
		"security_group_ids": cty.ListVal([]cty.Value{cty.StringVal("sg-0123456789abcdef0")}),
	})
}

// TestWorkerHealthCheck: ECS asks the worker binary of the image (the
// distroless image has no shell) whether its /healthz answers.
func TestWorkerHealthCheck(t *testing.T) {
	dockerfile, err := os.ReadFile("docker/worker.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	entrypoint := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]$`).FindSubmatch(dockerfile)
	if entrypoint == nil {
		t.Fatal(`docker/worker.Dockerfile has no ENTRYPOINT ["<binary>"]`)
	}
	binary := string(entrypoint[1])

	m := loadModuleDir(t, moduleDir)
	containers, fs := containerDefinitions(m.evaluate(t, requiredInputs()))
	reportFindings(t, "container definitions", fs)
	if len(containers) != 1 {
		t.Fatalf("want 1 container definition, got %d", len(containers))
	}
	hc, ok := goValue(containers[0].value).(map[string]any)["healthCheck"].(map[string]any)
	if !ok {
		t.Fatal("the worker container has no healthCheck")
	}
	if got, want := hc["command"], []any{"CMD", binary, "healthcheck"}; !slices.Equal(toAnys(got), want) {
		t.Errorf("healthCheck command = %v, want %v (the image's ENTRYPOINT, with the healthcheck subcommand)", got, want)
	}
	for k, want := range map[string]float64{"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 30} {
		if hc[k] != want {
			t.Errorf("healthCheck %s = %v, want %g", k, hc[k], want)
		}
	}
}

func toAnys(v any) []any { s, _ := v.([]any); return s }

// TestForwarderVPC: lambda_vpc_config puts the forwarder in the given
// subnets and security groups, and lets Lambda manage its network
// interfaces there; without it, neither.
func TestForwarderVPC(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	fn := m.find("resource", "aws_lambda_function", "forwarder")
	doc := m.find("data", "aws_iam_policy_document", "lambda")
	ec2Actions := func(e *evaluator) []string {
		var out []string
		for _, st := range e.expand(doc.body(), "statement") {
			v, _ := e.valueIn(st.ctx, st.body.Attributes["actions"].Expr)
			acts, _ := knownListOfStrings(v)
			for _, a := range acts {
				if strings.HasPrefix(a, "ec2:") {
					out = append(out, a)
				}
			}
		}
		slices.Sort(out)
		return out
	}

	e := m.evaluate(t, requiredInputs())
	if n := len(e.expand(fn.body(), "vpc_config")); n != 0 {
		t.Errorf("without lambda_vpc_config the forwarder has %d vpc_config blocks, want 0", n)
	}
	if got := ec2Actions(e); len(got) != 0 {
		t.Errorf("without lambda_vpc_config the forwarder may %v, want no EC2 action", got)
	}

	e = m.evaluate(t, with(requiredInputs(), "lambda_vpc_config", lambdaVPCConfig()))
	reportFindings(t, "conditions", checkConditions(e))
	reportFindings(t, "IAM", checkIAM(e))
	vcs := e.expand(fn.body(), "vpc_config")
	if len(vcs) != 1 {
		t.Fatalf("with lambda_vpc_config the forwarder has %d vpc_config blocks, want 1", len(vcs))
	}
	for name, want := range map[string]string{"subnet_ids": "subnet-0123456789abcdef0", "security_group_ids": "sg-0123456789abcdef0"} {
		v, _ := e.valueIn(vcs[0].ctx, vcs[0].body.Attributes[name].Expr)
		if got, _ := knownListOfStrings(v); !slices.Equal(got, []string{want}) {
			t.Errorf("vpc_config %s = %s, want [%q]", name, show(v), want)
		}
	}
	want := []string{"ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
		"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses"}
	if got := ec2Actions(e); !slices.Equal(got, want) {
		t.Errorf("in a VPC the forwarder may %v, want %v (what Lambda needs for its network interfaces)", got, want)
	}
}

// TestVPCEndpoints: vpc_endpoints creates the gateway and interface
// endpoints for the AWS APIs the worker task calls, the interface ones
// reachable from the worker only; without it, none.
func TestVPCEndpoints(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	gateway := m.find("resource", "aws_vpc_endpoint", "gateway")
	iface := m.find("resource", "aws_vpc_endpoint", "interface")
	sg := m.find("resource", "aws_security_group", "endpoints")
	ingress := m.find("resource", "aws_vpc_security_group_ingress_rule", "endpoints_from_worker")
	if gateway == nil || iface == nil || sg == nil || ingress == nil {
		t.Fatal("want aws_vpc_endpoint.gateway, aws_vpc_endpoint.interface, aws_security_group.endpoints and aws_vpc_security_group_ingress_rule.endpoints_from_worker")
	}
	services := func(e *evaluator, b *tfBlock) []string {
		v, _ := e.valueIn(e.ctx, b.body().Attributes["for_each"].Expr)
		s, ok := knownListOfStrings(v)
		if !ok {
			t.Fatalf("%s for_each cannot be evaluated", b.addr())
		}
		return s
	}

	e := m.evaluate(t, requiredInputs())
	for _, b := range []*tfBlock{gateway, iface, sg, ingress} {
		if e.mayExist(b) {
			t.Errorf("without vpc_endpoints %s may exist", b.addr())
		}
	}

	e = m.evaluate(t, with(requiredInputs(), "vpc_endpoints", cty.ObjectVal(map[string]cty.Value{
		"route_table_ids": cty.ListVal([]cty.Value{cty.StringVal("rtb-0123456789abcdef0")}),
	})))
	reportFindings(t, "conditions", checkConditions(e))
	reportFindings(t, "ECS", checkECS(e))
	if got, want := services(e, gateway), []string{"dynamodb", "s3"}; !slices.Equal(got, want) {
		t.Errorf("gateway endpoints %v, want %v (the store, ECR's image layers)", got, want)
	}
	if got, want := services(e, iface), []string{"ecr.api", "ecr.dkr", "logs", "monitoring", "secretsmanager"}; !slices.Equal(got, want) {
		t.Errorf("interface endpoints %v, want %v", got, want)
	}
	if !e.mayExist(sg) || !e.mayExist(ingress) {
		t.Error("interface endpoints need their security group and its ingress rule")
	}
	if a := ingress.body().Attributes["referenced_security_group_id"]; a == nil || !referencesAttr(a.Expr, "aws_security_group", "worker", "id") {
		t.Errorf("%s must allow the worker's security group only", ingress.addr())
	}
	for name, want := range map[string]string{"vpc_endpoint_type": "Interface", "private_dns_enabled": "true"} {
		if v, _, _ := e.attr(iface.body(), name); !isString(v, want) {
			t.Errorf("%s %s = %s, want %s", iface.addr(), name, show(v), want)
		}
	}
	if a := iface.body().Attributes["subnet_ids"]; a == nil || len(a.Expr.Variables()) != 1 || a.Expr.Variables()[0].RootName() != "var" {
		t.Errorf("%s subnet_ids must be var.private_subnet_ids", iface.addr())
	}

	// Only the gateway endpoints, by choice.
	e = m.evaluate(t, with(requiredInputs(), "vpc_endpoints", cty.ObjectVal(map[string]cty.Value{
		"route_table_ids":    cty.ListVal([]cty.Value{cty.StringVal("rtb-0123456789abcdef0")}),
		"interface_services": cty.ListValEmpty(cty.String),
	})))
	if e.mayExist(sg) || len(services(e, iface)) != 0 {
		t.Error("without interface_services there is no interface endpoint nor its security group")
	}
}

// TestEventArchive: event_archive_retention_days archives the partner bus
// (created or existing) for that many days; null, not at all.
func TestEventArchive(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	ar := m.find("resource", "aws_cloudwatch_event_archive", "genesys")
	if ar == nil {
		t.Fatal("no aws_cloudwatch_event_archive.genesys")
	}
	if m.evaluate(t, requiredInputs()).mayExist(ar) {
		t.Error("without event_archive_retention_days the archive may exist")
	}
	e := m.evaluate(t, with(requiredInputs(), "event_archive_retention_days", cty.NumberIntVal(30)))
	if !e.mayExist(ar) {
		t.Fatal("with event_archive_retention_days the archive does not exist")
	}
	if v, _, _ := e.attr(ar.body(), "retention_days"); !v.IsKnown() || !v.RawEquals(cty.NumberIntVal(30)) {
		t.Errorf("retention_days = %s, want 30", show(v))
	}
	if a := ar.body().Attributes["event_source_arn"]; a == nil || !slices.Equal(refs(a.Expr, "local"), []string{"event_bus_arn"}) {
		t.Errorf("%s event_source_arn must be local.event_bus_arn", ar.addr())
	}
	e = m.evaluate(t, with(requiredInputs(),
		"existing_event_bus_name", cty.StringVal("aws.partner/genesys.com/cloud/org/suffix"),
		"genesys_org_id", cty.NullVal(cty.String),
		"genesys_event_source_suffix", cty.NullVal(cty.String)))
	arn := e.ctx.Variables["local"].GetAttr("event_bus_arn")
	if !arn.IsKnown() {
		return // the account and region are data sources; the shape is in the expression
	}
	if s, _ := knownString(arn); !strings.HasSuffix(s, ":event-bus/aws.partner/genesys.com/cloud/org/suffix") {
		t.Errorf("local.event_bus_arn = %q, want the existing bus's ARN", s)
	}
}

// TestLogGroupsKey: log_kms_key_arn encrypts both log groups.
func TestLogGroupsKey(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	groups := m.resources("aws_cloudwatch_log_group")
	if len(groups) != 2 {
		t.Fatalf("want the forwarder's and the worker's log groups, got %d", len(groups))
	}
	e := m.evaluate(t, with(requiredInputs(), "log_kms_key_arn", cty.StringVal(kmsARN)))
	for _, g := range groups {
		if v, _, _ := e.attr(g.body(), "kms_key_id"); !isString(v, kmsARN) {
			t.Errorf("%s kms_key_id = %s, want var.log_kms_key_arn", g.addr(), show(v))
		}
	}
}

// TestSecretSetupCommandsReadStdin: the commands the module prints put the
// secret values from standard input, never from the command line (shell
// history, process list).
func TestSecretSetupCommandsReadStdin(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	out := m.find("output", "", "secret_setup_commands")
	for _, mode := range []string{"api_key", "none"} {
		e := m.evaluate(t, with(requiredInputs(), "temporal_auth_mode", cty.StringVal(mode), "genesys_secret_arn", cty.StringVal(secretARN), "temporal_secret_arn", cty.StringVal(secretARN)))
		v, _, _ := e.attr(out.body(), "value")
		cmds, ok := knownListOfStrings(v)
		if !ok {
			t.Fatalf("%s: secret_setup_commands cannot be evaluated", mode)
		}
		if want := map[string]int{"api_key": 2, "none": 1}[mode]; len(cmds) != want {
			t.Errorf("%s: %d commands, want %d", mode, len(cmds), want)
		}
		for _, c := range cmds {
			command, _, _ := strings.Cut(c, "#")
			if !strings.Contains(command, "--secret-string file:///dev/stdin") || strings.ContainsAny(command, "{}\"") {
				t.Errorf("%s: %q must read the secret from standard input (--secret-string file:///dev/stdin), with no value on the command line", mode, c)
			}
		}
	}
}

// TestContactHashKey: with store_contact_addresses = "hashed" the module
// creates the HMAC key's secret unless given one; the worker's task role,
// and no other role or people's policy, may read it (and decrypt it through
// Secrets Manager with secrets_kms_key_arn); secret_setup_commands puts a
// random key from standard input. In the other modes there is none of it.
func TestContactHashKey(t *testing.T) {
	m := loadModuleDir(t, moduleDir)
	secret := m.find("resource", "aws_secretsmanager_secret", "contact_hash_key")
	if secret == nil {
		t.Fatal("no aws_secretsmanager_secret.contact_hash_key")
	}
	if expr := m.locals["contact_hash_key_secret_arn"]; expr == nil || !slices.Contains(refs(expr.Expr, "aws_secretsmanager_secret"), "contact_hash_key") {
		t.Error("local.contact_hash_key_secret_arn must be aws_secretsmanager_secret.contact_hash_key's arn unless contact_hash_key_secret_arn is given")
	}
	existing := []any{"genesys_secret_arn", cty.StringVal(secretARN), "temporal_secret_arn", cty.StringVal(secretARN)}
	cases := []struct {
		name    string
		vars    map[string]cty.Value
		created bool   // the module creates the secret
		key     string // the key's secret the task role reads, "" for none
		kms     bool   // and decrypts with kmsARN
	}{
		{"off", with(requiredInputs(), append(existing, "secrets_kms_key_arn", cty.StringVal(kmsARN))...), false, "", false},
		{"plain", with(requiredInputs(), append(existing, "store_contact_addresses", cty.StringVal("plain"), "contact_hash_key_secret_arn", cty.StringVal(contactKeyARN))...), false, "", false},
		{"hashed, secret created", with(requiredInputs(), "store_contact_addresses", cty.StringVal("hashed")), true, "", false},
		{"hashed, existing secret", with(requiredInputs(), append(existing, "store_contact_addresses", cty.StringVal("hashed"), "contact_hash_key_secret_arn", cty.StringVal(contactKeyARN))...), false, contactKeyARN, false},
		{"hashed, existing secret, KMS key", with(requiredInputs(), append(existing, "store_contact_addresses", cty.StringVal("hashed"), "contact_hash_key_secret_arn", cty.StringVal(contactKeyARN), "secrets_kms_key_arn", cty.StringVal(kmsARN))...), false, contactKeyARN, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := m.evaluate(t, c.vars)
			n, ok := knownNumber(func() cty.Value { v, _ := e.valueIn(e.ctx, secret.body().Attributes["count"].Expr); return v }())
			if want := map[bool]float64{true: 1, false: 0}[c.created]; !ok || n != want {
				t.Errorf("aws_secretsmanager_secret.contact_hash_key count = %v, want %v", n, want)
			}
			if c.created {
				return // its ARN is known after apply: the grants are checked with an existing one
			}
			withPlaceholders(e, "aws_dynamodb_table", "aws_s3_bucket")

			task := grants(t, e, workerPolicy)
			var want map[string][]string
			if c.key != "" {
				want = map[string][]string{c.key: {"secretsmanager:GetSecretValue"}}
			}
			if c.kms {
				want[kmsARN] = []string{"kms:Decrypt"}
			}
			got := map[string][]string{}
			for r, acts := range task {
				if strings.Contains(r, ":secretsmanager:") || strings.Contains(r, ":kms:") {
					got[r] = acts
				}
			}
			assertGrants(t, "worker task role", got, want)
			for _, st := range statements(t, e, workerPolicy) {
				if slices.Contains(st.resources, kmsARN) && !slices.ContainsFunc(st.conditions, func(c string) bool { return strings.HasPrefix(c, "StringEquals kms:ViaService [") }) {
					t.Errorf("the task role may %v with %s without the condition kms:ViaService (Secrets Manager only)", st.actions, kmsARN)
				}
			}
			for _, doc := range m.all("data", "aws_iam_policy_document") {
				if doc.name == workerPolicy {
					continue
				}
				for _, st := range e.expand(doc.body(), "statement") {
					if a := st.body.Attributes["resources"]; a != nil {
						if v, _ := e.valueIn(st.ctx, a.Expr); containsString(v, contactKeyARN) {
							t.Errorf("%s:%d: %s grants on the contact hash key: only the worker's task role reads it", a.SrcRange.Filename, a.SrcRange.Start.Line, doc.addr())
						}
					}
				}
			}

			v, _, _ := e.attr(m.find("output", "", "secret_setup_commands").body(), "value")
			cmds, ok := knownListOfStrings(v)
			if !ok {
				t.Fatal("secret_setup_commands cannot be evaluated")
			}
			var keyCmds []string
			for _, cmd := range cmds {
				if strings.Contains(cmd, contactKeyARN) {
					keyCmds = append(keyCmds, cmd)
				}
			}
			switch {
			case c.key == "" && len(keyCmds) > 0:
				t.Errorf("secret_setup_commands puts the contact hash key, which the worker does not read: %q", keyCmds)
			case c.key != "" && (len(keyCmds) != 1 || !strings.HasPrefix(keyCmds[0], "openssl rand -base64 48 | aws secretsmanager put-secret-value ")):
				// 48 random bytes are 64 base64 characters: above the
				// worker's store.MinContactHashKeyBytes.
				t.Errorf("secret_setup_commands: want one command that pipes a random key into put-secret-value for %s, got %q", contactKeyARN, keyCmds)
			}
		})
	}
}

// TestTrivyIgnoresAreJustified: every trivy finding the configuration
// accepts (#trivy:ignore:<id>) says why, in a comment right above.
func TestTrivyIgnoresAreJustified(t *testing.T) {
	files, err := filepath.Glob("terraform/*/*/*.tf")
	if err != nil {
		t.Fatal(err)
	}
	ignore := regexp.MustCompile(`^#trivy:ignore:(AWS-[0-9]{4})$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if !strings.Contains(l, "trivy:ignore") {
				continue
			}
			if !ignore.MatchString(l) {
				t.Errorf("%s:%d: %q: write #trivy:ignore:AWS-NNNN on a line of its own", f, i+1, l)
				continue
			}
			if i == 0 || !strings.HasPrefix(lines[i-1], "# ") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "resource ") {
				t.Errorf("%s:%d: %s must sit between a comment saying why and the resource it accepts", f, i+1, l)
			}
		}
	}
}
