package forwarder

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeSecrets struct {
	value string
	err   error
	calls int
}

func TestSecretAPIKeyReadsOnceAndAcceptsJSON(t *testing.T) {
	for _, tc := range []struct{ secret, want string }{
		{"plain-key", "plain-key"},
		{`{"api_key":"json-key"}`, "json-key"},
		{`{"apiKey":"json-key"}`, "json-key"},
	} {
		sm := &fakeSecrets{value: tc.secret}
		read := SecretAPIKey(sm, "arn:aws:secretsmanager:us-east-1:1:secret:k")
		for range 3 {
			got, err := read(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		}
		assert.Equal(t, 1, sm.calls)
	}
}

func TestSecretAPIKeyErrorNamesTheSecretNotItsValue(t *testing.T) {
	_, err := SecretAPIKey(&fakeSecrets{value: `{"other":"s3cr3t"}`}, "arn:x")(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "arn:x")
	assert.NotContains(t, err.Error(), "s3cr3t")
}

func (f *fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}
