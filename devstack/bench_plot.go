package devstack

// The benchmark's plot: stored conversations per second over time, one
// panel per run, each with its request budget (and, for a steady-load run,
// the arrival rate) as a dashed line. gonum.org/v1/plot draws it as SVG.

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// plotPanel is one run: items stored per second from its first event on.
type plotPanel struct {
	Title     string
	PerSecond []int
	// Budget is what the request budget allows, in conversations a
	// second; BudgetLabel says how it is made up.
	Budget      float64
	BudgetLabel string
	// Offered, if set, is the arrival rate (a steady-load run).
	Offered float64
}

// storedPerSecond counts a Drive report's items by the second of their
// updatedAt, from the first event sent.
func storedPerSecond(r *Report) []int {
	if r == nil || len(r.Items) == 0 {
		return nil
	}
	var last time.Time
	for _, it := range r.Items {
		if it.UpdatedAt.After(last) {
			last = it.UpdatedAt
		}
	}
	start := last.Add(-r.Elapsed)
	var out []int
	for _, it := range r.Items {
		sec := int(it.UpdatedAt.Sub(start).Seconds())
		if sec < 0 {
			continue
		}
		for len(out) <= sec {
			out = append(out, 0)
		}
		out[sec]++
	}
	return out
}

// The image's layout, in points (1/72 inch; 720 points are 960 CSS pixels).
const (
	plotWidth       = 720
	plotHeader      = 50 // the title and subtitle above the panels
	plotPanelHeight = 190
	plotMargin      = 12
	// plotHeadroom lifts each panel's top above its highest value, so that
	// the legend stays clear of the lines.
	plotHeadroom = 1.45
)

// The series' colours and dashes.
var (
	plotStoredColor  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	plotBudgetColor  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	plotOfferedColor = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	plotGridColor    = color.Gray{Y: 0xe3}
	plotMutedColor   = color.Gray{Y: 0x44}
	plotBudgetDashes = []vg.Length{vg.Points(6), vg.Points(4)}
	// plotOfferedDashes are dots: arrivals, not a limit.
	plotOfferedDashes = []vg.Length{vg.Points(2), vg.Points(3)}
)

// plotFont is Liberation Sans, which gonum ships and measures text with.
func plotFont(size vg.Length, bold bool) font.Font {
	f := font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

// writePlot writes the panels, stacked, as an SVG file at path, under a
// title and a smaller subtitle.
func writePlot(path, title, subtitle string, panels []plotPanel) error {
	height := vg.Length(plotHeader + len(panels)*plotPanelHeight)
	canvas := vgsvg.New(vg.Points(plotWidth), height)
	dc := draw.New(canvas)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	header := func(s string, size vg.Length, bold bool, c color.Color, y vg.Length) {
		sty := text.Style{Color: c, Font: plotFont(size, bold), XAlign: draw.XLeft, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: dc.Min.X + plotMargin, Y: dc.Max.Y - y}, s)
	}
	header(title, 13, true, color.Black, 10)
	header(subtitle, 9, false, plotMutedColor, 28)

	if len(panels) > 0 {
		rows := make([][]*plot.Plot, len(panels))
		for i, p := range panels {
			pl, err := panelPlot(p)
			if err != nil {
				return fmt.Errorf("plot panel %q: %w", p.Title, err)
			}
			rows[i] = []*plot.Plot{pl}
		}
		body := draw.Crop(dc, 0, 0, 0, -plotHeader)
		tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadLeft: plotMargin, PadRight: plotMargin + 6, PadBottom: 6, PadY: 14}
		// Align lines the panels' data areas up, whatever their tick labels.
		for i, row := range plot.Align(rows, tiles, body) {
			rows[i][0].Draw(row[0])
		}
	}

	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return err
	}
	// vgsvg names only the font the text was measured with; Arial and
	// Helvetica have the same metrics, so a viewer without Liberation
	// Sans still fits the labels.
	svg := bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, svg, 0o644)
}

// panelPlot is one panel: the stored series as a step line, the budget and
// the arrivals as dashed lines across it.
func panelPlot(p plotPanel) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font = plotFont(10, true)
	pl.Title.Padding = vg.Points(4)
	pl.X.Label.Text = "seconds since the first event"
	pl.Y.Label.Text = "stored / s"
	for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
		ax.Label.TextStyle.Font = plotFont(9, false)
		ax.Label.TextStyle.Color = plotMutedColor
		ax.Tick.Label.Font = plotFont(8, false)
		ax.Padding = 0
	}
	// The legend sits in the top left corner, its text after the
	// samples, so that a viewer's wider substitute font runs into empty
	// space rather than over them.
	pl.Legend.Top, pl.Legend.Left = true, true
	pl.Legend.TextStyle.Font = plotFont(8, false)
	pl.Legend.Padding = vg.Points(2)
	pl.Legend.XOffs, pl.Legend.YOffs = vg.Points(8), -vg.Points(4)
	pl.Legend.ThumbnailWidth = vg.Points(24)

	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = plotGridColor
	grid.Horizontal.Dashes = nil
	pl.Add(grid)

	stored := &plotter.Line{StepStyle: plotter.PostStep, LineStyle: draw.LineStyle{Color: plotStoredColor, Width: vg.Points(1.2)}}
	peak := 0.0
	if n := len(p.PerSecond); n > 0 {
		// Second s spans [s, s+1): one more point closes the last step.
		xys := make(plotter.XYs, 0, n+1)
		for s, v := range p.PerSecond {
			xys = append(xys, plotter.XY{X: float64(s), Y: float64(v)})
			peak = math.Max(peak, float64(v))
		}
		xys = append(xys, plotter.XY{X: float64(n), Y: float64(p.PerSecond[n-1])})
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.StepStyle, line.LineStyle = stored.StepStyle, stored.LineStyle
		pl.Add(line)
	}
	pl.Legend.Add("conversations stored per second", stored)
	level := func(v float64, c color.Color, width float64, dashes []vg.Length, label string) {
		f := plotter.NewFunction(func(float64) float64 { return v })
		f.Samples = 2
		f.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: dashes}
		pl.Add(f)
		pl.Legend.Add(label, f)
	}
	if p.Budget > 0 {
		level(p.Budget, plotBudgetColor, 1.2, plotBudgetDashes, p.BudgetLabel)
	}
	if p.Offered > 0 {
		level(p.Offered, plotOfferedColor, 1, plotOfferedDashes, fmt.Sprintf("arrivals: %g conversations/s", p.Offered))
	}

	pl.X.Min, pl.X.Max = 0, float64(max(len(p.PerSecond), 1))
	pl.Y.Min, pl.Y.Max = 0, max(peak, p.Budget, p.Offered, 1)*plotHeadroom
	return pl, nil
}
