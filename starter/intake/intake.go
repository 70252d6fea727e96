// Package intake turns an EventBridge delivery into the conversations to
// ingest. It accepts the three shapes AWS delivers Genesys events in (one
// event from a rule target, a JSON array from Pipes or bus subscribers, and an
// SQS batch from an event source mapping), extracts and validates conversation
// ids, and rejects bad records one by one so that a poisoned record never
// blocks the rest of its delivery.
package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/genesys-ingest/genesys-ingest/workflows"
)

// Shape is how a delivery reached the forwarder.
type Shape string

const (
	// ShapeEvent is one event, as an EventBridge rule invokes a Lambda target.
	ShapeEvent Shape = "event"
	// ShapeArray is a JSON array of events (EventBridge Pipes, bus subscribers).
	ShapeArray Shape = "array"
	// ShapeSQS is an SQS batch whose message bodies are events.
	ShapeSQS Shape = "sqs"
)

// ErrNotJSON means the payload is not JSON at all.
var ErrNotJSON = errors.New("payload is not JSON")

// ErrUnknownShape means the payload is JSON but not a delivery shape we know.
var ErrUnknownShape = errors.New("payload is JSON but neither an EventBridge event, a JSON array of events, nor an SQS batch")

// Rejection is one record that cannot be ingested and must not be retried.
type Rejection struct {
	// Index is the record's position in the delivery (0 for a single event).
	Index int `json:"index"`
	// MessageID is the SQS message id, for SQS deliveries.
	MessageID string `json:"messageId,omitempty"`
	// EventID is the EventBridge event id, when the record had one.
	EventID string `json:"eventId,omitempty"`
	Reason  string `json:"reason"`
}

// Delivery is what one payload holds.
type Delivery struct {
	Shape Shape
	// Events counts records that were EventBridge events.
	Events int
	// Conversations are unique, in order of first appearance; each keeps the
	// org, topic and time of its first event.
	Conversations []workflows.ConversationRef
	Rejected      []Rejection
	// Ignored counts events of topics that carry no conversation to ingest.
	Ignored int
	// Accepted lists the SQS message ids that contributed conversations: they
	// are the ones to report as batch item failures if the start fails.
	Accepted []string

	eventKeys []string
	seen      map[string]bool
}

// Parse reads one delivery. It returns an error only when the payload as a
// whole is unusable; bad records are listed in Rejected.
//
// A delivery can hold 10,000 SQS records, each an event escaped into a JSON
// string, so Parse reads it in one validating pass (see scanner), handling
// each record as soon as it is read, instead of json.Valid, a reflective
// decode of the Records wrapper and another of every body. The rules stay
// encoding/json's: where the pass meets something encoding/json settles its
// own way, encoding/json reads the delivery (parseStd).
func Parse(payload []byte) (*Delivery, error) {
	trimmed := bytes.TrimSpace(payload)
	sc := &scanner{data: trimmed}
	d := &Delivery{}
	top := wrapper{d: d}
	var events [][]byte // the events of an array delivery
	var valid bool
	switch sc.next() {
	case '[':
		valid = sc.array(func() bool {
			start := sc.pos
			ok := sc.value()
			events = append(events, trimmed[start:sc.pos])
			return ok
		})
	case '{':
		valid = sc.object(func(key []byte) bool { return top.member(sc, key) })
	default:
		valid = sc.value()
	}
	// Records already read are dropped with d if the payload turns out bad.
	if !valid || !sc.end() {
		return nil, ErrNotJSON
	}
	switch trimmed[0] {
	case '[':
		d.Shape = ShapeArray
		for i, raw := range events {
			d.addEvent(i, "", raw)
		}
	case '{':
		if sc.mismatch || top.recordsKeys > 1 {
			return parseStd(trimmed)
		}
		switch {
		case top.hasRecords:
			d.Shape = ShapeSQS // its records were added during the pass
		case top.hasDetailType || top.hasDetail:
			d.Shape = ShapeEvent
			d.addEvent(0, "", trimmed)
		default:
			return nil, ErrUnknownShape
		}
	default:
		return nil, ErrUnknownShape
	}
	return d, nil
}

