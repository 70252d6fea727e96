package forwarder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretReader is the part of the Secrets Manager client used here.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// apiKeyRefresh is how long a read key is reused: a rotated key is picked up
// within the hour without a Secrets Manager call per workflow start.
const apiKeyRefresh = time.Hour

// SecretAPIKey returns a function for client.NewAPIKeyDynamicCredentials that
// reads the Temporal API key from a Secrets Manager secret (the plain string,
// or the "apiKey"/"api_key" field of a JSON secret) when the client first
// needs it, so the key is never a Lambda environment value and a cold start
// makes no network call.
func SecretAPIKey(sm SecretReader, arn string) func(context.Context) (string, error) {
	var (
		mu     sync.Mutex
		key    string
		readAt time.Time
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if key != "" && time.Since(readAt) < apiKeyRefresh {
			return key, nil
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			if key != "" {
				return key, nil // keep working on the key we have; Temporal rejects it if it was revoked
			}
			return "", fmt.Errorf("read Temporal API key from %s: %w", arn, err)
		}
		value, err := apiKeyFromSecret(aws.ToString(out.SecretString))
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", arn, err)
		}
		key, readAt = value, time.Now()
		return key, nil
	}
}

func apiKeyFromSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var fields map[string]string
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return "", errors.New("secret is JSON but not an object of strings")
		}
		for _, name := range []string{"apiKey", "api_key", "TEMPORAL_API_KEY"} {
			if v := strings.TrimSpace(fields[name]); v != "" {
				return v, nil
			}
		}
		return "", errors.New(`JSON secret has no "apiKey" field`)
	}
	if s == "" {
		return "", errors.New("secret is empty")
	}
	return s, nil
}
