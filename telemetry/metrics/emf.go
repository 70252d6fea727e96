package metrics

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
)

// emfExporter writes the contract's metrics as CloudWatch embedded metric
// format documents, one JSON line each: one document per set of dimension
// values (EMF gives each dimension one value per document), holding every
// metric that has those dimensions.
type emfExporter struct {
	namespace string
	out       io.Writer
	logger    *zap.Logger
}

func newEMFExporter(namespace string, out io.Writer, logger *zap.Logger) *emfExporter {
	return &emfExporter{namespace: namespace, out: out, logger: logger}
}

// Temporality is delta for counters and histograms: each document holds
// what happened since the previous one, which is what CloudWatch sums and
// takes percentiles over. Up-down counters are counters here: the Temporal
// SDK's handler makes every counter one (the activities' included), unless
// told to make them monotonic, which would rename every counter on /metrics
// with a _total suffix.
func (e *emfExporter) Temporality(kind sdkmetric.InstrumentKind) metricdata.Temporality {
	switch kind {
	case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter,
		sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindHistogram:
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

func (e *emfExporter) Aggregation(kind sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(kind)
}

// Export writes this interval's documents. A write that fails is logged and
// not returned: the SDK would only hand the error to OpenTelemetry's global
// handler, which prints unstructured lines.
func (e *emfExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	for _, doc := range e.documents(rm) {
		line, err := json.Marshal(doc)
		if err == nil {
			_, err = e.out.Write(append(line, '\n'))
		}
		if err != nil {
			e.logger.Warn("CloudWatch metrics not written", zap.Error(err))
		}
	}
	return nil
}

func (e *emfExporter) ForceFlush(context.Context) error { return nil }

func (e *emfExporter) Shutdown(context.Context) error { return nil }

// emfDocument is one EMF document being built: the values of its metrics
// for one set of dimension values.
type emfDocument struct {
	dimensions map[string]string
	time       time.Time
	metrics    map[string]*emfValue
}

// emfValue accumulates one metric of a document: several data points (the
// same counter from different workflow types, say) feed one value.
type emfValue struct {
	unit string
	// total: the metric is also published without dimensions.
	total bool
	sum   float64
	// histogram is set for distributions, sum is used otherwise.
	histogram *emfHistogram
}

// emfHistogram is a distribution as CloudWatch takes it: values with how
// often each occurred, from which it computes percentiles.
type emfHistogram struct {
	counts          map[float64]uint64
	count           uint64
	sum, minV, maxV float64
}

// documents groups the contract's data points by their dimension values.
func (e *emfExporter) documents(rm *metricdata.ResourceMetrics) []map[string]any {
	docs := map[string]*emfDocument{}
	add := func(m cloudWatchMetric, attrs attribute.Set, t time.Time, fold func(*emfValue)) {
		dims := dimensions(m, attrs)
		key := dimensionKey(dims)
		doc, ok := docs[key]
		if !ok {
			doc = &emfDocument{dimensions: dims, metrics: map[string]*emfValue{}}
			docs[key] = doc
		}
		if t.After(doc.time) {
			doc.time = t
		}
		v, ok := doc.metrics[m.name]
		if !ok {
			v = &emfValue{unit: m.unit, total: m.total}
			doc.metrics[m.name] = v
		}
		fold(v)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, data := range sm.Metrics {
			m, ok := contract[data.Name]
			if !ok {
				continue
			}
			scale := 1.0
			if m.fromSeconds {
				scale = 1000
			}
			switch d := data.Data.(type) {
			case metricdata.Sum[int64]: // every counter of the contract
				for _, dp := range d.DataPoints {
					add(m, dp.Attributes, dp.Time, func(v *emfValue) { v.sum += float64(dp.Value) })
				}
			case metricdata.Gauge[float64]: // GenesysBudgetUse
				// A gauge has one point per attribute set; the last is kept.
				for _, dp := range d.DataPoints {
					add(m, dp.Attributes, dp.Time, func(v *emfValue) { v.sum = dp.Value })
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					if dp.Count == 0 {
						continue // CloudWatch refuses a distribution without values
					}
					add(m, dp.Attributes, dp.Time, func(v *emfValue) { v.addHistogram(dp, scale) })
				}
			}
		}
	}
	keys := slices.Sorted(maps.Keys(docs))
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, e.encode(docs[k]))
	}
	return out
}

