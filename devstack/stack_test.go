package devstack

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHermeticStacksIgnoreTheCallersProjectSettings: a test or benchmark
// stack behaves the same whatever FETCH_*, GENESYS_*, READY_* or
// DYNAMODB_* the shell has; make up still passes them through.
func TestHermeticStacksIgnoreTheCallersProjectSettings(t *testing.T) {
	t.Setenv("FETCH_BATCH_SIZE", "7")
	t.Setenv("READY_TIMEOUT", "1s")
	t.Setenv("DYNAMODB_TABLE", "someone-elses")
	t.Setenv("HOME", "/home/tester")
	paths := NewPaths(t.TempDir())
	paths.Run = t.TempDir()
	for _, hermetic := range []bool{true, false} {
		s := &Stack{opts: Options{Paths: paths, Hermetic: hermetic, Env: []string{"READY_POLL_INTERVAL=2s"}}}
		env := s.serviceEnv()
		assert.Contains(t, env, "HOME=/home/tester", "hermetic=%v", hermetic)
		assert.Contains(t, env, "READY_POLL_INTERVAL=2s", "Options.Env always applies")
		for _, kv := range []string{"FETCH_BATCH_SIZE=7", "READY_TIMEOUT=1s", "DYNAMODB_TABLE=someone-elses"} {
			assert.Equal(t, !hermetic, slices.Contains(env, kv), "%s with hermetic=%v", kv, hermetic)
		}
	}
}

func TestServicesStoreLargeDetailsInTheStacksS3(t *testing.T) {
	paths := NewPaths(t.TempDir())
	paths.Run = t.TempDir()
	s := &Stack{opts: Options{Paths: paths, Hermetic: true}, Endpoints: Endpoints{S3: "http://127.0.0.1:8002"}}
	env := s.serviceEnv()
	assert.Contains(t, env, "AWS_ENDPOINT_URL_S3=http://127.0.0.1:8002")
	assert.Contains(t, env, "DETAIL_BUCKET="+localDetailBucket)
}
