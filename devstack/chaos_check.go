package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/genesys-ingest/genesys-ingest/activities/store"
	"github.com/genesys-ingest/genesys-ingest/simulator"
)

// DetailReader reads a stored record's detail from its item or from the
// detail bucket: *store.Table with an S3 client.
type DetailReader interface {
	Detail(ctx context.Context, r store.Record) (json.RawMessage, error)
}

// retryTopic is the event topic of a write `starter conversations retry`
// asked for: no event of the conversation's own.
const retryTopic = "retry"

// hmacHex is what a hashed contact address looks like: HMAC-SHA256 in hex.
// The key is the worker's, so the value itself cannot be checked here.
var hmacHex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// RecordMismatches compares a stored record with the simulator's ground
// truth field by field and returns one line per difference; none means the
// item holds exactly what the pipeline must store for the complete
// conversation. The detail is read through details, so one held in the
// detail bucket is compared too. orgID is the simulator catalog's org. The
// integration tests and the chaos suite both judge items with it.
//
// Two kinds of attribute depend on settings the record does not tell, and
// are judged by what they hold: participantAttributes (the details query
// source) must be the ground truth's when the detail has attributes and
// absent otherwise; contact addresses (STORE_CONTACT_ADDRESSES), when
// present, must be the customer's, plain or hashed.
func RecordMismatches(ctx context.Context, details DetailReader, rec store.Record, truth simulator.GroundTruth, orgID string) []string {
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
	check("holdTimeMs", rec.HoldTimeMs, want.HoldTimeMs)
	check("acwTimeMs", rec.AcwTimeMs, want.AcwTimeMs)
	check("waitTimeMs", rec.WaitTimeMs, want.WaitTimeMs)
	check("answerTimeMs", rec.AnswerTimeMs, want.AnswerTimeMs)
	check("ivrTimeMs", rec.IvrTimeMs, want.IvrTimeMs)
	check("abandoned", rec.Abandoned, want.Abandoned)
	check("transfers", rec.Transfers, want.Transfers)
	check("disconnectType", rec.DisconnectType, want.DisconnectType)
	check("agents", rec.Agents, expectedAgents(want.Agents))
	check("missingWrapUps", rec.MissingWrapUps, []string(nil))
	check("queueIds", distinctSorted(rec.QueueIDs), distinctSorted(want.QueueIDs))
	check("userIds", distinctSorted(rec.UserIDs), distinctSorted(want.UserIDs))
	check("wrapUpCodes", distinctSorted(rec.WrapUpCodes), distinctSorted(want.WrapUpCodes))
	check("divisionIds", distinctSorted(rec.DivisionIDs), distinctSorted(want.DivisionIDs))
	check("mediaType", rec.MediaType, want.MediaType)
	check("originatingDirection", rec.OriginatingDirection, want.OriginatingDirection)
	check("participantCount", rec.ParticipantCount, want.ParticipantCount)
	check("orgId", rec.OrgID, orgID)
	if start, err := time.Parse(time.RFC3339Nano, want.ConversationStart); err == nil {
		check("orgDay", rec.OrgDay, store.OrgDay(orgID, start))
	}
	out = append(out, eventMismatches(rec, want.Events)...)
	out = append(out, contactMismatches(rec, want)...)

	queried := false
	switch detail, err := details.Detail(ctx, rec); {
	case errors.Is(err, store.ErrDetailOmitted):
		if !want.Oversized {
			out = append(out, "detail: omitted, though the record fits an item")
		}
		// Without the detail the source is unknown: either is right.
		queried = rec.ParticipantAttributes != nil || rec.ParticipantAttributesOmitted
	case err != nil:
		out = append(out, "detail: "+err.Error())
	default:
		var bad string
		if queried, bad = detailMismatch(detail, truth.Complete); bad != "" {
			out = append(out, "detail: "+bad)
		}
	}
	switch {
	case rec.ParticipantAttributesOmitted && !want.Oversized:
		out = append(out, "participantAttributes: omitted, though they fit the item")
	case queried && !rec.ParticipantAttributesOmitted:
		check("participantAttributes", rec.ParticipantAttributes, want.ParticipantAttributes)
	case !queried:
		check("participantAttributes", rec.ParticipantAttributes, map[string]string(nil))
	}
	return out
}

