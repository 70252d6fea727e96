package simulator

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
)

// Every deterministic value is drawn from its own stream, keyed by (seed,
// stream, index), so that e.g. adding a field to conversation i never shifts
// the ids of conversation i+1 or the catalog.
const (
	streamConversation uint64 = iota + 1
	streamConversationID
	streamStart
	streamCatalog
	streamEmit
	streamFaults
	streamPoison
	streamOversize
	streamAttributes
)

// timeLayout is Genesys's timestamp format: UTC with exactly milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// splitmix64 is a strong 64-bit mixer; it turns structured keys (seed, 0, 1,
// 2...) into well-spread seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hashKey(seed int64, stream, i uint64) uint64 {
	return splitmix64(splitmix64(splitmix64(uint64(seed))^stream) ^ i)
}

// newRand returns the PRNG of one (seed, stream, index) key.
func newRand(seed int64, stream, i uint64) *rand.Rand {
	return rand.New(rand.NewPCG(hashKey(seed, stream, i), hashKey(seed, stream, ^i)))
}

// uuidFrom formats 128 random bits as a version-4 UUID.
func uuidFrom(hi, lo uint64) string {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], hi)
	binary.BigEndian.PutUint64(u[8:], lo)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

func randUUID(r *rand.Rand) string { return uuidFrom(r.Uint64(), r.Uint64()) }

// nonceUUID is for values that need not be reproducible (correlation and
// context ids); the global generator is goroutine-safe and far cheaper than
// crypto/rand on the hot path.
func nonceUUID() string { return uuidFrom(rand.Uint64(), rand.Uint64()) }

func formatMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(timeLayout) }
