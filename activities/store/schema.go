// Package store persists Genesys analytics conversations as DynamoDB items.
package store

// Table layout shared with the Terraform module in deployments/; a test there
// checks that the HCL declares the same key.
const (
	// PartitionKey is the table's only key attribute (type S).
	PartitionKey = "conversationId"
	// DefaultTableName is used when DYNAMODB_TABLE is not set.
	DefaultTableName = "genesys-conversations"

	// BatchKey is the batches table's only key attribute (type S): the
	// batch workflow's id.
	BatchKey = "batchId"
	// DefaultBatchTableName is used when DYNAMODB_BATCH_TABLE is not set.
	DefaultBatchTableName = "genesys-ingest-batches"
)
