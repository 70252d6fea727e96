package workerconfig

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/genesys-ingest/genesys-ingest/activities"
	"github.com/genesys-ingest/genesys-ingest/activities/genesys"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/config"
)

// Contacts is what items keep of the customer's contact addresses (ANI
// and DNIS), which are personal data.
type Contacts struct {
	// Mode is STORE_CONTACT_ADDRESSES: off (the default), plain or hashed.
	Mode store.ContactMode
	// KeySecretARN (CONTACT_HASH_KEY_SECRET_ARN) names the Secrets Manager
	// secret whose value is the HMAC key of the hashed mode. The worker
	// reads it with its task role, so the key is never in the container's
	// environment, where every process in it and `docker inspect` see it.
	KeySecretARN string
	// Key (CONTACT_HASH_KEY) is the HMAC key itself, for local stacks and
	// tests, which have no Secrets Manager. Not for AWS, for that reason.
	Key genesys.Secret
}

// SecretReader is the part of the Secrets Manager client the worker uses.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

func readContacts(r *config.Reader) Contacts {
	c := Contacts{
		Mode:         store.ContactMode(strings.ToLower(r.String("STORE_CONTACT_ADDRESSES", string(store.ContactsOff)))),
		KeySecretARN: r.String("CONTACT_HASH_KEY_SECRET_ARN", ""),
		Key:          genesys.Secret(r.String("CONTACT_HASH_KEY", "")),
	}
	if !slices.Contains(store.ContactModes, c.Mode) {
		r.Problem("STORE_CONTACT_ADDRESSES=%q: must be off, plain or hashed", c.Mode)
	}
	if c.Mode != store.ContactsHashed {
		return c // the key settings have nothing to do
	}
	switch arn := c.KeySecretARN; {
	case arn != "" && c.Key != "":
		r.Problem("CONTACT_HASH_KEY_SECRET_ARN and CONTACT_HASH_KEY are both set: set only the ARN (CONTACT_HASH_KEY is for local stacks)")
	case arn == "" && c.Key == "":
		r.Problem("STORE_CONTACT_ADDRESSES=hashed needs the HMAC key: set CONTACT_HASH_KEY_SECRET_ARN to its Secrets Manager secret (or, locally, CONTACT_HASH_KEY)")
	case arn != "" && !(strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":secretsmanager:")):
		r.Problem("CONTACT_HASH_KEY_SECRET_ARN=%q: must be a Secrets Manager ARN (arn:aws:secretsmanager:...)", arn)
	case c.Key != "" && len(c.Key.Reveal()) < store.MinContactHashKeyBytes:
		// The length only: the value is a credential.
		r.Problem("CONTACT_HASH_KEY has %d bytes: must be at least %d", len(c.Key.Reveal()), store.MinContactHashKeyBytes)
	}
	return c
}

// Load returns what NewRecord stores of contact addresses. In the hashed
// mode with a secret it reads the key from Secrets Manager: the worker calls
// it once at start, so that a key it cannot read stops it before anything
// is stored, and a rotated key takes effect when the workers restart. The
// secret's binary value, or else its string without surrounding spaces, is
// the key.
func (c Contacts) Load(ctx context.Context, sm SecretReader) (store.Contacts, error) {
	switch c.Mode {
	case store.ContactsPlain:
		return store.PlainContacts(), nil
	case store.ContactsHashed:
	default:
		return store.Contacts{}, nil
	}
	if c.KeySecretARN == "" {
		contacts, err := store.HashedContacts([]byte(c.Key.Reveal()))
		if err != nil {
			return store.Contacts{}, fmt.Errorf("CONTACT_HASH_KEY: %w", err)
		}
		return contacts, nil
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.KeySecretARN)})
	if err != nil {
		return store.Contacts{}, fmt.Errorf("read the contact hash key from %s: %w", c.KeySecretARN, err)
	}
	key := out.SecretBinary
	if len(key) == 0 {
		key = []byte(strings.TrimSpace(aws.ToString(out.SecretString)))
	}
	contacts, err := store.HashedContacts(key)
	if err != nil {
		return store.Contacts{}, fmt.Errorf("secret %s: %w", c.KeySecretARN, err)
	}
	return contacts, nil
}

func readDetailSource(r *config.Reader) activities.DetailSource {
	s := activities.DetailSource(strings.ToLower(r.String("GENESYS_DETAIL_SOURCE", string(activities.SourceMultiGet))))
	if !slices.Contains(activities.DetailSources, s) {
		r.Problem("GENESYS_DETAIL_SOURCE=%q: must be multiget or query", s)
	}
	return s
}
