package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/genesys-ingest/genesys-ingest/simulator"
)

const testHashKey = "k3y-0123456789-abcdefghij-KLMNOPQRST"

// voiceConversations are simulated conversations whose customer has an
// ANI and a DNIS, inbound and outbound.
func voiceConversations(t *testing.T) []simulator.Conversation {
	t.Helper()
	g := simulator.NewGenerator(7, simulator.DefaultBaseTime)
	var out []simulator.Conversation
	directions := map[string]bool{}
	for i := 0; len(out) < 50 || len(directions) < 2; i++ {
		if c := g.Generate(i); c.Expected.CustomerAni != "" {
			out = append(out, c)
			directions[c.Expected.OriginatingDirection] = true
		}
	}
	return out
}

// contactAttributes are the item's contact address attributes.
func contactAttributes(t *testing.T, r Record) map[string]any {
	t.Helper()
	item, err := attributevalue.MarshalMap(r)
	require.NoError(t, err)
	out := map[string]any{}
	for name, v := range item {
		if strings.HasPrefix(name, "customer") {
			out[name] = v
		}
	}
	return out
}

func hmacHex(key, address string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(address))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestContactAddressesAreNotStoredByDefault(t *testing.T) {
	for _, c := range voiceConversations(t) {
		raw, err := json.Marshal(c.Record)
		require.NoError(t, err)
		for _, m := range []Mapping{{}, {Contacts: Contacts{}}} {
			r, err := m.NewRecord(raw, "org-1", fetchedAt)
			require.NoError(t, err)
			assert.Empty(t, contactAttributes(t, r))
		}
	}
	assert.Equal(t, ContactsOff, Contacts{}.Mode())
}

func TestPlainContactAddressesAreStoredAsGenesysReportsThem(t *testing.T) {
	m := Mapping{Contacts: PlainContacts()}
	for _, c := range voiceConversations(t) {
		raw, err := json.Marshal(c.Record)
		require.NoError(t, err)
		r, err := m.NewRecord(raw, "org-1", fetchedAt)
		require.NoError(t, err)
		assert.Equal(t, c.Expected.CustomerAni, r.CustomerAni)
		assert.Equal(t, c.Expected.CustomerDnis, r.CustomerDnis)
		assert.Len(t, contactAttributes(t, r), 2, "no hashes besides")
	}
}

func TestHashedContactAddressesAreStableHMACsUnderTheKey(t *testing.T) {
	contacts, err := HashedContacts([]byte(testHashKey))
	require.NoError(t, err)
	again, err := HashedContacts([]byte(testHashKey))
	require.NoError(t, err)
	other, err := HashedContacts([]byte(strings.ToUpper(testHashKey)))
	require.NoError(t, err)

	for _, c := range voiceConversations(t) {
		raw, err := json.Marshal(c.Record)
		require.NoError(t, err)
		r, err := Mapping{Contacts: contacts}.NewRecord(raw, "org-1", fetchedAt)
		require.NoError(t, err)
		assert.Equal(t, hmacHex(testHashKey, c.Expected.CustomerAni), r.CustomerAniHmac)
		assert.Equal(t, hmacHex(testHashKey, c.Expected.CustomerDnis), r.CustomerDnisHmac)
		assert.Len(t, contactAttributes(t, r), 2, "no plain addresses besides")

		// Stable: another worker, or a re-fetch, stores the same value.
		later, err := Mapping{Contacts: again}.NewRecord(raw, "org-1", fetchedAt.Add(1))
		require.NoError(t, err)
		assert.Equal(t, r.CustomerAniHmac, later.CustomerAniHmac)
		rotated, err := Mapping{Contacts: other}.NewRecord(raw, "org-1", fetchedAt)
		require.NoError(t, err)
		assert.NotEqual(t, r.CustomerAniHmac, rotated.CustomerAniHmac, "the value depends on the key")
	}
}

func TestConversationsWithoutContactAddressesStoreNoneInAnyMode(t *testing.T) {
	hashed, err := HashedContacts([]byte(testHashKey))
	require.NoError(t, err)
	raw := conversationJSON(`[{"purpose":"customer","sessions":[{"mediaType":"message","ani":"","metrics":[],"segments":[]}]},` +
		`{"purpose":"agent","userId":"u-1","sessions":[{"mediaType":"message","ani":"tel:+15550000001","metrics":[],"segments":[]}]}]`)
	for _, contacts := range []Contacts{PlainContacts(), hashed} {
		r, err := Mapping{Contacts: contacts}.NewRecord(raw, "", fetchedAt)
		require.NoError(t, err)
		assert.Empty(t, contactAttributes(t, r), "only the customer's addresses are stored, and an empty one is absent")
	}
}

func TestTheContactHashKeyAppearsInNoTextOrError(t *testing.T) {
	contacts, err := HashedContacts([]byte(testHashKey))
	require.NoError(t, err)
	m := Mapping{Contacts: contacts}
	encoded, err := json.Marshal(m)
	require.NoError(t, err)
	for _, text := range []string{
		fmt.Sprintf("%v %+v %#v", m, m, m), string(encoded),
	} {
		assert.NotContains(t, text, testHashKey)
		assert.NotContains(t, text, hex.EncodeToString([]byte(testHashKey)))
	}

	short := testHashKey[:MinContactHashKeyBytes-1]
	_, err = HashedContacts([]byte(short))
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("needs at least %d", MinContactHashKeyBytes))
	assert.NotContains(t, err.Error(), short)
}
