// Package store persists Genesys analytics conversations as DynamoDB items.
package store

// Table layout shared with the Terraform module in deployments/; a test there
// checks that the HCL declares the same key.
const (
	// PartitionKey is the table's only key attribute (type S).
	PartitionKey = "conversationId"

	// DayIndex is the global secondary index by org and day: its partition
	// key DayIndexKey (type S) is "<orgId>#<YYYY-MM-DD>", the UTC day of
	// conversationStart, and its sort key DayIndexSortKey (type S) is
	// conversationStart, so a day's conversations are one Query, in start
	// order. It projects DayIndexAttributes, the item without its detail.
	DayIndex        = "orgDay"
	DayIndexKey     = "orgDay"
	DayIndexSortKey = "conversationStart"
	// UnknownOrg stands for the org of conversations whose events did not
	// name one, in orgDay and in detail object keys.
	UnknownOrg = "unknown-org"
	// DefaultTableName is used when DYNAMODB_TABLE is not set.
	DefaultTableName = "genesys-conversations"

	// BatchKey is the batches table's only key attribute (type S): the
	// batch workflow's id.
	BatchKey = "batchId"
	// DefaultBatchTableName is used when DYNAMODB_BATCH_TABLE is not set.
	DefaultBatchTableName = "genesys-ingest-batches"
)

// DayIndexAttributes are the non-key attributes DayIndex projects (INCLUDE):
// every summary attribute of a Record, so that a day's figures need no
// further read, and none of its detail, which would double the index's size.
var DayIndexAttributes = []string{
	"status", "conversationEnd", "durationMs", "originatingDirection", "mediaType", "divisionIds", "queueIds",
	"userIds", "wrapUpCodes", "participantCount", "handleTimeMs", "talkTimeMs", "holdTimeMs", "acwTimeMs",
	"waitTimeMs", "answerTimeMs", "ivrTimeMs", "abandoned", "transfers", "disconnectType", "agents",
	"missingWrapUps", "orgId", "firstEventAt", "lastEventTopic", "fetchedAt", "updatedAt",
}
