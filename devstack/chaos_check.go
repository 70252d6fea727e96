package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
)

// RecordMismatches compares a stored record with the simulator's ground
// truth field by field and returns one line per difference; none means the
// item holds exactly what the pipeline must store for the complete
// conversation. orgID is the simulator catalog's org. The integration tests
// and the chaos suite both judge items with it.
func RecordMismatches(rec store.Record, truth simulator.GroundTruth, orgID string) []string {
	want := truth.Expected
	var out []string
	check := func(field string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			out = append(out, fmt.Sprintf("%s: stored %v, want %v", field, got, want))
		}
	}
	check("status", rec.Status, store.StatusComplete)
	check("conversationStart", rec.ConversationStart, want.ConversationStart)
	check("conversationEnd", rec.ConversationEnd, want.ConversationEnd)
	if rec.DurationMs == nil {
		out = append(out, "durationMs: missing")
	} else {
		check("durationMs", *rec.DurationMs, want.DurationMs)
	}
	check("handleTimeMs", rec.HandleTimeMs, want.HandleTimeMs)
	check("talkTimeMs", rec.TalkTimeMs, want.TalkTimeMs)
	check("acwTimeMs", rec.AcwTimeMs, want.AcwTimeMs)
	check("queueIds", distinctSorted(rec.QueueIDs), distinctSorted(want.QueueIDs))
	check("userIds", distinctSorted(rec.UserIDs), distinctSorted(want.UserIDs))
	check("wrapUpCodes", distinctSorted(rec.WrapUpCodes), distinctSorted(want.WrapUpCodes))
	check("divisionIds", distinctSorted(rec.DivisionIDs), distinctSorted(want.DivisionIDs))
	check("mediaType", rec.MediaType, want.MediaType)
	check("originatingDirection", rec.OriginatingDirection, want.OriginatingDirection)
	check("participantCount", rec.ParticipantCount, want.ParticipantCount)
	check("orgId", rec.OrgID, orgID)
	if rec.DetailOmitted {
		return out
	}
	detail, err := store.DecodeDetail(rec.Detail)
	if err != nil {
		return append(out, "detail: "+err.Error())
	}
	var got, exp any
	wantDetail, _ := json.Marshal(truth.Complete) // the simulator's own types always encode
	if err := json.Unmarshal(detail, &got); err != nil {
		return append(out, "detail: not JSON: "+err.Error())
	}
	_ = json.Unmarshal(wantDetail, &exp)
	if !reflect.DeepEqual(got, exp) {
		out = append(out, "detail: differs from the generated record")
	}
	return out
}

// distinctSorted is how a string set compares: order and repeats do not
// matter, and an empty set is an omitted attribute.
func distinctSorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// Verdict is how the items of one run compare with the simulator's ground
// truth.
type Verdict struct {
	Conversations int `json:"conversations"`
	Complete      int `json:"complete"`
	Incomplete    int `json:"incomplete"`
	Failed        int `json:"failed"`
	// Poisoned conversations were made permanently bad by the simulator;
	// they, and only they, must end up failed.
	Poisoned int `json:"poisoned"`
	// Lost conversations have no item at all.
	Lost int `json:"lost"`
	// Corrupted items differ from the ground truth: a complete item whose
	// fields are wrong, a failed item without its reason or with a detail,
	// or a failed or incomplete item for a conversation whose record was
	// available.
	Corrupted int `json:"corrupted"`
	// Problems name the first lost and corrupted conversations and why.
	Problems []string `json:"problems,omitempty"`
	// FailureReasons counts the failed items' reasons, poisoned ones
	// included.
	FailureReasons map[string]int `json:"failureReasons,omitempty"`
}

// maxProblems bounds Verdict.Problems.
const maxProblems = 20