// dimensions are m's dimension values for a data point with attrs. An
// attribute the point lacks gets "unknown": CloudWatch refuses empty values.
func dimensions(m cloudWatchMetric, attrs attribute.Set) map[string]string {
	dims := maps.Clone(m.fixed)
	if dims == nil {
		dims = map[string]string{}
	}
	for attr, dim := range m.dimensions {
		value := "unknown"
		if v, ok := attrs.Value(attribute.Key(attr)); ok && v.Emit() != "" {
			value = v.Emit()
		}
		dims[dim] = value
	}
	return dims
}

// dimensionKey identifies a set of dimension values.
func dimensionKey(dims map[string]string) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(dims)) {
		b.WriteString(name + "\x00" + dims[name] + "\x00")
	}
	return b.String()
}

// addHistogram folds one histogram data point into v. Each non-empty bucket
// becomes one value, the middle of the bucket narrowed to the recorded
// minimum and maximum: a bucket whose values are all alike is represented
// exactly, and the open first and last buckets get finite values. The SDK
// records minimum and maximum unless a view turns them off, which none does.
func (v *emfValue) addHistogram(dp metricdata.HistogramDataPoint[float64], scale float64) {
	minV, _ := dp.Min.Value()
	maxV, _ := dp.Max.Value()
	h := v.histogram
	if h == nil {
		h = &emfHistogram{counts: map[float64]uint64{}, minV: math.Inf(1), maxV: math.Inf(-1)}
		v.histogram = h
	}
	for i, n := range dp.BucketCounts {
		if n == 0 {
			continue
		}
		lo, hi := minV, maxV
		if i > 0 {
			lo = max(lo, dp.Bounds[i-1])
		}
		if i < len(dp.Bounds) {
			hi = min(hi, dp.Bounds[i])
		}
		h.counts[(lo+hi)/2*scale] += n
	}
	h.count += dp.Count
	h.sum += dp.Sum * scale
	h.minV = min(h.minV, minV*scale)
	h.maxV = max(h.maxV, maxV*scale)
}

// emfMetadata is the document's _aws member.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string          `json:"Namespace"`
	Dimensions [][]string      `json:"Dimensions"`
	Metrics    []emfDefinition `json:"Metrics"`
}

type emfDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emfDistribution is a histogram's value in a document. CloudWatch takes
// the sample count from Counts; Count is for people reading the log.
type emfDistribution struct {
	Values []float64 `json:"Values"`
	Counts []uint64  `json:"Counts"`
	Max    float64   `json:"Max"`
	Min    float64   `json:"Min"`
	Count  uint64    `json:"Count"`
	Sum    float64   `json:"Sum"`
}

// encode is doc as the JSON object CloudWatch reads: dimension values and
// metric values as top-level members, described by _aws. The metrics with a
// total get a directive of their own, declaring the empty dimension set too:
// CloudWatch then stores each value both under the document's dimensions and
// without dimensions, where the values of every document add up.
func (e *emfExporter) encode(doc *emfDocument) map[string]any {
	// An empty dimension set ([[]]) publishes the metrics without
	// dimensions.
	dimNames := slices.Sorted(maps.Keys(doc.dimensions))
	if dimNames == nil {
		dimNames = []string{}
	}
	plain := emfDirective{Namespace: e.namespace, Dimensions: [][]string{dimNames}}
	withTotal := emfDirective{Namespace: e.namespace, Dimensions: [][]string{dimNames, {}}}
	out := map[string]any{}
	for name, value := range doc.dimensions {
		out[name] = value
	}
	for _, name := range slices.Sorted(maps.Keys(doc.metrics)) {
		v := doc.metrics[name]
		directive := &plain
		if v.total && len(dimNames) > 0 { // without dimensions, it is the total
			directive = &withTotal
		}
		directive.Metrics = append(directive.Metrics, emfDefinition{Name: name, Unit: v.unit})
		if h := v.histogram; h != nil {
			dist := emfDistribution{Max: h.maxV, Min: h.minV, Count: h.count, Sum: h.sum}
			for _, value := range slices.Sorted(maps.Keys(h.counts)) {
				dist.Values = append(dist.Values, value)
				dist.Counts = append(dist.Counts, h.counts[value])
			}
			out[name] = dist
			continue
		}
		out[name] = v.sum
	}
	var directives []emfDirective
	for _, d := range []emfDirective{plain, withTotal} {
		if len(d.Metrics) > 0 {
			directives = append(directives, d)
		}
	}
	out["_aws"] = emfMetadata{Timestamp: doc.time.UnixMilli(), CloudWatchMetrics: directives}
	return out
}
