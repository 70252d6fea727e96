package workerconfig

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/activities"
	"github.com/genesys-ingest/genesys-ingest/activities/store"
)

const (
	testKeyARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:contact-hash-key-AbCdEf"
	testKey    = "local-contact-hash-key-0123456789abcdef"
)

func workerEnv(extra map[string]string) map[string]string {
	vars := map[string]string{"GENESYS_REGION": "eu-west-1", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s3cr3t"}
	maps.Copy(vars, extra)
	return vars
}

type fakeSecrets struct {
	out   secretsmanager.GetSecretValueOutput
	err   error
	asked []string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.SecretId))
	if f.err != nil {
		return nil, f.err
	}
	return &f.out, nil
}

func TestContactAddressesAreOffAndTheMultiGetIsTheSourceByDefault(t *testing.T) {
	c, err := Load(env(workerEnv(nil)))
	require.NoError(t, err)
	assert.Equal(t, store.ContactsOff, c.Contacts.Mode)
	assert.Equal(t, activities.SourceMultiGet, c.DetailSource)

	sm := &fakeSecrets{}
	contacts, err := c.Contacts.Load(context.Background(), sm)
	require.NoError(t, err)
	assert.Equal(t, store.ContactsOff, contacts.Mode())
	assert.Empty(t, sm.asked, "no key needed")
}

func TestDetailSourceAndContactModeAreRead(t *testing.T) {
	c, err := Load(env(workerEnv(map[string]string{"GENESYS_DETAIL_SOURCE": "Query", "STORE_CONTACT_ADDRESSES": "plain"})))
	require.NoError(t, err)
	assert.Equal(t, activities.SourceQuery, c.DetailSource)
	contacts, err := c.Contacts.Load(context.Background(), &fakeSecrets{})
	require.NoError(t, err)
	assert.Equal(t, store.ContactsPlain, contacts.Mode())
}

func TestContactSettingsProblemsNeverShowTheKey(t *testing.T) {
	for name, tc := range map[string]struct {
		vars    map[string]string
		problem string
	}{
		"unknown mode":   {map[string]string{"STORE_CONTACT_ADDRESSES": "encrypted"}, `STORE_CONTACT_ADDRESSES="encrypted": must be off, plain or hashed`},
		"unknown source": {map[string]string{"GENESYS_DETAIL_SOURCE": "single"}, `GENESYS_DETAIL_SOURCE="single": must be multiget or query`},
		"hashed, no key": {map[string]string{"STORE_CONTACT_ADDRESSES": "hashed"}, "needs the HMAC key: set CONTACT_HASH_KEY_SECRET_ARN"},
		"both keys": {map[string]string{"STORE_CONTACT_ADDRESSES": "hashed", "CONTACT_HASH_KEY_SECRET_ARN": testKeyARN, "CONTACT_HASH_KEY": testKey},
			"are both set"},
		"not an ARN": {map[string]string{"STORE_CONTACT_ADDRESSES": "hashed", "CONTACT_HASH_KEY_SECRET_ARN": "contact-hash-key"},
			`CONTACT_HASH_KEY_SECRET_ARN="contact-hash-key": must be a Secrets Manager ARN`},
		"short key": {map[string]string{"STORE_CONTACT_ADDRESSES": "hashed", "CONTACT_HASH_KEY": testKey[:20]},
			"CONTACT_HASH_KEY has 20 bytes: must be at least 32"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(workerEnv(tc.vars)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
			assert.NotContains(t, err.Error(), testKey[:20])
		})
	}
}

func TestHashedModeTakesTheLocalKeyWithoutSecretsManager(t *testing.T) {
	c, err := Load(env(workerEnv(map[string]string{"STORE_CONTACT_ADDRESSES": "hashed", "CONTACT_HASH_KEY": testKey})))
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", c, c, c), testKey, "the configuration prints without the key")

	sm := &fakeSecrets{}
	contacts, err := c.Contacts.Load(context.Background(), sm)
	require.NoError(t, err)
	assert.Equal(t, store.ContactsHashed, contacts.Mode())
	assert.Empty(t, sm.asked)
}

func TestHashedModeReadsTheKeyFromSecretsManagerOnce(t *testing.T) {
	c, err := Load(env(workerEnv(map[string]string{"STORE_CONTACT_ADDRESSES": "hashed", "CONTACT_HASH_KEY_SECRET_ARN": testKeyARN})))
	require.NoError(t, err)
	for name, out := range map[string]secretsmanager.GetSecretValueOutput{
		"string": {SecretString: aws.String(testKey + "\n")},
		"binary": {SecretBinary: []byte(testKey)},
	} {
		t.Run(name, func(t *testing.T) {
			sm := &fakeSecrets{out: out}
			contacts, err := c.Contacts.Load(context.Background(), sm)
			require.NoError(t, err)
			assert.Equal(t, store.ContactsHashed, contacts.Mode())
			assert.Equal(t, []string{testKeyARN}, sm.asked)

			// The same key read either way hashes the same.
			local, err := store.HashedContacts([]byte(testKey))
			require.NoError(t, err)
			raw := []byte(`{"conversationId":"c-1","conversationStart":"2026-11-27T10:00:00.000Z","participants":[` +
				`{"purpose":"customer","sessions":[{"ani":"tel:+15555550100","metrics":[],"segments":[]}]}]}`)
			got, err := store.Mapping{Contacts: contacts}.NewRecord(raw, "", time.Time{})
			require.NoError(t, err)
			want, err := store.Mapping{Contacts: local}.NewRecord(raw, "", time.Time{})
			require.NoError(t, err)
			assert.Equal(t, want.CustomerAniHmac, got.CustomerAniHmac)
		})
	}
}

func TestAKeyThatCannotBeReadStopsTheWorkerWithoutShowingIt(t *testing.T) {
	c, err := Load(env(workerEnv(map[string]string{"STORE_CONTACT_ADDRESSES": "hashed", "CONTACT_HASH_KEY_SECRET_ARN": testKeyARN})))
	require.NoError(t, err)

	_, err = c.Contacts.Load(context.Background(), &fakeSecrets{err: errors.New("AccessDeniedException: not authorized")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), testKeyARN)
	assert.Contains(t, err.Error(), "AccessDeniedException")

	short := "too-short-a-key"
	_, err = c.Contacts.Load(context.Background(), &fakeSecrets{out: secretsmanager.GetSecretValueOutput{SecretString: aws.String(short)}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), testKeyARN)
	assert.Contains(t, err.Error(), "needs at least 32")
	assert.NotContains(t, err.Error(), short)
}
