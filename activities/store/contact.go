package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ContactMode is what an item keeps of the customer's contact addresses
// (ANI and DNIS), which are personal data: the STORE_CONTACT_ADDRESSES
// setting.
type ContactMode string

const (
	// ContactsOff keeps none; the default.
	ContactsOff ContactMode = "off"
	// ContactsPlain keeps them as Genesys reports them, in customerAni and
	// customerDnis.
	ContactsPlain ContactMode = "plain"
	// ContactsHashed keeps their HMAC-SHA256, in customerAniHmac and
	// customerDnisHmac: the same address always gives the same value, so
	// analysts can count and join on it. Keyed, because an unkeyed hash of
	// a phone number is undone by hashing every number.
	ContactsHashed ContactMode = "hashed"
)

// ContactModes are the valid modes, for validation and messages.
var ContactModes = []ContactMode{ContactsOff, ContactsPlain, ContactsHashed}

// MinContactHashKeyBytes is the shortest HMAC key accepted: RFC 2104 asks
// for at least the hash's output length, 32 bytes for SHA-256.
const MinContactHashKeyBytes = sha256.Size

// Contacts is what Mapping.NewRecord stores of the customer's contact
// addresses. Its zero value stores none.
type Contacts struct {
	mode ContactMode
	// sign is the HMAC under the key, which only this closure holds: a
	// Contacts printed with any verb, logged or serialised shows no key.
	sign func(address string) string
}

// PlainContacts stores contact addresses as Genesys reports them.
func PlainContacts() Contacts { return Contacts{mode: ContactsPlain} }

// HashedContacts stores the lowercase hex HMAC-SHA256 of each contact
// address, exactly as Genesys reports it (tel:+15555550100), under key.
// Rotating the key changes every value written afterwards.
func HashedContacts(key []byte) (Contacts, error) {
	if len(key) < MinContactHashKeyBytes {
		return Contacts{}, fmt.Errorf("contact hash key has %d bytes; it needs at least %d", len(key), MinContactHashKeyBytes)
	}
	key = bytes.Clone(key) // the caller's slice may be reused
	return Contacts{mode: ContactsHashed, sign: func(address string) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(address))
		return hex.EncodeToString(mac.Sum(nil))
	}}, nil
}

// Mode is how addresses are stored; ContactsOff for the zero value.
func (c Contacts) Mode() ContactMode {
	if c.mode == "" {
		return ContactsOff
	}
	return c.mode
}

// set stores the customer's ani and dnis in r as c says.
func (c Contacts) set(r *Record, ani, dnis string) {
	switch c.Mode() {
	case ContactsPlain:
		r.CustomerAni, r.CustomerDnis = ani, dnis
	case ContactsHashed:
		r.CustomerAniHmac, r.CustomerDnisHmac = c.hash(ani), c.hash(dnis)
	}
}

// hash is the HMAC of a present address; an absent one stays absent.
func (c Contacts) hash(address string) string {
	if address == "" {
		return ""
	}
	return c.sign(address)
}
