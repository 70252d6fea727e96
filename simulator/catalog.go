package simulator

import "math/rand/v2"

// Catalog is the organisation a seed simulates: the small fixed sets of ids
// that conversations draw from, so downstream aggregations see repeats.
type Catalog struct {
	OrgID       string   `json:"orgId"`
	Queues      []Queue  `json:"queues"`
	DivisionIDs []string `json:"divisionIds"`
	WrapUpCodes []string `json:"wrapUpCodes"`
	UserIDs     []string `json:"userIds"`
}

// Queue is an ACD queue; its name is the acd participant's participantName.
type Queue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

var queueNames = []string{"Support", "Billing", "Sales", "Retention", "Technical Support", "Claims"}

const (
	catalogDivisions   = 3
	catalogWrapUpCodes = 10
	catalogUsers       = 40
)

// NewCatalog derives the organisation of a seed.
func NewCatalog(seed int64) Catalog {
	r := newRand(seed, streamCatalog, 0)
	c := Catalog{OrgID: randUUID(r)}
	for _, name := range queueNames {
		c.Queues = append(c.Queues, Queue{ID: randUUID(r), Name: name})
	}
	c.DivisionIDs = randUUIDs(r, catalogDivisions)
	c.WrapUpCodes = randUUIDs(r, catalogWrapUpCodes)
	c.UserIDs = randUUIDs(r, catalogUsers)
	return c
}

func randUUIDs(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = randUUID(r)
	}
	return out
}