// wrapper reads the members of an object delivery as encoding/json reads
// them into the struct in parseStd, and adds each SQS record to d.
type wrapper struct {
	d             *Delivery
	hasRecords    bool   // Records is an array (null leaves it unset)
	hasDetailType bool   // detail-type is a string (null leaves it unset)
	hasDetail     bool   // detail is present, whatever its value
	recordsKeys   int    // more than one sends the delivery to parseStd
	body          []byte // the record body being read, reused for each
}

func (w *wrapper) member(sc *scanner, key []byte) bool {
	switch {
	case keyIs(key, "Records"):
		w.recordsKeys++
		switch sc.next() {
		case '[':
			w.hasRecords = true
			index := -1
			return sc.array(func() bool {
				index++
				return w.record(sc, index)
			})
		case 'n':
			w.hasRecords = false
			return sc.value()
		}
		sc.mismatch = true
		return sc.value()
	case keyIs(key, "detail-type"):
		switch sc.next() {
		case '"':
			w.hasDetailType = true
			_, _, ok := sc.str()
			return ok
		case 'n':
			w.hasDetailType = false
		default:
			sc.mismatch = true
		}
		return sc.value()
	case keyIs(key, "detail"):
		w.hasDetail = true
	}
	return sc.value()
}

// record reads one SQS record and adds its event to the delivery.
func (w *wrapper) record(sc *scanner, index int) bool {
	var messageID string
	w.body = w.body[:0]
	var ok bool
	switch sc.next() {
	case 'n': // encoding/json leaves a null record empty
		ok = sc.value()
	case '{':
		ok = sc.object(func(key []byte) bool {
			switch {
			case keyIs(key, "messageId"):
				return sc.stringField(&messageID)
			case keyIs(key, "body"):
				switch sc.next() {
				case '"':
					var valid bool
					w.body, valid = sc.text(w.body[:0])
					return valid
				case 'n':
				default:
					sc.mismatch = true
				}
				return sc.value()
			}
			return sc.value()
		})
	default:
		sc.mismatch = true
		ok = sc.value()
	}
	if ok && !sc.mismatch { // after a mismatch, parseStd starts over
		w.d.addEvent(index, messageID, w.body)
	}
	return ok
}

type sqsRecord struct {
	MessageID string `json:"messageId"`
	Body      string `json:"body"`
}

