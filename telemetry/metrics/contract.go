package metrics

// The CloudWatch contract: the metric names, units and dimensions that the
// deployment's alarms and dashboard are written against. Change one only
// together with them.
//
// Every CloudWatch metric is fed by OpenTelemetry instruments, named as
// Prometheus shows them before the exporter appends a unit or _total. The
// counters recorded through the Temporal SDK's handler are up-down counters
// and get no _total (genesys_ingest_blocked stays genesys_ingest_blocked on
// /metrics); the Genesys client's own counters do.
// Instruments that existed before the CloudWatch metrics keep their names so
// that dashboards and the bench that read /metrics keep working:
// ConversationsProcessed is fed by four of them, IngestionBlocked by
// genesys_ingest_blocked and FetchSchedulerStalled by
// genesys_ingest_scheduler_stuck.

// Instruments that this package records (the Genesys client's) or that the
// activities record by these names.
const (
	instrumentGenesysRequests      = "genesys_ingest_genesys_requests"
	instrumentGenesysRateLimited   = "genesys_ingest_genesys_rate_limited"
	instrumentGenesysRetryAfter    = "genesys_ingest_genesys_retry_after"
	instrumentGenesysTokenRenewals = "genesys_ingest_genesys_token_renewals"
	instrumentGenesysResponseTime  = "genesys_ingest_genesys_response_time"
	instrumentGenesysBudgetUse     = "genesys_ingest_genesys_budget_use"
	// instrumentFreshness is the fetch activity's timer.
	instrumentFreshness = "genesys_ingest_freshness"
)

// CloudWatch units of the contract.
const (
	unitCount        = "Count"
	unitSeconds      = "Seconds"
	unitMilliseconds = "Milliseconds"
	unitPercent      = "Percent"
)

// cloudWatchMetric says how one instrument's data points become a CloudWatch
// metric.
type cloudWatchMetric struct {
	name, unit string
	// fromSeconds: the instrument records seconds (as Prometheus wants) and
	// CloudWatch gets milliseconds.
	fromSeconds bool
	// dimensions maps an instrument attribute to the CloudWatch dimension
	// that carries its value. Other attributes, such as the ones the
	// Temporal SDK adds to an activity's metrics, are summed over.
	dimensions map[string]string
	// fixed are dimensions whose value is the same for every data point of
	// the instrument.
	fixed map[string]string
	// total: CloudWatch also stores the metric without dimensions, summed
	// over all their values. Its documents declare the dimension set [] beside
	// the metric's own, so an alarm can read the total as a plain metric
	// (SEARCH and Metrics Insights queries are limited; see the deployment's
	// ingestion-blocked alarm).
	total bool
}

// contract maps each instrument that goes to CloudWatch to its metric; the
// SDK's and the runtime's metrics stay on /metrics only, since each
// CloudWatch metric is billed.
var contract = map[string]cloudWatchMetric{
	instrumentGenesysRequests: {name: "GenesysRequests", unit: unitCount,
		dimensions: map[string]string{"endpoint": "Endpoint", "status_class": "StatusClass"}},
	instrumentGenesysRateLimited:   {name: "GenesysRateLimited", unit: unitCount},
	instrumentGenesysRetryAfter:    {name: "GenesysRetryAfter", unit: unitSeconds},
	instrumentGenesysTokenRenewals: {name: "GenesysTokenRenewals", unit: unitCount},
	instrumentGenesysResponseTime: {name: "GenesysResponseTime", unit: unitMilliseconds, fromSeconds: true,
		dimensions: map[string]string{"endpoint": "Endpoint"}},
	instrumentGenesysBudgetUse: {name: "GenesysBudgetUse", unit: unitPercent},

	// The fetch activity's outcomes; its status attribute is complete or
	// incomplete.
	"genesys_ingest_conversations_stored": {name: "ConversationsProcessed", unit: unitCount,
		dimensions: map[string]string{"status": "Outcome"}},
	"genesys_ingest_conversations_unchanged": {name: "ConversationsProcessed", unit: unitCount,
		fixed: map[string]string{"Outcome": "unchanged"}},
	"genesys_ingest_conversations_failed": {name: "ConversationsProcessed", unit: unitCount,
		fixed: map[string]string{"Outcome": "failed"}},
	"genesys_ingest_conversations_not_ready": {name: "ConversationsProcessed", unit: unitCount,
		fixed: map[string]string{"Outcome": "not_ready"}},
	instrumentFreshness: {name: "Freshness", unit: unitMilliseconds, fromSeconds: true},

	// IngestionBlocked by Reason, and its total over all reasons without
	// dimensions, which the ingestion-blocked alarm reads.
	"genesys_ingest_blocked": {name: "IngestionBlocked", unit: unitCount,
		dimensions: map[string]string{"reason": "Reason"}, total: true},
	"genesys_ingest_conversations_recorded_failed": {name: "ConversationsRecordedFailed", unit: unitCount},
	"genesys_ingest_scheduler_stuck":               {name: "FetchSchedulerStalled", unit: unitCount},
}

// histogramBounds are the bucket bounds, in seconds, of the contract's
// histograms, for both readers. The SDK's default bounds (0 to 10000) suit
// milliseconds, not seconds; these are finest where the alarms look (the
// freshness goal is a p99 of 3 s) and stay under EMF's 100 values.
var histogramBounds = map[string][]float64{
	instrumentFreshness: {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30, 60,
		120, 300, 600, 1800, 3600},
	instrumentGenesysResponseTime: {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30},
	instrumentGenesysRetryAfter:   {1, 2, 3, 5, 10, 15, 30, 60, 120, 300},
}
