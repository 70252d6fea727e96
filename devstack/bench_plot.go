package devstack

// The benchmark's plot: stored conversations per second over time, one
// panel per run, each with its request budget as a dashed line. It is
// plain SVG written here, so that the benchmark needs no plotting module.

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"time"
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

const (
	plotWidth       = 960
	plotPanelHeight = 250
	plotLeft        = 70
	plotRight       = 30
	plotTop         = 40
	plotBottom      = 45
)

// writePlot writes the panels, stacked, as an SVG file at path, under a
// title and a smaller subtitle.
func writePlot(path, title, subtitle string, panels []plotPanel) error {
	var b bytes.Buffer
	height := len(panels)*plotPanelHeight + 60
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		plotWidth, height, plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", plotLeft, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="44" fill="#444">%s</text>`+"\n", plotLeft, html.EscapeString(subtitle))
	for i, p := range panels {
		plotPanelSVG(&b, p, 60+i*plotPanelHeight)
	}
	b.WriteString("</svg>\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func plotPanelSVG(b *bytes.Buffer, p plotPanel, top int) {
	x0, x1 := float64(plotLeft), float64(plotWidth-plotRight)
	y0, y1 := float64(top+plotTop), float64(top+plotPanelHeight-plotBottom) // y0 top edge, y1 bottom edge
	peak := 0
	for _, v := range p.PerSecond {
		peak = max(peak, v)
	}
	yMax := axisCeil(math.Max(math.Max(float64(peak), p.Budget), p.Offered) * 1.15)
	if yMax <= 0 {
		yMax = 1
	}
	xMax := axisCeil(float64(max(len(p.PerSecond), 1)))
	px := func(sec float64) float64 { return x0 + (x1-x0)*sec/xMax }
	py := func(v float64) float64 { return y1 - (y1-y0)*v/yMax }

	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="13" font-weight="bold">%s</text>`+"\n", x0, y0-12, html.EscapeString(p.Title))
	// Grid and ticks.
	for _, v := range ticks(yMax) {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>`+"\n", x0, py(v), x1, py(v))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", x0-6, py(v), tickLabel(v))
	}
	for _, s := range ticks(xMax) {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888"/>`+"\n", px(s), y1, px(s), y1+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(s), y1+17, tickLabel(s))
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", x0, y0, x1-x0, y1-y0)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">seconds since the first event</text>`+"\n", (x0+x1)/2, y1+34)
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle" fill="#444">stored / s</text>`+"\n", x0-52, (y0+y1)/2)

	// The series as a step line.
	if len(p.PerSecond) > 0 {
		var pts bytes.Buffer
		for s, v := range p.PerSecond {
			fmt.Fprintf(&pts, "%.1f,%.1f %.1f,%.1f ", px(float64(s)), py(float64(v)), px(float64(s+1)), py(float64(v)))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="#1f77b4" stroke-width="1.6" points="%s"/>`+"\n", bytes.TrimSpace(pts.Bytes()))
	}
	legendY := y0 + 16
	legend := func(color, dash, label string) {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n",
			x1-370, legendY-4, x1-340, legendY-4, color, dash)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x1-334, legendY, html.EscapeString(label))
		legendY += 16
	}
	legend("#1f77b4", "none", "conversations stored per second")
	if p.Budget > 0 {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>`+"\n", x0, py(p.Budget), x1, py(p.Budget))
		legend("#d62728", "6 4", p.BudgetLabel)
	}
	if p.Offered > 0 {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#2ca02c" stroke-width="1.2" stroke-dasharray="2 3"/>`+"\n", x0, py(p.Offered), x1, py(p.Offered))
		legend("#2ca02c", "2 3", fmt.Sprintf("arrivals: %s conversations/s", tickLabel(p.Offered)))
	}
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= v-1e-9 {
			return m * exp
		}
	}
	return 10 * exp
}

// axisCeil rounds v up to a multiple of its tick step.
func axisCeil(v float64) float64 {
	step := niceCeil(v / 5)
	if step <= 0 {
		return 0
	}
	return step * math.Ceil(v/step-1e-9)
}

// ticks are about five round values from 0 to top.
func ticks(top float64) []float64 {
	step := niceCeil(top / 5)
	if step <= 0 {
		return []float64{0}
	}
	var out []float64
	for v := 0.0; v <= top+step/1000; v += step {
		out = append(out, v)
	}
	return out
}

func tickLabel(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}