// parseStd reads an object delivery with encoding/json. Parse needs it only
// when its pass met a member of the wrong type (encoding/json's error is the
// one to return) or a repeated Records key (encoding/json merges the arrays
// element by element).
func parseStd(payload []byte) (*Delivery, error) {
	var probe struct {
		Records    *[]sqsRecord    `json:"Records"`
		DetailType *string         `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownShape, err)
	}
	d := &Delivery{}
	switch {
	case probe.Records != nil:
		d.Shape = ShapeSQS
		for i, rec := range *probe.Records {
			d.addEvent(i, rec.MessageID, []byte(rec.Body))
		}
	case probe.DetailType != nil || probe.Detail != nil:
		d.Shape = ShapeEvent
		d.addEvent(0, "", payload)
	default:
		return nil, ErrUnknownShape
	}
	return d, nil
}

type envelope struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		TopicName string `json:"topicName"`
		EventBody struct {
			ConversationID string          `json:"conversationId"`
			ID             string          `json:"id"`
			EventTime      json.RawMessage `json:"eventTime"`
		} `json:"eventBody"`
	} `json:"detail"`
}

// readEnvelope reads the fields Parse uses from one event, in a pass that
// also checks the whole event is valid JSON. What the pass does not model (an
// event that is invalid JSON, not an object, or has a field of the wrong type)
// goes to encoding/json, which decides and words the error as it always has.
// EventTime may point into raw.
func readEnvelope(raw []byte) (envelope, error) {
	var env envelope
	sc := &scanner{data: raw}
	ok := false
	switch sc.next() {
	case '{':
		ok = sc.object(func(key []byte) bool { return env.member(sc, key) })
	case 'n': // encoding/json leaves the envelope empty for null
		ok = sc.value()
	}
	if ok && sc.end() && !sc.mismatch {
		return env, nil
	}
	var std envelope
	err := json.Unmarshal(raw, &std)
	return std, err
}

func (env *envelope) member(sc *scanner, key []byte) bool {
	switch {
	case keyIs(key, "id"):
		return sc.stringField(&env.ID)
	case keyIs(key, "detail-type"):
		return sc.stringField(&env.DetailType)
	case keyIs(key, "source"):
		return sc.stringField(&env.Source)
	case keyIs(key, "detail"):
		detail := &env.Detail
		return sc.objectField(func(key []byte) bool {
			switch {
			case keyIs(key, "topicName"):
				return sc.stringField(&detail.TopicName)
			case keyIs(key, "eventBody"):
				body := &detail.EventBody
				return sc.objectField(func(key []byte) bool {
					switch {
					case keyIs(key, "conversationId"):
						return sc.stringField(&body.ConversationID)
					case keyIs(key, "id"):
						return sc.stringField(&body.ID)
					case keyIs(key, "eventTime"):
						start := sc.pos
						ok := sc.value()
						body.EventTime = sc.data[start:sc.pos]
						return ok
					}
					return sc.value()
				})
			}
			return sc.value()
		})
	}
	return sc.value()
}

func (d *Delivery) addEvent(index int, messageID string, raw []byte) {
	reject := func(eventID, reason string) {
		d.Rejected = append(d.Rejected, Rejection{Index: index, MessageID: messageID, EventID: eventID, Reason: reason})
	}
	env, err := readEnvelope(raw)
	if err != nil {
		reject("", "record is not an EventBridge event (not a JSON object): "+shorten(err.Error()))
		return
	}
	d.Events++
	topic := topicTemplate(env.DetailType, env.Detail.TopicName)
	if topic == "" {
		reject(env.ID, "event has neither detail-type nor detail.topicName")
		return
	}
	kind, idField, ok := classify(topic)
	if !ok {
		d.Ignored++
		return
	}
	id := env.Detail.EventBody.ConversationID
	if idField == "id" {
		id = env.Detail.EventBody.ID
	}
	if id == "" {
		reject(env.ID, fmt.Sprintf("%s event has no conversation id (eventBody.%s)", kind, idField))
		return
	}
	if !workflows.ValidConversationID(id) {
		reject(env.ID, fmt.Sprintf("conversation id %s is not a UUID", strconv.Quote(shorten(id))))
		return
	}
	id = strings.ToLower(id)
	ref := workflows.ConversationRef{
		ID:        id,
		OrgID:     orgID(env.Source),
		Topic:     kind,
		EventTime: epochMillis(env.Detail.EventBody.EventTime),
	}
	if messageID != "" {
		d.Accepted = append(d.Accepted, messageID)
	}
	var t [20]byte
	d.eventKeys = append(d.eventKeys, id+"|"+topic+"|"+string(strconv.AppendInt(t[:0], ref.EventTime, 10))+"|"+env.Detail.TopicName)
	if !d.seen[id] {
		if d.seen == nil {
			d.seen = make(map[string]bool)
		}
		d.seen[id] = true
		d.Conversations = append(d.Conversations, ref)
	}
}

// WorkflowID is derived from the delivery's business content (conversation,
// topic and event time of every accepted event), not from EventBridge or SQS
// ids, which change on every re-send. A redelivered batch maps to the same id;
// a later event about the same conversation maps to a new one.
func (d *Delivery) WorkflowID() string {
	keys := slices.Clone(d.eventKeys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	h := sha256.New()
	var line []byte
	for _, k := range keys {
		line = append(append(line[:0], k...), '\n')
		h.Write(line)
	}
	return "genesys-ingest-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// topicTemplate returns the topic with ids as {id}. EventBridge puts the
// template in detail-type; older or hand-made events may only carry the
// concrete detail.topicName.
func topicTemplate(detailType, topicName string) string {
	if strings.Contains(detailType, "{id}") {
		return detailType
	}
	name := topicName
	if name == "" {
		name = detailType
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if workflows.ValidConversationID(p) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, ".")
}

// classify maps a topic template to the event kind kept with the conversation
// and the eventBody field holding the conversation id. A conversation topic
// must name its event: "v2.detail.events.conversation.{id}." alone is no
// topic we know.
func classify(topic string) (kind, idField string, ok bool) {
	if event, found := strings.CutPrefix(topic, "v2.detail.events.conversation.{id}."); found && event != "" {
		return event, "conversationId", true
	}
	switch {
	case topic == "v2.routing.queues.{id}.conversations":
		return "queue.conversations", "id", true
	case topic == "v2.users.{id}.conversations":
		return "user.conversations", "id", true
	}
	return "", "", false
}

// orgID reads <orgId> from aws.partner/genesys.com/cloud/<orgId>/<suffix>.
func orgID(source string) string {
	rest, ok := strings.CutPrefix(source, "aws.partner/genesys.com/cloud/")
	if !ok {
		return ""
	}
	org, _, _ := strings.Cut(rest, "/")
	if !workflows.ValidConversationID(org) {
		return ""
	}
	return strings.ToLower(org)
}

// epochMillis reads eventTime, which Genesys sends as epoch milliseconds.
func epochMillis(raw json.RawMessage) int64 {
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0
	}
	return ms
}

func shorten(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// maxDepth is encoding/json's limit on nested arrays and objects: a deeper
// document is not valid JSON to it.
const maxDepth = 10000

// scanner reads JSON text in one pass, accepting exactly what json.Valid
// accepts (RFC 8259 grammar, any byte from 0x20 up inside strings, at most
// maxDepth levels), while its callers pick out the members they need. They
// read members as encoding/json decodes them into structs: keys match exactly
// or else case-insensitively, a later key overrides an earlier one, and null
// leaves a field as it was. A value of the wrong type for its field sets
// mismatch and is skipped, so that the caller can let encoding/json word the
// error.
type scanner struct {
	data     []byte
	pos      int
	depth    int
	mismatch bool
}

// next skips white space and returns the byte there, or 0 at the end.
func (sc *scanner) next() byte {
	for ; sc.pos < len(sc.data); sc.pos++ {
		switch c := sc.data[sc.pos]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// end reports whether only white space is left.
func (sc *scanner) end() bool {
	return sc.next() == 0 && sc.pos == len(sc.data)
}

// value checks and skips one value.
func (sc *scanner) value() bool {
	switch c := sc.next(); {
	case c == '{':
		return sc.object(func([]byte) bool { return sc.value() })
	case c == '[':
		return sc.array(sc.value)
	case c == '"':
		_, _, ok := sc.str()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		return sc.number()
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	}
	return false
}

// object reads the object at pos, calling member with each key's text and
// pos at its value, which member must read.
func (sc *scanner) object(member func(key []byte) bool) bool {
	if !sc.enter() {
		return false
	}
	if sc.next() == '}' {
		return sc.leave()
	}
	for {
		if sc.next() != '"' {
			return false
		}
		lit, escaped, ok := sc.str()
		if !ok || sc.next() != ':' {
			return false
		}
		key := lit[1 : len(lit)-1]
		if escaped {
			key = appendUnquoted(nil, lit)
		}
		sc.pos++
		sc.next()
		if !member(key) {
			return false
		}
		switch sc.next() {
		case ',':
			sc.pos++
		case '}':
			return sc.leave()
		default:
			return false
		}
	}
}

// array reads the array at pos, calling elem with pos at each element, which
// elem must read.
func (sc *scanner) array(elem func() bool) bool {
	if !sc.enter() {
		return false
	}
	if sc.next() == ']' {
		return sc.leave()
	}
	for {
		sc.next()
		if !elem() {
			return false
		}
		switch sc.next() {
		case ',':
			sc.pos++
		case ']':
			return sc.leave()
		default:
			return false
		}
	}
}

func (sc *scanner) enter() bool {
	sc.pos++
	sc.depth++
	return sc.depth <= maxDepth
}

func (sc *scanner) leave() bool {
	sc.pos++
	sc.depth--
	return true
}

// Classes of bytes inside a string literal.
const (
	plainASCII byte = iota
	nonASCII
	quote
	backslash
	control
)

var class = func() (t [256]byte) {
	for c := range t {
		switch {
		case c < ' ':
			t[c] = control
		case c == '"':
			t[c] = quote
		case c == '\\':
			t[c] = backslash
		case c >= utf8.RuneSelf:
			t[c] = nonASCII
		}
	}
	return t
}()

// str reads the string at pos, returning it still quoted and whether it
// holds escapes.
func (sc *scanner) str() (lit []byte, escaped, ok bool) {
	d := sc.data
	for i := sc.pos + 1; i < len(d); i++ {
		switch class[d[i]] {
		case plainASCII, nonASCII:
		case quote:
			lit = d[sc.pos : i+1]
			sc.pos = i + 1
			return lit, escaped, true
		case backslash:
			escaped = true
			if i+1 < len(d) && unescaped[d[i+1]] != 0 { // the common escapes
				i++
				continue
			}
			n := escapeLen(d[i:])
			if n == 0 {
				return nil, false, false
			}
			i += n - 1
		default:
			return nil, false, false
		}
	}
	return nil, false, false
}

// escapeLen returns the length of the escape at the start of b, or 0 if it is
// not a valid one.
func escapeLen(b []byte) int {
	switch {
	case len(b) < 2:
		return 0
	case b[1] == 'u':
		if _, ok := hex4(b[2:]); ok {
			return 6
		}
		return 0
	case unescaped[b[1]] != 0:
		return 2
	}
	return 0
}

// unescaped maps the byte after a backslash to what it stands for.
var unescaped = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// text reads the string at pos like str, appending its text to dst, decoded
// as encoding/json decodes it: escapes that are not a surrogate pair and bytes
// that are not UTF-8 become U+FFFD.
func (sc *scanner) text(dst []byte) ([]byte, bool) {
	d := sc.data
	for i := sc.pos + 1; i < len(d); {
		switch class[d[i]] {
		case plainASCII:
			j := i + 1
			for j < len(d) && class[d[j]] == plainASCII {
				j++
			}
			dst, i = append(dst, d[i:j]...), j
		case nonASCII:
			r, n := utf8.DecodeRune(d[i:]) // utf8.RuneError for a bad byte
			dst, i = utf8.AppendRune(dst, r), i+n
		case quote:
			sc.pos = i + 1
			return dst, true
		case backslash:
			if i+1 < len(d) && unescaped[d[i+1]] != 0 { // the common escapes
				dst, i = append(dst, unescaped[d[i+1]]), i+2
				continue
			}
			n := escapeLen(d[i:])
			switch {
			case n == 0:
				return dst, false
			case n == 2:
				dst = append(dst, unescaped[d[i+1]])
			default:
				r, _ := hex4(d[i+2:])
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if escapeLen(d[i+6:]) == 6 { // a \u escape
						r2, _ = hex4(d[i+8:])
					}
					if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
						n += 6
					}
				}
				dst = utf8.AppendRune(dst, r)
			}
			i += n
		default:
			return dst, false
		}
	}
	return dst, false
}

// appendUnquoted appends the text of a valid string literal to dst.
func appendUnquoted(dst, lit []byte) []byte {
	dst, _ = (&scanner{data: lit}).text(dst)
	return dst
}

// unquote returns the text of a valid string literal.
func unquote(lit []byte) string {
	return string(appendUnquoted(nil, lit))
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (sc *scanner) number() bool {
	d, i := sc.data, sc.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = digits(d, i)
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		if i = digits(d, i+1); d[i-1] == '.' {
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		start := i
		if i = digits(d, i); i == start {
			return false
		}
	}
	sc.pos = i
	return true
}

func digits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

func (sc *scanner) literal(word string) bool {
	if !bytes.HasPrefix(sc.data[sc.pos:], []byte(word)) {
		return false
	}
	sc.pos += len(word)
	return true
}

// stringField reads a member bound for a string field: a string is stored
// in *dst, null leaves it, and any other value is a mismatch.
func (sc *scanner) stringField(dst *string) bool {
	switch sc.next() {
	case '"':
		lit, escaped, ok := sc.str()
		if !ok {
			return false
		}
		if s := lit[1 : len(lit)-1]; !escaped && utf8.Valid(s) {
			*dst = string(s)
		} else {
			*dst = unquote(lit)
		}
		return true
	case 'n':
	default:
		sc.mismatch = true
	}
	return sc.value()
}

// objectField reads a member bound for a struct field: an object's members
// go to member, null leaves the field, and any other value is a mismatch.
func (sc *scanner) objectField(member func(key []byte) bool) bool {
	switch sc.next() {
	case '{':
		return sc.object(member)
	case 'n':
	default:
		sc.mismatch = true
	}
	return sc.value()
}

// keyIs reports whether a key (its text) selects the field called name, as
// encoding/json matches them: exactly, or else under bytes.EqualFold.
func keyIs(key []byte, name string) bool {
	// A key that folds to name is at least as long and, as only 's' and 'k'
	// have longer fold-equivalents (U+017F, U+212A), at most three times.
	if len(key) < len(name) || len(key) > 3*len(name) {
		return false
	}
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}
