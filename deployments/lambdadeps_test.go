package deployments_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lambdaMustNotLink are packages the forwarder Lambda has no use for: the
// worker's configuration, Genesys client and DynamoDB store, the metrics
// stack, and gRPC's request tracing (html/template). Each is linked by the
// worker, which proves the names are real.
var lambdaMustNotLink = []string{
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig",
	"github.com/genesys-ingest/genesys-ingest/activities/genesys",
	"github.com/genesys-ingest/genesys-ingest/activities/store",
	"github.com/genesys-ingest/genesys-ingest/telemetry/metrics",
	"github.com/aws/aws-sdk-go-v2/service/dynamodb",
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch",
	"github.com/prometheus/client_golang/prometheus",
	"go.opentelemetry.io/otel/sdk/metric",
	"go.temporal.io/sdk/contrib/opentelemetry",
	"golang.org/x/net/trace",
	"html/template",
}

func TestLambdaLinksOnlyWhatItUses(t *testing.T) {
	mk, err := os.ReadFile("deployments.mk")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^LAMBDA_TAGS := (\S+)$`).FindSubmatch(mk)
	require.NotNil(t, m, "deployments.mk defines LAMBDA_TAGS")

	lambda := goListDeps(t, "./starter/lambda", string(m[1]))
	worker := goListDeps(t, "./worker", "")
	for _, pkg := range lambdaMustNotLink {
		if lambda[pkg] {
			t.Errorf("the Lambda links %s", pkg)
		}
		if !worker[pkg] {
			t.Errorf("the worker does not link %s: not a package name that could ever match", pkg)
		}
	}
}

// goListDeps is every package pkg links when built as the Makefile builds
// it (linux/arm64, no cgo, with tags).
func goListDeps(t *testing.T, pkg, tags string) map[string]bool {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	cmd := exec.Command(goTool, "list", "-deps", "-tags", tags, pkg)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("go list %s: %v\n%s", pkg, err, ee.Stderr)
	}
	require.NoError(t, err)
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	return deps
}