func (v *Verdict) problem(kind *int, format string, args ...any) {
	*kind++
	if len(v.Problems) < maxProblems {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
}

// verifyItems reads the items of ids and judges each against the
// simulator's ground truth. With incompleteExpected, conversations that are
// not poisoned must be stored incomplete (their readiness deadline passed
// before Genesys completed them) rather than complete.
func verifyItems(ctx context.Context, e Endpoints, table string, ids []string, incompleteExpected bool) (*Verdict, error) {
	items, err := scanItems(ctx, e.DynamoDB, table, ids)
	if err != nil {
		return nil, err
	}
	sim := simulator.NewClient(e.Simulator)
	truths, err := groundTruths(ctx, sim, ids)
	if err != nil {
		return nil, err
	}
	catalog, err := sim.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	v := &Verdict{Conversations: len(ids), FailureReasons: map[string]int{}}
	for _, id := range ids {
		truth, item := truths[id], items[id]
		if truth.Poisoned {
			v.Poisoned++
		}
		if item == nil {
			v.problem(&v.Lost, "%s lost: no item (poisoned %q)", id, truth.PoisonKind)
			continue
		}
		switch status := stringItemAttr(item, "status"); status {
		case store.StatusComplete:
			v.Complete++
			var rec store.Record
			if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
				v.problem(&v.Corrupted, "%s: complete item does not unmarshal: %v", id, err)
				continue
			}
			if bad := RecordMismatches(rec, truth, catalog.OrgID); len(bad) > 0 {
				v.problem(&v.Corrupted, "%s: %s", id, strings.Join(bad, "; "))
			} else if incompleteExpected {
				v.problem(&v.Corrupted, "%s: complete, but Genesys did not complete it before READY_TIMEOUT", id)
			}
		case store.StatusFailed:
			v.Failed++
			reason := stringItemAttr(item, "failureReason")
			v.FailureReasons[reasonKind(reason)]++
			switch {
			case !truth.Poisoned:
				v.problem(&v.Corrupted, "%s: failed though its record was available: %s", id, reason)
			case reason == "":
				v.problem(&v.Corrupted, "%s: failed item without failureReason", id)
			case item["detail"] != nil:
				v.problem(&v.Corrupted, "%s: failed item holds a detail", id)
			}
		case store.StatusIncomplete:
			v.Incomplete++
			var rec store.Record
			switch err := attributevalue.UnmarshalMap(item, &rec); {
			case err != nil:
				v.problem(&v.Corrupted, "%s: incomplete item does not unmarshal: %v", id, err)
			case !incompleteExpected || truth.Poisoned:
				v.problem(&v.Corrupted, "%s: incomplete though its complete record was available", id)
			case rec.ConversationEnd != "" || rec.ConversationStart != truth.ConversationStart || rec.OrgID != catalog.OrgID:
				v.problem(&v.Corrupted, "%s: incomplete item has conversationStart %q, conversationEnd %q, orgId %q",
					id, rec.ConversationStart, rec.ConversationEnd, rec.OrgID)
			}
		default:
			v.problem(&v.Corrupted, "%s: unknown status %q", id, status)
		}
	}
	return v, nil
}

// reasonKind shortens a failure reason to its first words, so that reasons
// that differ only in ids and timings count together.
func reasonKind(reason string) string {
	words := strings.Fields(reason)
	if len(words) > 6 {
		words = words[:6]
	}
	return strings.Join(words, " ")
}

// scanItems reads the whole table and keeps the items of ids. A chaos stack
// is fresh, so its table holds little else; one scan beats thousands of
// point reads on dynalite.
func scanItems(ctx context.Context, endpoint, table string, ids []string) (map[string]map[string]types.AttributeValue, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	items := make(map[string]map[string]types.AttributeValue, len(ids))
	pages := dynamodb.NewScanPaginator(LocalDynamoDB(endpoint), &dynamodb.ScanInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("devstack: scan %s: %w", table, err)
		}
		for _, item := range page.Items {
			if id := stringItemAttr(item, store.PartitionKey); want[id] {
				items[id] = item
			}
		}
	}
	return items, nil
}

func stringItemAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// groundTruths asks the simulator for the ground truth of every id.
func groundTruths(ctx context.Context, sim *simulator.Client, ids []string) (map[string]simulator.GroundTruth, error) {
	var mu sync.Mutex
	out := make(map[string]simulator.GroundTruth, len(ids))
	group, ctx := errgroup.WithContext(ctx)
	group.SetLimit(16)
	for _, id := range ids {
		group.Go(func() error {
			truth, err := sim.GroundTruth(ctx, id)
			if err != nil {
				return err
			}
			mu.Lock()
			out[id] = truth
			mu.Unlock()
			return nil
		})
	}
	return out, group.Wait()
}

// topReasons lists failure reasons by count, most frequent first.
func topReasons(reasons map[string]int) []string {
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d × %s", reasons[k], k)
	}
	return out
}
