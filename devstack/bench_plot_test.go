package devstack

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plotSVG is what a test reads back from the plot: its size, the text
// it shows and the style of each stroked path.
type plotSVG struct {
	Width, Height string
	Texts         []string
	Paths         []plotPath
}

type plotPath struct {
	D, Style string
}

// readPlotSVG parses the file as XML, as a browser would.
func readPlotSVG(t *testing.T, path string) plotSVG {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out plotSVG
	dec := xml.NewDecoder(f)
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the plot is well-formed XML")
		switch el := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch el.Name.Local {
			case "svg":
				out.Width, out.Height = attr("width"), attr("height")
			case "text":
				inText = true
				out.Texts = append(out.Texts, "")
			case "path":
				if s := attr("style"); strings.Contains(s, "stroke:") {
					out.Paths = append(out.Paths, plotPath{D: attr("d"), Style: s})
				}
			}
		case xml.CharData:
			if inText {
				out.Texts[len(out.Texts)-1] += string(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" {
				inText = false
			}
		}
	}
	return out
}

// count is how many texts equal s.
func (s plotSVG) count(text string) int {
	n := 0
	for _, t := range s.Texts {
		if t == text {
			n++
		}
	}
	return n
}

// stroked is how many paths have all of the style's parts.
func (s plotSVG) stroked(parts ...string) int {
	n := 0
	for _, p := range s.Paths {
		all := true
		for _, part := range parts {
			all = all && strings.Contains(p.Style, part)
		}
		if all {
			n++
		}
	}
	return n
}

func TestWritePlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "bench.svg")
	require.NoError(t, writePlot(path, "a & b", "sub <title>", []plotPanel{
		{Title: "reference", PerSecond: []int{0, 4, 5, 4}, Budget: 4.5, BudgetLabel: "budget 4.5/s"},
		{Title: "default", PerSecond: []int{100, 440, 450}, Budget: 450, BudgetLabel: "budget 450/s", Offered: 200},
		{Title: "empty"},
	}))
	svg := readPlotSVG(t, path)
	assert.Equal(t, "720pt", svg.Width)
	assert.Equal(t, "620pt", svg.Height, "a header and three panels")

	// The title and subtitle, escaped in the file and whole once parsed.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "a &amp; b")
	assert.Contains(t, string(raw), "sub &lt;title&gt;")
	for _, s := range []string{"a & b", "sub <title>", "reference", "default", "empty", "budget 4.5/s", "budget 450/s", "arrivals: 200 conversations/s"} {
		assert.Equal(t, 1, svg.count(s), "%q once", s)
	}
	// Every panel has its axis labels and the stored series in its legend.
	for _, s := range []string{"seconds since the first event", "stored / s", "conversations stored per second"} {
		assert.Equal(t, 3, svg.count(s), "%q in each panel", s)
	}

	// The stored series are solid blue step lines, each with a legend
	// sample: two series (the empty panel has none) and three samples.
	assert.Equal(t, 5, svg.stroked("stroke:#1F77B4"))
	assert.Zero(t, svg.stroked("stroke:#1F77B4", "dasharray"))
	// The budget lines are dashed red, the arrivals dotted green; each
	// with its legend sample.
	assert.Equal(t, 4, svg.stroked("stroke:#D62728", "stroke-dasharray:6,4"), "two budget lines and their legends")
	assert.Equal(t, 2, svg.stroked("stroke:#2CA02C", "stroke-dasharray:2,3"), "the arrivals line and its legend")

	// A step line: the reference series' 4 seconds make 5 points, each
	// but the first reached by a horizontal then a vertical move.
	var series []string
	for _, p := range svg.Paths {
		if strings.Contains(p.Style, "stroke:#1F77B4") && strings.Count(p.D, "L") > 1 {
			series = append(series, p.D)
		}
	}
	require.Len(t, series, 2)
	assert.Equal(t, 2*4, strings.Count(series[0], "L"), "reference: %s", series[0])
	assert.Equal(t, 2*3, strings.Count(series[1], "L"), "default: %s", series[1])

	// Viewers without the font the text was measured with fall back to
	// one of the same metrics.
	assert.Contains(t, string(raw), "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	assert.NotContains(t, string(raw), "font-family:Liberation Sans;")
}

func TestWritePlotNoPanels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.svg")
	require.NoError(t, writePlot(path, "title", "subtitle", nil))
	svg := readPlotSVG(t, path)
	assert.Equal(t, []string{"title", "subtitle"}, svg.Texts)
}

// TestBenchPlotPanels draws the panels Bench makes from a result: the
// reference, the default and the half-load run, titled and labelled.
func TestBenchPlotPanels(t *testing.T) {
	r := &BenchResult{
		Machine:     Machine{NProc: 2, CPUModel: "AMD EPYC"},
		EventSource: DeployedEventSource,
		Reference:   BenchConfig{Conversations: 330, EventsPerDelivery: 4000, StoredPerSecond: []int{9, 4, 5, 4, 5}},
		Default:     BenchConfig{Conversations: 30000, EventsPerDelivery: 4000, StoredPerSecond: []int{56, 515, 554, 402, 762}},
		HalfLoad:    &LoadResult{ConversationsPerSecond: 200, Seconds: 120, P99LatencyMs: 1407, StoredPerSecond: []int{0, 93, 341, 153, 195}},
	}
	path := filepath.Join(t.TempDir(), "bench.svg")
	title, subtitle := benchPlotTitle(r)
	require.NoError(t, writePlot(path, title, subtitle, benchPanels(r)))
	svg := readPlotSVG(t, path)
	assert.Equal(t, 1, svg.count("Stored conversations per second (make bench)"))
	for _, prefix := range []string{"reference (FETCH_BATCH_SIZE=1)", "default (FETCH_BATCH_SIZE=100)", "default at half load: 200 conversations/s"} {
		n := 0
		for _, s := range svg.Texts {
			if strings.HasPrefix(s, prefix) {
				n++
			}
		}
		assert.Equal(t, 1, n, "the panel %q", prefix)
	}
	assert.Equal(t, 1, svg.count("request budget: 4.5 requests/s × 1 id = 4.5/s"))
	assert.Equal(t, 2, svg.count("request budget: 4.5 requests/s × 100 ids = 450/s"))
	assert.Equal(t, 1, svg.count("arrivals: 200 conversations/s"))
	assert.Equal(t, 3, svg.stroked("stroke:#D62728", "stroke-dasharray:6,4")/2, "a budget line in each panel")
}