// expectedAgents is the agents attribute the ground truth calls for; nil
// when there are none, as the attribute is then omitted.
func expectedAgents(want []simulator.ExpectedAgent) []store.Agent {
	var out []store.Agent
	for _, a := range want {
		out = append(out, store.Agent{UserID: a.UserID, QueueID: a.QueueID, WrapUpCode: a.WrapUpCode, Answered: a.Answered,
			HandleTimeMs: a.HandleTimeMs, TalkTimeMs: a.TalkTimeMs, HoldTimeMs: a.HoldTimeMs, AcwTimeMs: a.AcwTimeMs})
	}
	return out
}

// eventMismatches judges firstEventAt and lastEventTopic. Which of a
// conversation's events reach a write depends on how they were batched
// and when the record was ready, so each must be one of the conversation's
// events, not a given one. A write with no event behind it (a retry, a
// backfill, a fetch the scheduler carried over a continue-as-new) names
// none.
func eventMismatches(rec store.Record, events []simulator.ExpectedEvent) []string {
	var out []string
	if rec.FirstEventAt != "" && !slices.ContainsFunc(events, func(e simulator.ExpectedEvent) bool { return e.EventTime == rec.FirstEventAt }) {
		out = append(out, fmt.Sprintf("firstEventAt: stored %s, not the time of any of the conversation's events %v", rec.FirstEventAt, events))
	}
	if t := rec.LastEventTopic; t != "" && t != retryTopic && !slices.ContainsFunc(events, func(e simulator.ExpectedEvent) bool { return e.Topic == t }) {
		out = append(out, fmt.Sprintf("lastEventTopic: stored %s, not the topic of any of the conversation's events %v", t, events))
	}
	return out
}

// contactMismatches judges the contact addresses: none, the customer's as
// Genesys reports them, or hashes of them, never both forms.
func contactMismatches(rec store.Record, want simulator.Expected) []string {
	plain := rec.CustomerAni != "" || rec.CustomerDnis != ""
	hashed := rec.CustomerAniHmac != "" || rec.CustomerDnisHmac != ""
	var out []string
	switch {
	case plain && hashed:
		out = append(out, "contact addresses: stored both plain and hashed")
	case plain:
		for _, a := range [][3]string{{"customerAni", rec.CustomerAni, want.CustomerAni}, {"customerDnis", rec.CustomerDnis, want.CustomerDnis}} {
			if a[1] != a[2] {
				out = append(out, fmt.Sprintf("%s: stored %q, want %q", a[0], a[1], a[2]))
			}
		}
	case hashed:
		for _, a := range [][3]string{{"customerAniHmac", rec.CustomerAniHmac, want.CustomerAni}, {"customerDnisHmac", rec.CustomerDnisHmac, want.CustomerDnis}} {
			if (a[2] == "") != (a[1] == "") || a[1] != "" && !hmacHex.MatchString(a[1]) {
				out = append(out, fmt.Sprintf("%s: stored %q for the address %q, want its HMAC-SHA256 in hex", a[0], a[1], a[2]))
			}
		}
	}
	return out
}

// detailMismatch compares a stored detail with the generated record and
// reports whether it came from the details query: the participants'
// attributes, which only the query returns, are set aside for that.
func detailMismatch(detail json.RawMessage, want simulator.AnalyticsConversation) (queried bool, problem string) {
	var got map[string]any
	if err := json.Unmarshal(detail, &got); err != nil {
		return false, "not JSON: " + err.Error()
	}
	participants, _ := got["participants"].([]any)
	for _, p := range participants {
		if p, ok := p.(map[string]any); ok {
			if _, has := p["attributes"]; has {
				queried = true
				delete(p, "attributes")
			}
		}
	}
	var exp any
	wantDetail, _ := json.Marshal(want) // the simulator's own types always encode
	_ = json.Unmarshal(wantDetail, &exp)
	if !reflect.DeepEqual(got, exp) {
		return queried, "differs from the generated record"
	}
	return queried, ""
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
	details := store.NewTable(LocalDynamoDB(e.DynamoDB), store.Config{TableName: table, Objects: LocalS3(e.S3)})
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
			if bad := RecordMismatches(ctx, details, rec, truth, catalog.OrgID); len(bad) > 0 {
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
