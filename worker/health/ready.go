package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	// readyCheckTimeout bounds each dependency's answer, well inside the
	// three seconds `worker healthcheck --ready` waits.
	readyCheckTimeout = 2 * time.Second
	// readyCacheFor is how long an answer is reused, so that a storm of
	// probes costs Temporal and DynamoDB one round of calls per period.
	readyCacheFor = 5 * time.Second
)

// Check is one dependency /readyz asks.
type Check struct {
	Name  string
	Probe Probe
}

// ItemGetter is the part of *dynamodb.Client the table probe uses.
type ItemGetter interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// probeItemKey is a conversation id that never exists (Genesys ids are
// UUIDs).
const probeItemKey = "readyz-probe"

// TableProbe reads an item that does not exist from table, whose partition
// key is key. GetItem is what the worker's role is granted (DescribeTable
// is not), costs half a read unit and fails as the worker's own reads and
// writes would: the table gone, access revoked, DynamoDB unreachable.
func TableProbe(db ItemGetter, table, key string) Probe {
	return func(ctx context.Context) error {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table),
			Key:       map[string]types.AttributeValue{key: &types.AttributeValueMemberS{Value: probeItemKey}},
		})
		if err != nil {
			return fmt.Errorf("read table %s: %w", table, err)
		}
		return nil
	}
}

// Readiness answers /readyz: 200 when every check passes, 503 otherwise,
// with a JSON body naming each check's outcome either way.
type Readiness struct {
	checks  []Check
	timeout time.Duration
	// now is time.Now; tests move it by hand.
	now func() time.Time

	// mu is held during a round of checks, so that concurrent requests
	// wait for that round instead of starting their own.
	mu        sync.Mutex
	checkedAt time.Time
	report    readyReport
}

// readyReport is the /readyz body.
type readyReport struct {
	Ready  bool          `json:"ready"`
	Checks []checkResult `json:"checks"`
}

type checkResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// NewReadiness returns a Readiness that runs checks, each bounded by a
// short timeout, at most once every few seconds.
func NewReadiness(checks ...Check) *Readiness {
	return &Readiness{checks: checks, timeout: readyCheckTimeout, now: time.Now}
}

// status runs the checks, or reuses their last outcome while it is recent.
func (r *Readiness) status(ctx context.Context) readyReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.checkedAt.IsZero() && r.now().Sub(r.checkedAt) < readyCacheFor {
		return r.report
	}
	results := make([]checkResult, len(r.checks))
	var wg sync.WaitGroup
	for i, c := range r.checks {
		wg.Go(func() {
			checkCtx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			results[i] = checkResult{Name: c.Name, OK: true}
			if err := c.Probe(checkCtx); err != nil {
				results[i] = checkResult{Name: c.Name, Error: err.Error()}
			}
		})
	}
	wg.Wait()
	report := readyReport{Ready: true, Checks: results}
	for _, res := range results {
		report.Ready = report.Ready && res.OK
	}
	if ctx.Err() != nil {
		return report // the caller left: its outcome says nothing about the dependencies
	}
	r.checkedAt, r.report = r.now(), report
	return report
}

// ServeHTTP answers 200 when ready and 503 otherwise.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	report := r.status(req.Context())
	w.Header().Set("Content-Type", "application/json")
	if !report.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(report)
}
